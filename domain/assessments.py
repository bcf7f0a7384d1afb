"""Attainment assessments (måluppfyllelse), reported on goals, results and assignments at follow-ups."""

from __future__ import annotations

import datetime as dt

from eventsourcing.domain import event

from domain.base import GovernedAggregate
from domain.errors import InvalidCommandError
from domain.periods import check_period, check_reported_on

ATTAINMENTS = ("met", "partly_met", "not_met")


class Assessable(GovernedAggregate):
    def assess(
        self,
        period: str,
        attainment: str,
        analysis: str,
        internal_efficiency: str | None,
        external_efficiency: str | None,
        reported_on: dt.date,
    ) -> None:
        check_period(period)
        if attainment not in ATTAINMENTS:
            raise InvalidCommandError(f"attainment is one of {', '.join(ATTAINMENTS)}.", "attainment")
        check_reported_on(reported_on, period)
        self._assess(period, attainment, analysis, internal_efficiency, external_efficiency, reported_on)

    @event("AttainmentAssessed")
    def _assess(
        self,
        period: str,
        attainment: str,
        analysis: str,
        internal_efficiency: str | None,
        external_efficiency: str | None,
        reported_on: dt.date,
    ) -> None:
        pass
