"""The one fold of the read side: each ledger record becomes bitemporal facts (used by projections and replay)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# How the facts of one key combine into what is in force:
ALWAYS = dt.date(1, 1, 1)
SET = "set"  # the latest in force wins (by decision time, then record order)
PATCH = "patch"  # every fact in force is merged over the previous, in that order
ADD = "add"  # every fact in force counts (adjustments, reallocations, adoptions)


@dataclass(frozen=True)
class Fact:
    """What one entry says about one key, valid from a date, recorded at a position."""

    key: str
    mode: str
    valid_from: dt.date
    position: int
    recorded_at: str
    value: dict


def valid_from(record: dict) -> dt.date:
    """Decision time: the decision's effective date, else the date a report was made.

    Reference data recorded without a decision (terms, indicators, drafted plans, the bodies every
    municipality has by law) holds at every date.
    """
    decision = record.get("decision")
    if decision:
        return dt.date.fromisoformat(decision.get("effective_from") or decision["date"])
    data = record.get("data") or {}
    for name in ("reported_on", "submitted_on"):
        if data.get(name):
            return dt.date.fromisoformat(data[name])
    return ALWAYS


# Which aggregate a record is about, read from its data: the first of these keys it has.
SUBJECT_ORDER = ("assignment", "result", "goal", "document", "indicator", "term", "body", "plan", "year")


def subject_of(data: dict) -> str:
    """The subject a record belongs to, as clients name it: goal:IM1, assignment:U1, body:BUN, vision."""
    for kind in SUBJECT_ORDER:
        if data.get(kind) is not None:
            return f"{kind}:{data[kind]}"
    return "vision"


def ended_subject(record: dict) -> str | None:
    """A retracted establishment (an aggregate's first entry) takes everything recorded about that
    subject until then out of force: the thing never existed, and a later one under the same code
    starts afresh."""
    data = record.get("data") or {}
    # A body's year and the municipality's year open with an entry that never reaches the ledger,
    # so their first ledgered entry is not an establishment.
    if record.get("type") == "EventRetracted" and int(data.get("retracted_version", 0)) == 1 and "year" not in data:
        return subject_of(data)
    return None


def retractions_in(records: list[dict]) -> dict[int, int]:
    """Position of each retracted record to the position that retracted it (the earliest one)."""
    retracted_at: dict[int, int] = {}
    positions_by_subject: dict[str, list[int]] = {}
    for record in sorted(records, key=lambda r: r["position"]):
        position = record["position"]
        positions_by_subject.setdefault(subject_of(record.get("data") or {}), []).append(position)
        retracted = retracted_position(record)
        if retracted is not None:
            retracted_at.setdefault(retracted, position)
        ended = ended_subject(record)
        if ended is not None:
            for earlier in positions_by_subject.get(ended, []):
                if earlier < position:
                    retracted_at.setdefault(earlier, position)
    return retracted_at


def retracted_position(record: dict) -> int | None:
    """The position an EventRetracted record takes out of force, if it is one."""
    if record.get("type") == "EventRetracted":
        return int(record["data"]["retracted_position"])
    return None


def _k(*parts) -> str:
    return "|".join(map(str, parts))


def facts_of(record: dict) -> list[Fact]:
    """The facts a ledger record states; the rules of what each event means on the read side live here."""
    stated = stated_by(record)
    if not stated:
        return []
    when = valid_from(record)
    return [Fact(key, mode, when, record["position"], record["recorded_at"], value) for key, mode, value in stated]


def stated_by(record: dict) -> list[tuple[str, str, dict]]:
    """(key, mode, value) of each of facts_of(record), without the Fact objects catch-up has no use for."""
    made = _FACTS.get(record["type"])
    if made is None:
        return []
    stated = made(record.get("data") or {})
    decision, position = record.get("decision"), record["position"]
    for _key, _mode, value in stated:  # each rule makes a new dict: completing it in place is safe
        value["decision"] = decision
        value["position"] = position
    return stated


def _pick(data: dict, *names: str) -> dict:
    return {name: data[name] for name in names if name in data}


_FACTS = {
    "BodyEstablished": lambda d: [(_k("body", d["code"]), SET, _pick(d, "code", "name", "kind", "parent"))],
    "ActivityAreaAdded": lambda d: [(_k("area", d["body"], d["code"]), SET, _pick(d, "body", "code", "name"))],
    "VisionAdopted": lambda d: [(_k("vision"), SET, _pick(d, "text"))],
    "VisionRevised": lambda d: [(_k("vision"), SET, _pick(d, "text"))],
    "GoverningDocumentAdopted": lambda d: [(_k("document", d["code"]), PATCH, _pick(
        d, "code", "type", "name", "owner", "responsible", "validity", "follow_up", "subject", "published",
        "description", "related"))],
    "GoverningDocumentRevised": lambda d: [(_k("document", d["document"]), PATCH, dict(d.get("changes") or {}))],
    "GoverningDocumentRepealed": lambda d: [(_k("document", d["document"]), PATCH, {"repealed": True})],
    "TermOpened": lambda d: [(_k("term", d["code"]), SET, _pick(d, "code", "first_year", "last_year"))],
    "IndicatorDefined": lambda d: [(_k("indicator", d["code"]), SET, _pick(
        d, "code", "name", "unit", "direction", "kolada_kpi"))],
    "StrategicGoalEstablished": lambda d: [(_k("goal", d["code"]), PATCH, _pick(
        d, "code", "term", "title", "description"))],
    "StrategicGoalRevised": lambda d: [(_k("goal", d["goal"]), PATCH, {
        k: v for k, v in _pick(d, "title", "description").items() if v is not None} | {"revised": True})],
    "TargetValueFixed": lambda d: [(_k("target", "goal", d["goal"], d["indicator"], d["year"]), SET, _pick(
        d, "goal", "indicator", "year", "value"))],
    "ResultDefined": lambda d: [(_k("result", d["code"]), SET, _pick(d, "code", "body", "kind", "title", "goal"))],
    "ResultTargetValueFixed": lambda d: [(_k("target", "result", d["result"], d["indicator"], d["year"]), SET,
                                          _pick(d, "result", "indicator", "year", "value"))],
    "AssignmentIssued": lambda d: [(_k("assignment", d["code"]), PATCH, _pick(
        d, "code", "to_body", "goal", "title", "description", "due"))],
    "AssignmentRevised": lambda d: [(_k("assignment", d["assignment"]), PATCH, {
        k: v for k, v in _pick(d, "title", "description", "due").items() if v is not None} | {"revised": True})],
    "AssignmentWithdrawn": lambda d: [(_k("withdrawal", d["assignment"]), SET, _pick(d, "reason"))],
    "AssignmentStatusReported": lambda d: [(_k("status", d["assignment"]), SET, _pick(
        d, "status", "period", "comment", "reported_on"))],
    "ResourcePlanDrafted": lambda d: [(_k("plan", d["code"]), SET, _pick(d, "code", "first_year"))],
    "ResourcePlanAdopted": lambda d: [(_k("plan_adoption", d["plan"]), SET, {})],
    "FrameSet": lambda d: [(_k("frame", d["body"], d["year"]), SET, _pick(
        d, "body", "year", "plan", "amount_sek", "earmarks"))],
    "FrameAdjusted": lambda d: [(_k("adjustment", d["body"], d["year"]), ADD, _pick(
        d, "body", "year", "delta_sek", "reason"))],
    "AllocationSet": lambda d: [(_k("allocation", d["body"], d["year"], d["area"]), SET, _pick(
        d, "body", "year", "area", "amount_sek", "earmarks"))],
    "OperationalPlanAdopted": lambda d: [(_k("budget_adoption", d["body"], d["year"]), SET, _pick(
        d, "body", "year", "late"))],
    "BudgetReallocated": lambda d: [(_k("reallocation", d["body"], d["year"]), ADD, _pick(
        d, "body", "year", "from_area", "to_area", "amount_sek", "reason"))],
    "MeasureDecided": lambda d: [(_k("measure", d["body"], d["year"]), ADD, _pick(
        d, "body", "year", "description", "amount_sek"))],
    "FinancialOutcomeReported": lambda d: [(_k("financial", d["body"], d["period"], d.get("area") or ""), SET,
                                            _pick(d, "body", "year", "period", "area", "outcome_sek",
                                                  "forecast_sek", "reported_on"))],
    "IndicatorOutcomeReported": lambda d: [(_k("outcome", d["indicator"], d["period"], d.get("body") or ""), SET,
                                            _pick(d, "indicator", "period", "value", "body", "reported_on"))],
    "AttainmentAssessed": lambda d: [(_k("assessment", _subject(d), d["period"]), SET, {"subject": _subject(d)} | _pick(
        d, "period", "attainment", "analysis", "internal_efficiency", "external_efficiency", "reported_on"))],
    "ReportAdopted": lambda d: [(_k("report_adoption", d["year"], d["kind"]), ADD, _pick(d, "year", "kind"))],
    "AuditReportSubmitted": lambda d: [(_k("audit_report", d["body"], d["year"]), SET, _pick(
        d, "body", "year", "recommendation", "remarks", "submitted_on"))],
    "DischargeDecided": lambda d: [(_k("discharge", d["body"], d["year"]), SET, _pick(
        d, "body", "year", "granted", "remark"))],
}


def _subject(data: dict) -> str:
    for kind in ("goal", "result", "assignment"):
        if kind in data:
            return f"{kind}:{data[kind]}"
    raise KeyError("assessment without subject")


# Fact kinds (the key's first part) that /state shows; follow-up facts serve the timeline and reports.
STATE_KINDS = frozenset({
    "body", "area", "vision", "document", "term", "indicator", "goal", "target", "result", "assignment",
    "withdrawal", "status", "plan", "plan_adoption", "frame", "adjustment", "allocation", "budget_adoption",
    "reallocation", "audit_report", "discharge",
})
