"""The municipality's financial year: adoption of delårsrapporter and årsredovisning (§8.2)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from domain.base import GovernedAggregate
from domain.decisions import Decision
from domain.errors import InvalidCommandError

REPORT_KINDS = ("interim_t1", "interim_t2", "annual")


class Year(GovernedAggregate):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    subject_fields = {"year": "year"}

    @event("YearOpened")
    def __init__(self, year: int) -> None:
        self.year = year

    def adopt_report(self, kind: str, decision: Decision) -> None:
        if kind not in REPORT_KINDS:
            raise InvalidCommandError(f"kind is one of {', '.join(REPORT_KINDS)}.", "kind")
        # KS and then KF both adopt: each adoption is its own recorded decision.
        self._adopt_report(kind, decision)

    @event("ReportAdopted")
    def _adopt_report(self, kind: str, decision: Decision) -> None:
        pass
