"""Commands for follow-up and accountability: outcomes, assessments, report adoption, audit, discharge, retraction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from domain.assignments import Assignment
from domain.base import GovernedAggregate
from domain.decisions import Decision, Matter
from domain.errors import InvalidCommandError, NotFoundError, UnknownReferenceError
from domain.goals import StrategicGoal
from domain.ledger import position_of
from domain.results import Result
from domain.terms import Indicator
from domain.years import Year

SUBJECTS = {"goal": (StrategicGoal, "goal"), "result": (Result, "result"), "assignment": (Assignment, "assignment")}


class FollowUpCommands:
    def report_financial(self, body: str, period: str, outcome_sek: int, forecast_sek: int,
                         reported_on: dt.date, area: str | None = None, **idem) -> dict:
        def build():
            owner = self.body(body)
            if area is not None and area not in owner.areas:
                raise UnknownReferenceError(f"{body} has no activity area {area}.", "area")
            body_year = self.body_year(body, self.year_of_period(period))
            body_year.report_financial(period, area, outcome_sek, forecast_sek, reported_on)
            return [body_year]
        return self.execute(build, **idem)

    def report_indicator(self, indicator: str, period: str, value: Decimal, reported_on: dt.date,
                         body: str | None = None, **idem) -> dict:
        def build():
            measured = self.load(Indicator, "indicator", indicator, field="indicator")
            if body is not None:
                self.body(body)
            measured.report_outcome(period, value, body, reported_on)
            return [measured]
        return self.execute(build, **idem)

    def subject_of(self, subject: str) -> GovernedAggregate:
        kind, _, code = subject.partition(":")
        if kind not in SUBJECTS or not code:
            raise InvalidCommandError("subject must be goal:CODE, result:CODE or assignment:CODE.", "subject")
        cls, store_kind = SUBJECTS[kind]
        return self.load(cls, store_kind, code, missing=UnknownReferenceError, field="subject")

    def assess(self, subject: str, period: str, attainment: str, analysis: str, reported_on: dt.date,
               internal_efficiency: str | None = None, external_efficiency: str | None = None, **idem) -> dict:
        def build():
            assessed = self.subject_of(subject)
            assessed.assess(period, attainment, analysis, internal_efficiency, external_efficiency, reported_on)
            return [assessed]
        return self.execute(build, **idem)

    def adopt_report(self, kind: str, year: int, decision: Decision, **idem) -> dict:
        def build():
            self.check_competence(Matter.REPORT_ADOPTION, decision)
            cycle = self.load_or_none("year", year) or Year(self.id_for("year", year), year)
            cycle.adopt_report(kind, decision)
            return [cycle]
        return self.execute(build, **idem)

    def submit_audit_report(self, body: str, year: int, recommendation: str, remarks: str,
                            submitted_on: dt.date, **idem) -> dict:
        def build():
            self.body(body)
            body_year = self.body_year(body, year)
            body_year.submit_audit_report(recommendation, remarks, submitted_on)
            return [body_year]
        return self.execute(build, **idem)

    def decide_discharge(self, body: str, year: int, granted: bool, decision: Decision,
                         remark: str | None = None, **idem) -> dict:
        def build():
            self.body(body)
            self.check_competence(Matter.DECIDE_DISCHARGE, decision)
            body_year = self.body_year(body, year)
            body_year.decide_discharge(granted, remark, decision)
            return [body_year]
        return self.execute(build, **idem)

    def entry_body(self, event_id: str) -> str:
        """The body an entry belongs to: whose decision it records, else the body it concerns.

        Entries that concern no body (reference data, tenant-wide reports) belong to KF, so a user
        limited to some nämnder cannot retract them.
        """
        position = position_of(self.tenant, event_id)
        entry = self.entry_at(position) if position else None
        if entry is None:
            raise NotFoundError("There is no such event in this municipality's ledger.", "event_id")
        record = entry.as_record()
        data = record["data"]
        if record["decision"]:
            return record["decision"]["body"]
        return data.get("body") or data.get("to_body") or "KF"

    def subject_body(self, subject: str) -> str | None:
        """The body an assessment subject belongs to (None for KF's inriktningsmål, which every nämnd follows up)."""
        assessed = self.subject_of(subject)
        if isinstance(assessed, Assignment):
            return assessed.to_body
        if isinstance(assessed, Result):
            return assessed.body
        return None

    def retract(self, event_id: str, reason: str, **idem) -> dict:
        """An erroneous entry is not deleted: a new entry takes it out of force, pointing at it."""
        position = position_of(self.tenant, event_id)
        if position is None or self.entry_at(position) is None:
            raise NotFoundError("There is no such event in this municipality's ledger.", "event_id")

        def build():
            entry = self.entry_at(position)
            owner = self.repository.get(entry.aggregate_id)
            event_type = entry.as_record()["type"]
            owner.check_retractable(entry.aggregate_version, event_type)
            owner.retract(event_id, position, entry.aggregate_version, reason)
            return [owner]
        return self.execute(build, **idem)
