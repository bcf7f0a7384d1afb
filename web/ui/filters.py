"""Template filters: Swedish numbers, amounts, dates and labels."""

from __future__ import annotations

import datetime as dt

from web.ui import labels
from web.ui.blueprint import ui
from workers.formatting import STOCKHOLM, decision_ref, format_number, format_sek, period_label

MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")


@ui.app_template_filter("sek")
def sek(value, signed: bool = False) -> str:
    return "–" if value is None else format_sek(value, signed=signed)


@ui.app_template_filter("number")
def number(value) -> str:
    return "–" if value is None else format_number(value)


@ui.app_template_filter("datum")
def datum(value) -> str:
    """2024-03-31 → 31 mars 2024."""
    if not value:
        return "–"
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


@ui.app_template_filter("tidpunkt")
def tidpunkt(value) -> str:
    """A record time (stored in UTC) as Swedish date and minute in Swedish time."""
    if not value:
        return "–"
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(STOCKHOLM)
    return f"{datum(moment.date())} kl. {moment:%H:%M}"


@ui.app_template_filter("beslut")
def beslut(decision) -> str:
    return decision_ref(decision) if decision else "–"


@ui.app_template_filter("period")
def period(value) -> str:
    return period_label(value) if value else "–"


@ui.app_template_filter("handelse")
def handelse(event_type: str) -> str:
    return labels.event_label(event_type)


@ui.app_template_filter("organtyp")
def organtyp(kind: str) -> str:
    return labels.BODY_KINDS.get(kind, kind)


@ui.app_template_filter("uppdragsstatus")
def uppdragsstatus(status) -> str:
    return labels.ASSIGNMENT_STATUSES.get(status, "Ej rapporterad") if status else "Ej rapporterad"


@ui.app_template_filter("faltnamn")
def faltnamn(field: str) -> str:
    return labels.FIELDS.get(field, field)


@ui.app_template_filter("kortsumma")
def kortsumma(value: str, length: int = 12) -> str:
    return value[:length] if value else ""
