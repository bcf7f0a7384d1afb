"""Tidslinje: every decision and report, newest first, with what it changed, who recorded it and its hash."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qsl
from uuid import UUID

from flask import current_app, g, render_template, request

from projections.facts import ADD, PATCH, SET, SUBJECT_ORDER, facts_of, valid_from
from web.ui import labels
from web.ui.blueprint import ui
from web.ui.context import load_tenant
from web.ui.filters import datum
from workers.formatting import format_number, format_sek, period_label

PAGE_SIZE = 25
HASH_SHORT = 12

# Field names the skeleton's labels.FIELDS does not have (kept here: labels.py belongs to the skeleton).
MORE_FIELDS = {
    "owner": "Ägare", "responsible": "Ansvarig tjänsteperson", "validity": "Giltighetstid",
    "follow_up": "Uppföljning", "subject": "Ämnesområde", "published": "Publiceras på",
    "related": "Relaterade dokument", "unit": "Enhet", "direction": "Riktning", "kolada_kpi": "Kolada-id",
    "parent": "Överordnat organ", "assignment": "Uppdrag", "result": "Resultat", "document": "Styrdokument",
    "basis": "Grund", "type": "Dokumenttyp", "changes": "Ändringar", "frame": "Ram", "repealed": "Upphävt",
    "revised": "Reviderat", "purpose": "Ändamål", "delegation": "Delegationsbeslut",
}

RESULT_KINDS = {"expected": "Förväntat resultat", "own": "Eget resultat"}
REPORT_KINDS = {"interim_t1": "Delårsrapport T1", "interim_t2": "Delårsrapport T2", "annual": "Årsredovisning"}
RECOMMENDATIONS = {"grant": "Tillstyrker ansvarsfrihet", "refuse": "Avstyrker ansvarsfrihet"}
DIRECTIONS = {"increase": "Högre värde är bättre", "decrease": "Lägre värde är bättre"}

# Which data fields name what an entry is about (shown in its heading), per event type.
CONTEXT = {
    "TargetValueFixed": ("goal", "indicator", "year"),
    "ResultTargetValueFixed": ("result", "indicator", "year"),
    "FrameSet": ("body", "year"),
    "FrameAdjusted": ("body", "year"),
    "AllocationSet": ("body", "year", "area"),
    "OperationalPlanAdopted": ("body", "year"),
    "BudgetReallocated": ("body", "year"),
    "MeasureDecided": ("body", "year"),
    "FinancialOutcomeReported": ("body", "area", "period"),
    "IndicatorOutcomeReported": ("indicator", "body", "period"),
    "AttainmentAssessed": ("goal", "result", "assignment", "period"),
    "AssignmentIssued": ("code",),
    "AssignmentRevised": ("assignment",),
    "AssignmentWithdrawn": ("assignment",),
    "AssignmentStatusReported": ("assignment", "period"),
    "StrategicGoalEstablished": ("code",),
    "StrategicGoalRevised": ("goal",),
    "ResultDefined": ("code",),
    "ReportAdopted": ("kind", "year"),
    "AuditReportSubmitted": ("body", "year"),
    "DischargeDecided": ("body", "year"),
    "BodyEstablished": ("code",),
    "ActivityAreaAdded": ("body", "code"),
    "GoverningDocumentAdopted": ("code",),
    "GoverningDocumentRevised": ("document",),
    "GoverningDocumentRepealed": ("document",),
    "TermOpened": ("code",),
    "IndicatorDefined": ("code",),
    "ResourcePlanDrafted": ("code",),
    "ResourcePlanAdopted": ("plan",),
}
# Never shown as a changed value: bookkeeping of the ledger.
HIDDEN = {"retracted_event_id", "retracted_version", "retracted_position", "position", "decision"}
REPORT_DATES = ("reported_on", "submitted_on")
# The order fields are shown in (others follow in their own order).
FIELD_ORDER = ("title", "name", "text", "kind", "value", "amount_sek", "delta_sek", "outcome_sek", "forecast_sek",
               "from_area", "to_area", "earmarks", "to_body", "goal", "term", "due", "status", "attainment",
               "recommendation", "granted", "late", "description", "reason", "comment", "analysis",
               "internal_efficiency", "external_efficiency", "remark", "remarks")
VALUE_LABELS = {"TargetValueFixed": "Målvärde", "ResultTargetValueFixed": "Målvärde",
                "IndicatorOutcomeReported": "Utfall"}
BODY_FIELDS = ("body", "to_body", "parent")
AREA_FIELDS = ("area", "from_area", "to_area")


def field_label(name: str) -> str:
    return labels.FIELDS.get(name) or MORE_FIELDS.get(name) or name


def body_names(views) -> dict[str, str]:
    """Every body ever established in the municipality, code to name (for labels, also of retracted ones); and
    every activity area, under "area:" and its code (area_label), so that a change reads Förskola, not FORSKOLA."""
    names: dict[str, str] = {}
    # Only BodyEstablished and ActivityAreaAdded state these facts (projections/facts.py): read their entries by
    # the timeline's type index, not every fact of the municipality (facts has no index on kind).
    for row in views.views.select("SELECT record FROM §.timeline WHERE type IN (%s, %s) ORDER BY position",
                                  ("BodyEstablished", "ActivityAreaAdded")):
        record = _json(row["record"])
        data = record.get("data") or {}
        code = data.get("code")
        if not code:
            continue
        key = code if record["type"] == "BodyEstablished" else f"area:{code}"
        names[key] = data.get("name") or code
    return names


def area_label(code: str, names: dict[str, str]) -> str:
    name = names.get(f"area:{code}")
    return f"{name} ({code})" if name and name != code else code


def body_label(code: str | None, names: dict[str, str]) -> str:
    if not code:
        return "–"
    name = names.get(code)
    return f"{name} ({code})" if name and name != code else code


def format_value(name: str, value, event_type: str = "", names: dict[str, str] | None = None) -> str:
    """One data field as Swedish text."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "Ja" if value else "Nej"
    if name == "delta_sek":
        return format_sek(value, signed=True)
    if name.endswith("_sek"):
        return format_sek(value)
    if name in BODY_FIELDS:
        return body_label(value, names or {})
    if name in AREA_FIELDS:
        return area_label(str(value), names or {})
    if name in ("due", "reported_on", "submitted_on", "first_valid", "date", "effective_from"):
        return datum(value)
    if name == "period":
        return period_label(str(value))
    if name == "value":
        return format_number(value)
    if name == "earmarks":
        if not value:
            return "Inga"
        return "; ".join(f"{e.get('purpose')}: {format_sek(e.get('amount_sek'))}" for e in value)
    if name == "attainment":
        return labels.ATTAINMENT.get(value, value)
    if name == "status":
        return labels.ASSIGNMENT_STATUSES.get(value, value)
    if name == "recommendation":
        return RECOMMENDATIONS.get(value, value)
    if name == "direction":
        return DIRECTIONS.get(value, value)
    if name == "published":
        return ", ".join(labels.PUBLICATION.get(p, p) for p in value)
    if name == "type":
        return labels.DOCUMENT_TYPES.get(value, value)
    if name == "kind":
        for table in (REPORT_KINDS, RESULT_KINDS, labels.BODY_KINDS):
            if value in table:
                return table[value]
        return str(value)
    if name == "changes" and isinstance(value, dict):
        return "; ".join(f"{field_label(k)}: {format_value(k, v, event_type, names)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) if value else "–"
    if isinstance(value, (int, float)) and name not in ("year", "first_year", "last_year"):
        return format_number(value)
    return str(value)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _shown(data: dict) -> dict:
    """The fields of an entry worth showing: no ledger bookkeeping, no repeat of the code under its kind."""
    code = data.get("code")
    return {k: v for k, v in data.items()
            if k not in HIDDEN and not (k in SUBJECT_ORDER and k != "code" and code is not None and v == code)}


class Describer:
    """Turns ledger records into what a reader needs: subject, before → after, details."""

    def __init__(self, views, upto: int) -> None:
        self.views = views
        self.upto = upto
        self.names = body_names(views)

    def select(self, sql: str, params: tuple) -> list:
        return self.views.views.select(sql, params)

    def _previous(self, key: str, position: int, when: dt.date) -> dict | None:
        """The value of a set-type fact in force just before this entry, as recorded up to the page's moment."""
        rows = self.select(
            "SELECT value FROM §.facts WHERE key = %s AND position < %s AND valid_from <= %s "
            "AND (retracted_by IS NULL OR retracted_by > %s) ORDER BY valid_from DESC, position DESC LIMIT 1",
            (key, position, when.isoformat(), self.upto))
        return _json(rows[0]["value"]) if rows else None

    def _earlier(self, key: str, position: int, when: dt.date | None = None) -> list[dict]:
        """Every earlier fact of a key (patches, additions) still in force at the page's moment, in order."""
        sql = ("SELECT value FROM §.facts WHERE key = %s AND position < %s "
               "AND (retracted_by IS NULL OR retracted_by > %s)")
        params: tuple = (key, position, self.upto)
        if when is not None:
            sql += " AND valid_from <= %s"
            params += (when.isoformat(),)
        return [_json(r["value"]) for r in self.select(sql + " ORDER BY valid_from, position", params)]

    @staticmethod
    def label(name: str, event_type: str) -> str:
        if name == "value" and event_type in VALUE_LABELS:
            return VALUE_LABELS[event_type]
        return field_label(name)

    def fmt(self, name: str, value, event_type: str = "") -> str:
        return format_value(name, value, event_type, self.names)

    def subject(self, record: dict) -> str:
        data = record.get("data") or {}
        if record["type"] == "EventRetracted":
            return f"position {data.get('retracted_position')}"
        parts = []
        for name in CONTEXT.get(record["type"], ()):
            value = data.get(name)
            if value is None or value == "":
                continue
            if name in BODY_FIELDS:
                parts.append(self.names.get(value, value))
            elif name in ("period", "kind"):
                parts.append(self.fmt(name, value))
            else:
                parts.append(str(value))
        title = data.get("title") or data.get("name")
        if title and record["type"] in ("AssignmentIssued", "StrategicGoalEstablished", "ResultDefined",
                                        "BodyEstablished", "GoverningDocumentAdopted", "IndicatorDefined",
                                        "ActivityAreaAdded"):
            parts.append(title)
        return " · ".join(parts)

    def changes(self, record: dict) -> list[dict]:
        """Rows {label, before, after}: before is None for something new."""
        kind = record["type"]
        data = record.get("data") or {}
        context = set(CONTEXT.get(kind, ()))
        if kind == "EventRetracted":
            return [{"label": "Skäl", "before": None, "after": data.get("reason") or "–"}]
        facts = facts_of(record)
        when = valid_from(record)
        rows: list[dict] = []
        if kind == "FrameAdjusted":
            rows += self._frame_rows(data, record["position"], when)
        elif kind == "BudgetReallocated":
            rows += self._reallocation_rows(data, record["position"], when)
        fact = facts[0] if len(facts) == 1 else None
        previous = None
        if fact is not None and fact.mode == SET:
            previous = self._previous(fact.key, record["position"], fact.valid_from)
        elif fact is not None and fact.mode == PATCH:
            merged: dict = {}
            for value in self._earlier(fact.key, record["position"]):
                merged.update({k: v for k, v in value.items() if v is not None})
            previous = merged or None
        shown = _shown(data)
        if isinstance(shown.get("changes"), dict):  # a revised document: each changed field on its own
            shown = {**{k: v for k, v in shown.items() if k != "changes"}, **shown["changes"]}
        rank = {name: i for i, name in enumerate(FIELD_ORDER)}
        shown = dict(sorted(shown.items(), key=lambda item: rank.get(item[0], len(rank))))
        for name, value in shown.items():
            if name == "year" and "period" in data:
                continue  # the period names the year
            if name in context or name in REPORT_DATES or (value is None and kind.endswith("Revised")):
                continue
            if fact is not None and fact.mode == ADD:
                rows.append({"label": self.label(name, kind), "before": None, "after": self.fmt(name, value, kind)})
                continue
            before = previous.get(name) if previous is not None else None
            if value is None and before is None:
                continue  # nothing said, nothing changed
            if previous is not None and name in previous and before == value:
                continue  # unchanged: not what this entry changed
            rows.append({"label": self.label(name, kind),
                         "before": self.fmt(name, before, kind) if previous is not None and name in previous
                         else None,
                         "after": self.fmt(name, value, kind)})
        if not rows and previous is not None:
            rows.append({"label": "Ändring", "before": None, "after": "Samma värden som tidigare beslut"})
        return rows

    def _frame_rows(self, data: dict, position: int, when: dt.date) -> list[dict]:
        body, year = data["body"], data["year"]
        frame = self._previous(f"frame|{body}|{year}", position, when)
        if frame is None:
            return []
        before = frame["amount_sek"] + sum(a["delta_sek"] for a in self._earlier(
            f"adjustment|{body}|{year}", position, when))
        return [{"label": "Ram", "before": format_sek(before), "after": format_sek(before + data["delta_sek"])}]

    def _reallocation_rows(self, data: dict, position: int, when: dt.date) -> list[dict]:
        body, year, amount = data["body"], data["year"], data["amount_sek"]
        moves = self._earlier(f"reallocation|{body}|{year}", position, when)
        rows = []
        for area, sign in ((data["from_area"], -1), (data["to_area"], 1)):
            line = self._previous(f"allocation|{body}|{year}|{area}", position, when)
            before = (line["amount_sek"] if line else 0) + sum(
                m["amount_sek"] * (1 if m["to_area"] == area else -1) for m in moves
                if area in (m["to_area"], m["from_area"]))
            rows.append({"label": f"Budget för {area}", "before": format_sek(before),
                         "after": format_sek(before + sign * amount)})
        return rows

    def organ(self, record: dict, concerns: str | None) -> str:
        decision = record.get("decision") or {}
        data = record.get("data") or {}
        # The timeline's "concerns" column is trusted only for an uppdrag's or a result's later entries
        # (it inherits the first body any entry of the subject named, which is wrong for an indicator).
        if not ("assignment" in data or "result" in data):
            concerns = None
        return body_label(decision.get("body") or data.get("body") or data.get("to_body") or concerns, self.names)

    def entry(self, record: dict, concerns: str | None = None) -> dict:
        data = record.get("data") or {}
        decision = record.get("decision") or {}
        if decision:
            when, when_label = decision.get("date"), "Beslutsdatum"
        else:
            when = next((data[n] for n in REPORT_DATES if data.get(n)), None)
            when_label = "Rapporterat" if when else "Registrerat"
            when = when or record["recorded_at"][:10]
        effective = decision.get("effective_from")
        return {
            **record,
            "label": labels.event_label(record["type"]),
            "subject": self.subject(record),
            "organ": self.organ(record, concerns),
            "when": when,
            "when_label": when_label,
            "effective_from": effective if effective and effective != decision.get("date") else None,
            "changes": self.changes(record),
            "recorder": recorder_name(record.get("recorded_by")),
            "hash_short": (record.get("hash") or "")[:HASH_SHORT],
        }


def recorder_name(recorded_by: str | None) -> str:
    """Who recorded an entry: the user's name, or what the actor id stands for."""
    if not recorded_by:
        return "okänd"
    if recorded_by == "platform-admin":
        return "plattformsadministratör"
    if recorded_by == "demo":
        return "demo (exempeldata)"
    cache = g.setdefault("recorder_names", {})
    if recorded_by not in cache:
        try:
            user = current_app.extensions["styrkedja"].platform.user(UUID(recorded_by))
            cache[recorded_by] = user.name
        except Exception:  # not a UUID, or a user no longer there: show the id as recorded
            cache[recorded_by] = recorded_by
    return cache[recorded_by]


def moment_fields() -> dict[str, str]:
    """The page's moment as hidden form fields, so a GET form keeps it (as links do via g.moment.query())."""
    return dict(parse_qsl(g.moment.query().lstrip("?")))


def _date_arg(name: str, errors: dict) -> dt.date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Ange datumet som ÅÅÅÅ-MM-DD."
        return None


def retraction_notes(views, positions: list[int]) -> dict[int, dict]:
    """The retracting entries by position: {position: {"position", "reason"}}."""
    if not positions:
        return {}
    marks = ", ".join(["%s"] * len(positions))
    rows = views.views.select(f"SELECT position, record FROM §.timeline WHERE position IN ({marks})", tuple(positions))
    notes = {}
    for row in rows:
        record = _json(row["record"])
        notes[row["position"]] = {"position": row["position"], "reason": (record.get("data") or {}).get("reason")}
    return notes


def concerned_bodies(views, positions: list[int]) -> dict[int, str | None]:
    if not positions:
        return {}
    marks = ", ".join(["%s"] * len(positions))
    rows = views.views.select(f"SELECT position, concerns FROM §.timeline WHERE position IN ({marks})",
                              tuple(positions))
    return {row["position"]: row["concerns"] for row in rows}


@ui.route("/t/<tenant>/tidslinje")
def timeline(tenant: str):
    views, redirect_to = load_tenant(tenant)
    if redirect_to:
        return redirect_to
    moment = g.moment
    errors: dict[str, str] = {}
    describer = Describer(views, moment.position)
    names = describer.names
    organ = request.args.get("organ", "").strip() or None
    if organ and organ not in names:
        errors["organ"] = "Välj ett organ i listan."
        organ = None
    type_ = request.args.get("typ", "").strip() or None
    if type_ and type_ not in labels.EVENT_TYPES:
        errors["typ"] = "Välj en typ av händelse i listan."
        type_ = None
    date_from = _date_arg("fran", errors)
    date_to = _date_arg("till", errors)
    if date_from and date_to and date_to < date_from:
        errors["till"] = "Till-datumet kan inte vara före från-datumet."
        date_to = None
    cursor = request.args.get("cursor", "").strip()
    cursor_value = int(cursor) if cursor.isdigit() and int(cursor) > 0 else None
    records, next_cursor = views.timeline(body=organ, type_=type_, date_from=date_from, date_to=date_to,
                                          cursor=cursor_value, limit=PAGE_SIZE, upto=moment.position)
    concerns = concerned_bodies(views, [r["position"] for r in records])
    retracted = [r["retracted_by"] for r in records if r.get("retracted_by") and r["retracted_by"] <= moment.position]
    notes = retraction_notes(views, retracted)
    entries = []
    for record in records:
        entry = describer.entry(record, concerns.get(record["position"]))
        by = record.get("retracted_by")
        entry["retraction"] = notes.get(by) if by and by <= moment.position else None
        if record["type"] == "EventRetracted":
            entry["retracts"] = (record.get("data") or {}).get("retracted_position")
        entries.append(entry)
    filters = {"organ": organ, "typ": type_, "fran": date_from.isoformat() if date_from else None,
               "till": date_to.isoformat() if date_to else None}
    bodies = sorted(names.items(), key=lambda item: item[1])
    types = sorted(labels.EVENT_TYPES.items(), key=lambda item: item[1])
    return render_template("ui/timeline.html", entries=entries, next_cursor=next_cursor, cursor=cursor_value,
                           filters=filters, errors=errors, bodies=bodies, types=types,
                           raw={k: request.args.get(k, "") for k in ("fran", "till")}, moment_fields=moment_fields())
