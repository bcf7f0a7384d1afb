"""Attainment assessments (måluppfyllelse), reported on goals, results and assignments at follow-ups."""

from __future__ import annotations

import datetime as dt

from eventsourcing.domain import event

from domain.base import GovernedAggregate

ATTAINMENTS = ("met", "partly_met", "not_met")


class Assessable(GovernedAggregate):
    @event("AttainmentAssessed")
    def assess(
        self,
        period: str,
        attainment: str,
        analysis: str,
        internal_efficiency: str | None,
        external_efficiency: str | None,
        reported_on: dt.date,
    ) -> None:
        pass
