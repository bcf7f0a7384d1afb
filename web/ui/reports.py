"""Rapporter: request a report at the page's moment, follow it while it is built, download it when done.

The rule for requesting (who may, which position, which as_of) is workers/requests.py, shared with the API.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, g, redirect, render_template, request, url_for

from web.api.schemas import REPORT_FORMATS
from web.artifact_download import artifact_response
from web.errors import SERVICE_ERRORS
from web.ui import labels
from web.ui.blueprint import ui
from web.ui.context import load_tenant
from workers.requests import (
    ReportNotReady,
    ReportRequestRefused,
    UnknownBody,
    may_request,
    recent_reports,
    report_file,
    report_status,
    request_report,
)
from workers.storage import ArtifactMissing

# The bodies whose year is tried in an ansvarsprövning (nämnder, KS and fullmäktigeberedningar).
DISCHARGE_BODY_KINDS = ("executive_board", "committee", "council_committee")
FORMAT_LABELS = {"pdf": "PDF", "html": "HTML (webbsida)", "csv": "CSV (zip-arkiv)", "jsonl": "JSON Lines"}
PERIOD_LABELS = {"T1": "T1 – januari till april", "T2": "T2 – januari till augusti"}
KIND_ORDER = ("discharge_basis", "interim", "annual", "ledger_export")
UNAVAILABLE = "Rapporttjänsten är inte tillgänglig just nu; försök igen om en stund."
PENDING = ("queued", "started")


def _store_and_queue():
    reports = current_app.extensions["styrkedja_reports"]
    return reports["store"], reports["queue"]


def discharge_bodies(state: dict) -> list[dict]:
    return [b for b in state["bodies"] if b["kind"] in DISCHARGE_BODY_KINDS]


def year_choices(state: dict) -> list[int]:
    """The years a report can be about: from the first year with a frame or a discharge up to this year."""
    today = dt.date.today()
    seen = [f["year"] for b in state["bodies"] for f in b["frames"]]
    seen += [d["year"] for b in state["bodies"] for d in b["discharge"]]
    first = min([y for y in seen if y <= today.year] or [today.year - 4])
    return list(range(today.year, first - 1, -1))


def default_year(kind: str, years: list[int]) -> int:
    wanted = dt.date.today().year - (0 if kind == "interim" else 1)
    return wanted if wanted in years else years[0]


def kinds_for(role: str) -> list[str]:
    return [kind for kind in KIND_ORDER if may_request(kind, role)]


def report_title(manifest: dict, body_names: dict[str, str]) -> str:
    """"Ansvarsprövningsunderlag 2023 – Barn- och utbildningsnämnden", "Delårsrapport T1 2024", ..."""
    kind = manifest.get("kind")
    title = labels.REPORT_KINDS.get(kind, kind)
    if kind == "interim" and manifest.get("period"):
        title += f" {manifest['period']}"
    if manifest.get("year"):
        title += f" {manifest['year']}"
    if manifest.get("body"):
        title += f" – {body_names.get(manifest['body'], manifest['body'])}"
    return title


def file_size(size: int | None) -> str:
    if not size:
        return ""
    if size < 1024:
        return f"{size} byte"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size / 1024 / 1024:.1f} MB".replace(".", ",")


def explicit_as_of() -> dt.date | None:
    """The page's "gällande den" when chosen; otherwise None, and the report takes its kind's default."""
    return g.moment.as_of if g.moment.as_of != dt.date.today() else None


def parse_request(kind: str, form) -> tuple[dict, dict, dict]:
    """The submitted fields of one kind's form: (params for request_report, errors in Swedish, raw values)."""
    values = {name: (form.get(name) or "").strip() for name in ("year", "body", "period", "format")}
    errors: dict[str, str] = {}
    formats = REPORT_FORMATS[kind]
    fmt = values["format"] or formats[0]
    if fmt not in formats:
        errors["format"] = "Välj ett av formaten i listan."
    year = None
    if kind != "ledger_export":
        try:
            year = int(values["year"])
            if not 1900 <= year <= 2200:
                raise ValueError
        except ValueError:
            errors["year"] = "Välj ett år."
    body = None
    if kind == "discharge_basis":
        body = values["body"] or None
        if body is None:
            errors["body"] = "Välj den nämnd underlaget gäller."
    period = None
    if kind == "interim":
        period = values["period"] or None
        if period not in PERIOD_LABELS:
            errors["period"] = "Välj T1 eller T2."
    params = {"kind": kind, "format": fmt, "year": year, "body": body, "period": period,
              "as_of": explicit_as_of(), "known_at": g.moment.known_at}
    return params, errors, values


