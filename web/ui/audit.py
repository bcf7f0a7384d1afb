"""Revision: the ledger's head and its verification, its export, and ansvarsprövningen per nämnd and year."""

from __future__ import annotations

import datetime as dt

from flask import current_app, g, render_template, request

from web.ui.blueprint import ui
from web.ui.context import load_tenant
from web.ui.reports import discharge_bodies, report_title, year_choices
from workers.requests import AUDIT_REPORT_ROLES, recent_reports

# domain/ledger.py's reasons for a broken chain, in Swedish.
VERIFY_REASONS = {
    "the entry cannot be read": "posten kan inte läsas",
    "the entry is not valid JSON": "posten är inte giltig JSON",
    "the position is out of sequence": "positionen ligger inte i följd",
    "prev_hash does not match the previous entry": "posten pekar inte på föregående posts kontrollsumma",
    "the hash does not match the content": "kontrollsumman stämmer inte med innehållet",
    "a recorded event has no ledger entry: entries after the head were removed":
        "en registrerad händelse saknar post i loggen: poster efter den senaste har tagits bort",
}


def verify_reason(reason: str | None) -> str:
    return VERIFY_REASONS.get(reason or "", reason or "okänd orsak")


def chosen_year(state: dict, years: list[int]) -> int:
    """?ar= if it is one of the years; else the latest year with an audit report or discharge, else last year."""
    raw = request.args.get("ar", "").strip()
    if raw.isdigit() and int(raw) in years:
        return int(raw)
    tried = [d["year"] for b in state["bodies"] for d in b["discharge"]]
    fallback = dt.date.today().year - 1
    return max(tried) if tried else (fallback if fallback in years else years[0])


def _render(tenant: str, views, verification=None, status: int = 200):
    state = views.state(g.moment.as_of, g.moment.known_at)
    years = year_choices(state)
    year = chosen_year(state, years)
    head_position, head_hash, head_recorded_at = g.app.ledger_head()
    store = current_app.extensions["styrkedja_reports"]["store"]
    body_names = {b["code"]: b["name"] for b in state["bodies"]}
    reports = recent_reports(store, tenant, limit=200)
    latest_basis: dict[str, dict] = {}
    for manifest in reports:  # newest first: keep the first per body
        if manifest.get("kind") == "discharge_basis" and manifest.get("year") == year:
            latest_basis.setdefault(manifest.get("body"), manifest)
    exports = [dict(m, title=report_title(m, body_names)) for m in reports if m.get("kind") == "ledger_export"][:5]
    rows = []
    for body in discharge_bodies(state):
        found = [d for d in body["discharge"] if d["year"] == year]
        rows.append({"body": body, "discharge": found[0] if found else None, "basis": latest_basis.get(body["code"])})
    return render_template(
        "ui/audit.html", head_position=head_position, head_hash=head_hash, head_recorded_at=head_recorded_at,
        verification=verification, reason=verify_reason(verification.reason) if verification else None,
        years=years, year=year, rows=rows, exports=exports), status


@ui.route("/t/<tenant>/revision")
def audit(tenant: str):
    views, redirect_to = load_tenant(tenant, roles=AUDIT_REPORT_ROLES)
    if redirect_to:
        return redirect_to
    return _render(tenant, views)


@ui.route("/t/<tenant>/revision/verifiera", methods=["POST"])
def audit_verify(tenant: str):
    views, redirect_to = load_tenant(tenant, roles=AUDIT_REPORT_ROLES)
    if redirect_to:
        return redirect_to
    return _render(tenant, views, verification=g.app.verify_ledger())
