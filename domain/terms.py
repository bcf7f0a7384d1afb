"""Terms (mandatperioder) and indicators (nyckeltal): reference data the goals build on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import event

from domain.base import GovernedAggregate
from domain.errors import InvalidCommandError
from domain.periods import check_period, check_reported_on


class Term(GovernedAggregate):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    subject_fields = {"term": "code"}

    @classmethod
    def open(cls, id: UUID, code: str, first_year: int, last_year: int) -> Term:
        if last_year < first_year:
            raise InvalidCommandError("last_year must not be before first_year.", "last_year")
        return cls(id, code, first_year, last_year)

    @event("TermOpened")
    def __init__(self, code: str, first_year: int, last_year: int) -> None:
        self.code = code
        self.first_year = first_year
        self.last_year = last_year


class Indicator(GovernedAggregate):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    subject_fields = {"indicator": "code"}

    @classmethod
    def define(cls, id: UUID, code: str, name: str, unit: str, direction: str, kolada_kpi: str | None) -> Indicator:
        if direction not in ("increase", "decrease"):
            raise InvalidCommandError("direction is increase or decrease.", "direction")
        return cls(id, code, name, unit, direction, kolada_kpi)

    @event("IndicatorDefined")
    def __init__(self, code: str, name: str, unit: str, direction: str, kolada_kpi: str | None) -> None:
        self.code = code
        self.name = name
        self.unit = unit
        self.direction = direction
        self.kolada_kpi = kolada_kpi

    def report_outcome(self, period: str, value: Decimal, body: str | None, reported_on: dt.date) -> None:
        check_period(period)
        check_reported_on(reported_on, period)
        self._report_outcome(period, value, body, reported_on)

    @event("IndicatorOutcomeReported")
    def _report_outcome(self, period: str, value: Decimal, body: str | None, reported_on: dt.date) -> None:
        pass
