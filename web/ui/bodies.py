"""Nämnder: the list of bodies and each body's page (frame, budget, uppdrag, resultat, follow-up, discharge)."""

from __future__ import annotations

from flask import abort, g, render_template

from web.ui.blueprint import ui
from web.ui.context import load_tenant


@ui.route("/t/<tenant>/namnder")
def bodies(tenant: str):
    views, redirect_to = load_tenant(tenant)
    if redirect_to:
        return redirect_to
    state = views.state(g.moment.as_of, g.moment.known_at)
    return render_template("ui/bodies.html", state=state)


@ui.route("/t/<tenant>/namnd/<code>")
def body(tenant: str, code: str):
    views, redirect_to = load_tenant(tenant)
    if redirect_to:
        return redirect_to
    state = views.state(g.moment.as_of, g.moment.known_at)
    found = [b for b in state["bodies"] if b["code"] == code]
    if not found:
        abort(404)
    return render_template("ui/body.html", body=found[0], state=state)
