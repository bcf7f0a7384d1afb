"""Mål- och resursplan (MRP): KF's three-year plan; frames themselves live on each body's year (§5)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from domain.base import GovernedAggregate
from domain.decisions import Decision
from domain.errors import InvalidCommandError

PLAN_YEARS = 3


class ResourcePlan(GovernedAggregate):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    subject_fields = {"plan": "code"}

    @event("ResourcePlanDrafted")
    def __init__(self, code: str, first_year: int) -> None:
        self.code = code
        self.first_year = first_year
        self.adoption_versions: list[int] = []

    @property
    def years(self) -> range:
        return range(self.first_year, self.first_year + PLAN_YEARS)

    @property
    def adopted(self) -> bool:
        return any(self.is_in_force(v) for v in self.adoption_versions)

    def check_year(self, year: int) -> None:
        if year not in self.years:
            raise InvalidCommandError(
                f"Plan {self.code} covers {self.years[0]}–{self.years[-1]}; {year} is outside it.", "year"
            )

    @event("ResourcePlanAdopted")
    def adopt(self, decision: Decision) -> None:
        # A plan may be adopted anew (Vänersborg 2022: June, then again after the election).
        self.adoption_versions.append(self.next_version)
