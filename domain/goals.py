"""Inriktningsmål (strategic goals) of a term, their revisions and målvärden; KF's alone (§4.1, §5)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import event

from domain.assessments import Assessable
from domain.decisions import Decision


class StrategicGoal(Assessable):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    subject_fields = {"goal": "code"}

    @event("StrategicGoalEstablished")
    def __init__(self, code: str, term: str, title: str, description: str | None, decision: Decision) -> None:
        self.code = code
        self.term = term
        self.established_on = decision.date
        self.title = title

    @event("StrategicGoalRevised")
    def revise(self, title: str | None, description: str | None, decision: Decision) -> None:
        if title:
            self.title = title

    @event("TargetValueFixed")
    def fix_target(self, indicator: str, year: int, value: Decimal, decision: Decision) -> None:
        pass