@ui.route("/t/<tenant>/rapporter", methods=["GET", "POST"])
def reports(tenant: str):
    views, redirect_to = load_tenant(tenant)
    if redirect_to:
        return redirect_to
    store, queue = _store_and_queue()
    submitted, errors, values, unavailable, status = None, {}, {}, None, 200
    if request.method == "POST":
        submitted = request.form.get("kind", "")
        if submitted not in REPORT_FORMATS:
            abort(400)
        if not may_request(submitted, g.user.role):
            abort(403)
        params, errors, values = parse_request(submitted, request.form)
        if not errors:
            try:
                rid = request_report(tenant, g.app, views, params, str(g.user.id), role=g.user.role,
                                     store=store, queue=queue)
            except UnknownBody:
                errors["body"] = "Det finns ingen sådan nämnd. Välj en nämnd i listan."
            except ReportRequestRefused:
                abort(403)
            except SERVICE_ERRORS:
                unavailable = UNAVAILABLE
            else:
                return redirect(url_for("ui.report", tenant=tenant, rid=rid) + g.moment.query(), code=303)
        status = 503 if unavailable else 400
    state = views.state(g.moment.as_of, g.moment.known_at)
    years = year_choices(state)
    body_names = {b["code"]: b["name"] for b in state["bodies"]}
    listed = [dict(m, title=report_title(m, body_names)) for m in recent_reports(store, tenant)
              if may_request(m.get("kind"), g.user.role)]
    return render_template(
        "ui/reports.html", kinds=kinds_for(g.user.role), formats=REPORT_FORMATS, format_labels=FORMAT_LABELS,
        period_labels=PERIOD_LABELS, years=years, default_year=default_year, bodies=discharge_bodies(state),
        explicit_as_of=explicit_as_of(), reports=listed, submitted=submitted, errors=errors, values=values,
        unavailable=unavailable, statuses=labels.REPORT_STATUSES, kind_labels=labels.REPORT_KINDS), status


def _visible_manifest(tenant: str, rid: str) -> dict:
    store, queue = _store_and_queue()
    manifest = report_status(store, queue, tenant, rid)
    if manifest is None:
        abort(404)
    if not may_request(manifest.get("kind"), g.user.role):
        abort(403)
    return manifest


@ui.route("/t/<tenant>/rapporter/<rid>")
def report(tenant: str, rid: str):
    views, redirect_to = load_tenant(tenant)
    if redirect_to:
        return redirect_to
    manifest = _visible_manifest(tenant, rid)
    position = manifest.get("based_on", {}).get("position")
    based_hash = manifest.get("based_on", {}).get("hash")
    if based_hash is None and position:
        entry = g.app.entry_at(position)
        based_hash = entry.hash if entry else None
    state = views.state(g.moment.as_of, g.moment.known_at)
    body_names = {b["code"]: b["name"] for b in state["bodies"]}
    return render_template(
        "ui/report.html", report=manifest, title=report_title(manifest, body_names), position=position,
        based_hash=based_hash, pending=manifest["status"] in PENDING, status_label=labels.REPORT_STATUSES.get(
            manifest["status"], manifest["status"]), format_label=FORMAT_LABELS.get(manifest.get("format"), ""),
        size=file_size(manifest.get("size")), period_labels=PERIOD_LABELS)


@ui.route("/t/<tenant>/rapporter/<rid>/fil")
def report_download(tenant: str, rid: str):
    _views, redirect_to = load_tenant(tenant)
    if redirect_to:
        return redirect_to
    _visible_manifest(tenant, rid)
    store, _ = _store_and_queue()
    try:
        found = report_file(store, tenant, rid)
    except ReportNotReady:
        return redirect(url_for("ui.report", tenant=tenant, rid=rid))
    except ArtifactMissing:
        abort(404)
    if found is None:
        abort(404)
    return artifact_response(*found)
