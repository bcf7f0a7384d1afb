"""A nämnd's förväntade resultat (under an inriktningsmål) and egna resultat (for its grunduppdrag)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import event

from domain.assessments import Assessable
from domain.decisions import NAMND_KINDS, Decision
from domain.errors import InvalidCommandError, NotCompetentError

RESULT_KINDS = ("expected", "own")


class Result(Assessable):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    subject_fields = {"result": "code"}

    @event("ResultDefined")
    def __init__(
        self, code: str, body: str, kind: str, title: str, goal: str | None, decision: Decision
    ) -> None:
        self.code = code
        self.body = body
        self.established_on = decision.date
        self.kind = kind
        self.title = title
        self.goal = goal

    @staticmethod
    def check_definable(kind: str, goal: str | None, body_kind: str) -> None:
        if body_kind not in NAMND_KINDS:
            raise NotCompetentError("Only a nämnd (or Kommunstyrelsen) defines förväntade and egna resultat.")
        if kind not in RESULT_KINDS:
            raise InvalidCommandError("kind is expected or own.", "kind")
        if kind == "expected" and not goal:
            raise InvalidCommandError("A förväntat resultat must name the inriktningsmål it serves.", "goal")

    @event("ResultTargetValueFixed")
    def fix_target(self, indicator: str, year: int, value: Decimal, decision: Decision) -> None:
        pass
