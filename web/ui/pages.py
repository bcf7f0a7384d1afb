"""The start page and Styrkedjan: vision, inriktningsmål with målvärden and outcomes, resultat, ramar."""

from __future__ import annotations

from collections import defaultdict

from flask import current_app, g, render_template, session

from web.ui import labels
from web.ui.blueprint import ui
from web.ui.context import load_tenant
from workers.formatting import period_key

# Main menu: endpoint, label, roles that see it (None: everyone signed in).
NAV_ITEMS = [
    ("ui.tenant_home", "Styrkedjan", None),
    ("ui.bodies", "Nämnder", None),
    ("ui.timeline", "Tidslinje", None),
    ("ui.compare", "Jämför", None),
    ("ui.assignments", "Uppdrag", None),
    ("ui.reports", "Rapporter", None),
    ("ui.audit", "Revision", ("auditor", "admin")),
    ("ui.statute_book", "Författningssamling", None),
    ("ui.record", "Registrera beslut", ("registrar", "admin", "reporter")),
    ("ui.users", "Användare", ("admin",)),
]


# The pages beneath a section of the navigation, which mark it as where the reader is (aria-current="true").
NAV_SECTIONS = {
    "ui.bodies": ("ui.body",),
    "ui.reports": ("ui.report",),
    "ui.statute_book": ("ui.document",),
}


@ui.app_context_processor
def navigation():
    return {"nav_items": [item for item in NAV_ITEMS if item[0] in current_app.view_functions],
            "nav_sections": NAV_SECTIONS,
            "role_label": lambda role: labels.ROLES.get(role, role)}


@ui.route("/")
def start():
    tenants = current_app.extensions["styrkedja"].platform
    mine = [tenants.find_tenant(slug) for slug in sorted(session.get("users") or {})]
    return render_template("ui/start.html", tenants=[t for t in mine if t is not None])


def latest_outcomes(views, as_of, upto) -> dict[str, dict]:
    """The latest outcome in force per indicator (the municipality's own figure before any body's)."""
    outcomes: dict[str, dict] = {}
    for _key, group in views.facts_in_force(as_of, upto, kinds=("outcome",)).items():
        value = group[-1].value
        current = outcomes.get(value["indicator"])
        rank = (period_key(value["period"]), value.get("body") in (None, ""))
        if current is None or rank > current["_rank"]:
            outcomes[value["indicator"]] = {**value, "_rank": rank}
    return outcomes


def neighbour_decision_days(views, day, upto) -> tuple[str | None, str | None]:
    """The nearest days before and after `day` on which a decision took effect (for the scrubber)."""
    found = []
    for sql in ("SELECT MAX(decided_on) AS d FROM §.timeline WHERE decided AND decided_on < %s AND position <= %s",
                "SELECT MIN(decided_on) AS d FROM §.timeline WHERE decided AND decided_on > %s AND position <= %s"):
        row = views.views.select(sql, (day.isoformat(), upto))[0]
        found.append(str(row["d"])[:10] if row["d"] else None)
    return found[0], found[1]


@ui.route("/t/<tenant>/")
def tenant_home(tenant: str):
    views, redirect_to = load_tenant(tenant)
    if redirect_to:
        return redirect_to
    moment = g.moment
    state = views.state(moment.as_of, moment.known_at)
    outcomes = latest_outcomes(views, moment.as_of, moment.position)
    results_by_goal = defaultdict(list)
    for body in state["bodies"]:
        for result in body["results"]:
            if result.get("goal"):
                results_by_goal[result["goal"]].append({**result, "body_name": body["name"]})
    indicators = {i["code"]: i for i in state["indicators"]}
    frames = [(body, frame) for body in state["bodies"] for frame in body["frames"]
              if frame["year"] == moment.as_of.year]
    previous, following = neighbour_decision_days(views, moment.as_of, moment.position)
    return render_template("ui/styrkedjan.html", state=state, outcomes=outcomes, indicators=indicators,
                           results_by_goal=results_by_goal, frames=frames, previous=previous, following=following)
