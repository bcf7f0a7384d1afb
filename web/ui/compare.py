"""Jämför: what changed in force between two dates, change by change with the decision behind it."""

from __future__ import annotations

import datetime as dt

from flask import g, render_template, request

from web.ui.blueprint import ui
from web.ui.context import load_tenant
from web.ui.timeline import Describer, field_label, moment_fields

# Kinds of facts in the order a reader of the governance chain expects them, with Swedish headings.
KINDS = (
    ("vision", "Vision"),
    ("goal", "Inriktningsmål"),
    ("target", "Målvärden"),
    ("indicator", "Nyckeltal"),
    ("term", "Mandatperioder"),
    ("plan", "Mål- och resursplaner"),
    ("plan_adoption", "Antagna mål- och resursplaner"),
    ("frame", "Ekonomiska ramar"),
    ("adjustment", "Ramjusteringar (tilläggsanslag)"),
    ("allocation", "Detaljbudget"),
    ("budget_adoption", "Antagna verksamhetsplaner med detaljbudget"),
    ("reallocation", "Omdispositioner"),
    ("body", "Organ"),
    ("area", "Verksamhetsområden"),
    ("result", "Förväntade och egna resultat"),
    ("assignment", "Uppdrag"),
    ("withdrawal", "Återkallade uppdrag"),
    ("status", "Uppdragsstatus"),
    ("document", "Styrdokument"),
    ("audit_report", "Revisionsberättelser"),
    ("discharge", "Ansvarsfrihet"),
)
CHANGE_LABELS = {"added": "Tillkommit", "removed": "Upphört", "changed": "Ändrat"}
# Fields that say what a change is about (its heading), not what changed.
SUBJECT_FIELDS = ("body", "code", "goal", "result", "indicator", "assignment", "plan", "area", "year", "period",
                  "kind")
# Kinds whose title or name belongs in the heading of a change.
NAMED_KINDS = ("goal", "assignment", "result", "document", "body", "area", "indicator")
HIDDEN_FIELDS = ("revised", "reported_on", "submitted_on")
VALUE_LABELS = {"target": {"value": "Målvärde"}}
# Facts that add up (every one counts) rather than replace each other.
ADDING_KINDS = ("adjustment", "reallocation")


def _date(name: str, default: dt.date, errors: dict) -> tuple[dt.date, str]:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default, default.isoformat()
    try:
        return dt.date.fromisoformat(raw), raw
    except ValueError:
        errors[name] = "Ange datumet som ÅÅÅÅ-MM-DD."
        return default, raw


def describe_change(change: dict, describer: Describer) -> dict:
    """One change of the diff as rows {label, before, after} under a heading naming its subject."""
    kind = change["kind"]
    before, after = change["before"], change["after"]
    latest = (after or before)[-1]
    key_parts = [p for p in change["subject"].split("|") if p and p not in ("goal", "result")]
    parts = [describer.names.get(p) or describer.names.get(f"area:{p}", p) for p in key_parts]
    if kind in NAMED_KINDS and (latest.get("title") or latest.get("name")):
        parts.append(latest.get("title") or latest.get("name"))

    def about_subject(name: str, value) -> bool:
        if name in ("title", "name"):
            return kind in NAMED_KINDS
        return name in SUBJECT_FIELDS and str(value) in key_parts

    rows = []
    if kind in ADDING_KINDS:
        for item in [a for a in after if a not in before]:
            rows.append({"label": "Tillkommit", "before": None, "after": _summary(item, describer, about_subject)})
        for item in [b for b in before if b not in after]:
            rows.append({"label": "Upphört", "before": _summary(item, describer, about_subject), "after": "–"})
    else:
        old = before[-1] if before else {}
        new = after[-1] if after else {}
        for name in {**old, **new}:
            value = new.get(name, old.get(name))
            if about_subject(name, value) and old.get(name) in (None, new.get(name)):
                continue
            if old.get(name) == new.get(name) or name in HIDDEN_FIELDS or (value is None and not before):
                continue
            rows.append({"label": VALUE_LABELS.get(kind, {}).get(name) or field_label(name),
                         "before": describer.fmt(name, old.get(name)) if before else None,
                         "after": describer.fmt(name, new.get(name)) if after else "–"})
    decisions = []
    for decision, position in zip(change["decisions"], change["positions"], strict=False):
        decisions.append({"position": position, "decision": decision,
                          "organ": describer.names.get(decision["body"], decision["body"]) if decision else None})
    return {"subject": " · ".join(parts) or change["subject"], "change": change["change"],
            "change_label": CHANGE_LABELS.get(change["change"], change["change"]), "rows": rows,
            "decisions": decisions}


# The order a reader takes an added item in (what moved where, how much, why); other fields follow by name.
SUMMARY_ORDER = ("from_area", "to_area", "area", "purpose", "period", "amount_sek", "value", "outcome_sek",
                 "forecast_sek", "description", "reason")


def _summary(item: dict, describer: Describer, about_subject) -> str:
    shown = sorted(((n, v) for n, v in item.items() if not about_subject(n, v) and v is not None),
                   key=lambda nv: (SUMMARY_ORDER.index(nv[0]) if nv[0] in SUMMARY_ORDER else len(SUMMARY_ORDER),
                                   nv[0]))
    # " · " between fields: a reason is a sentence, and "planerat.;" read as a typo.
    return " · ".join(f"{_label(n)}: {describer.fmt(n, v)}" for n, v in shown)


def _label(name: str) -> str:
    # An amount is written with its "kr": the form's "Belopp (kr)" would say it twice.
    return field_label(name).removesuffix(" (kr)") if name.endswith("_sek") else field_label(name)


@ui.route("/t/<tenant>/jamfor")
def compare(tenant: str):
    views, redirect_to = load_tenant(tenant)
    if redirect_to:
        return redirect_to
    moment = g.moment
    errors: dict[str, str] = {}
    date_from, raw_from = _date("from", dt.date(moment.as_of.year, 1, 1), errors)
    date_to, raw_to = _date("to", moment.as_of, errors)
    groups = []
    total = 0
    if date_to < date_from and not errors:
        errors["to"] = "Till-datumet kan inte vara före från-datumet."
    if not errors:
        diff = views.diff(date_from, date_to, moment.known_at)
        describer = Describer(views, diff["position"])
        by_kind: dict[str, list[dict]] = {}
        for change in diff["changes"]:
            by_kind.setdefault(change["kind"], []).append(describe_change(change, describer))
        known = dict(KINDS)
        for kind, heading in KINDS:
            if kind in by_kind:
                groups.append({"kind": kind, "heading": heading, "changes": by_kind[kind]})
        for kind, changes in by_kind.items():
            if kind not in known:
                groups.append({"kind": kind, "heading": kind, "changes": changes})
        total = len(diff["changes"])
    return render_template("ui/compare.html", groups=groups, total=total, errors=errors, date_from=date_from,
                           date_to=date_to, raw_from=raw_from, raw_to=raw_to, moment_fields=moment_fields())
