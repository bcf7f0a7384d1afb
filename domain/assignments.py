"""Riktade uppdrag: issued by KF (or a nämnd to its förvaltning), revised, withdrawn, reported on."""

from __future__ import annotations

import datetime as dt
from uuid import UUID

from eventsourcing.domain import event

from domain.assessments import Assessable
from domain.decisions import COUNCIL, BodyRef, Decision
from domain.errors import InvalidCommandError, NotCompetentError, WithdrawnError
from domain.periods import check_period, check_reported_on

ASSIGNMENT_STATUSES = ("not_started", "ongoing", "completed", "will_not_complete")


class Assignment(Assessable):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    subject_fields = {"assignment": "code"}

    @classmethod
    def issue(cls, id: UUID, code: str, to_body: str, goal: str | None, title: str, description: str, due: dt.date,
              decision: Decision) -> Assignment:
        if due < decision.date:
            raise InvalidCommandError("An uppdrag cannot be due before it is issued.", "due")
        return cls(id, code, to_body, goal, title, description, due, decision)

    @event("AssignmentIssued")
    def __init__(
        self,
        code: str,
        to_body: str,
        goal: str | None,
        title: str,
        description: str,
        due: dt.date,
        decision: Decision,
    ) -> None:
        self.code = code
        self.to_body = to_body
        self.established_on = decision.date
        self.issued_by = decision.body
        self.title = title
        self.due = due
        self.withdrawal_versions: list[int] = []

    @property
    def withdrawn(self) -> bool:
        return any(self.is_in_force(v) for v in self.withdrawal_versions)

    def check_may_change(self, decider: BodyRef, act: str) -> None:
        """A revision or withdrawal (the act: revise, withdraw) is decided by the issuing body, or by KF above it."""
        if decider.code != self.issued_by and decider.kind != COUNCIL:
            raise NotCompetentError(
                f"Uppdrag {self.code} was issued by {self.issued_by}; {decider.code} may not {act} it."
            )
        self.check_active()

    def check_active(self) -> None:
        if self.withdrawn:
            raise WithdrawnError(f"Uppdrag {self.code} is withdrawn.")

    def revise(self, title: str | None, description: str | None, due: dt.date | None, decision: Decision) -> None:
        if title is None and description is None and due is None:
            raise InvalidCommandError("A revision must change the title, the description or the due date.", "title")
        if due is not None and due < decision.date:
            raise InvalidCommandError("An uppdrag cannot be due before the decision that revises it.", "due")
        self._revise(title, description, due, decision)

    @event("AssignmentRevised")
    def _revise(self, title: str | None, description: str | None, due: dt.date | None, decision: Decision) -> None:
        self.title = title or self.title
        self.due = due or self.due

    @event("AssignmentWithdrawn")
    def withdraw(self, reason: str, decision: Decision) -> None:
        self.withdrawal_versions.append(self.next_version)

    def report_status(self, status: str, period: str, comment: str, reported_on: dt.date) -> None:
        self.check_active()
        check_period(period)
        if status not in ASSIGNMENT_STATUSES:
            raise InvalidCommandError(f"status is one of {', '.join(ASSIGNMENT_STATUSES)}.", "status")
        check_reported_on(reported_on, period)
        self._report_status(status, period, comment, reported_on)

    @event("AssignmentStatusReported")
    def _report_status(self, status: str, period: str, comment: str, reported_on: dt.date) -> None:
        pass
