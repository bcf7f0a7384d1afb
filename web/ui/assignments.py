"""Uppdrag: every riktat uppdrag with who gave it, to whom, when due, its state and status, and its full history."""

from __future__ import annotations

import datetime as dt

from flask import g, render_template, request

from projections.facts import ALWAYS, valid_from
from web.ui.blueprint import ui
from web.ui.context import load_tenant

STATES = {"active": "Aktiva", "withdrawn": "Återkallade"}
ATTAINMENT = {"met": "Uppfyllt", "partly_met": "Delvis uppfyllt", "not_met": "Ej uppfyllt"}
HISTORY_LIMIT = 200


def record_day(record: dict) -> dt.date:
    """A record's decision time; a record without one (a retraction) is dated by when it was recorded."""
    day = valid_from(record)
    return dt.date.fromisoformat(record["recorded_at"][:10]) if day == ALWAYS else day


def history(views, code: str, as_of: dt.date, upto: int) -> list[dict]:
    """The uppdrag's records as decided by `as_of` and recorded up to `upto`, in decision order."""
    records, _ = views.timeline(subject=f"assignment:{code}", date_to=as_of, upto=upto, limit=HISTORY_LIMIT)
    entries = []
    for record in records:
        retracted_by = record.get("retracted_by")
        entries.append({**record, "day": record_day(record),
                        "retracted": retracted_by is not None and retracted_by <= upto})
    entries.sort(key=lambda e: (e["day"], e["position"]))
    return entries


@ui.route("/t/<tenant>/uppdrag")
def assignments(tenant: str):
    views, redirect_to = load_tenant(tenant)
    if redirect_to:
        return redirect_to
    moment = g.moment
    state = views.state(moment.as_of, moment.known_at)
    names = {b["code"]: b["name"] for b in state["bodies"]}
    body = request.args.get("body", "").strip()
    chosen_state = request.args.get("state", "").strip()
    errors = {}
    if body and body not in names:
        errors["body"] = "Det finns inget organ med den koden vid vald tidpunkt."
    if chosen_state and chosen_state not in STATES:
        errors["state"] = "Välj aktiva, återkallade eller alla."
        chosen_state = ""

    shown = []
    for assignment in sorted(state["assignments"], key=lambda a: (a.get("due") or "", a["code"])):
        issuer = (assignment.get("decision") or {}).get("body")
        if body and body not in (assignment.get("to_body"), issuer):
            continue
        if chosen_state and assignment["state"] != chosen_state:
            continue
        overdue = (assignment["state"] == "active" and assignment.get("due")
                   and dt.date.fromisoformat(assignment["due"]) < moment.as_of
                   and assignment.get("status") not in ("completed", "will_not_complete"))
        shown.append({**assignment, "issuer": issuer, "overdue": bool(overdue),
                      "history": history(views, assignment["code"], moment.as_of, moment.position)})
    # The bodies that gave or received an uppdrag (and the one asked for), by name.
    involved = {a.get("to_body") for a in state["assignments"]}
    involved |= {(a.get("decision") or {}).get("body") for a in state["assignments"]}
    if body in names:
        involved.add(body)
    body_options = sorted(((c, names.get(c, c)) for c in involved if c), key=lambda option: option[1])
    return render_template("ui/assignments.html", assignments=shown, names=names, body=body,
                           chosen_state=chosen_state, states=STATES, errors=errors, body_options=body_options,
                           attainment=ATTAINMENT, total=len(state["assignments"]))
