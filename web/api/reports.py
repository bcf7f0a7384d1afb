"""Reports: request one (202), follow its progress, download the artifact."""

from __future__ import annotations

import datetime as dt

from flask import current_app, g, send_file, url_for

from web.api.base import Blueprint
from web.api.schemas import ReportAcceptedSchema, ReportRequestSchema, ReportStatusSchema
from web.auth import READ
from web.errors import ApiError
from web.tenancy import tenant_app
from workers.artifacts import MEDIA_TYPES, report_id

blp = Blueprint("reports", __name__, url_prefix="/api/v1/t/<tenant>", description="Reports")

AUDIT_REPORT_ROLES = ("auditor", "admin")
PERIOD_ENDS = {"T1": (4, 30), "T2": (8, 31)}


def default_as_of(kind: str, year: int | None, period: str | None) -> dt.date:
    """Reports on a period look at its end; the discharge basis and the export at today."""
    today = dt.date.today()
    if kind == "interim" and year:
        month, day = PERIOD_ENDS[period or "T1"]
        return min(today, dt.date(year, month, day))
    if kind == "annual" and year:
        return min(today, dt.date(year, 12, 31))
    return today


def _store_and_queue():
    reports = current_app.extensions["styrkedja_reports"]
    return reports["store"], reports["queue"]


@blp.route("/reports", methods=["POST"])
@blp.arguments(ReportRequestSchema)
@blp.response(202, ReportAcceptedSchema)
@blp.doc(summary="Request a report built on the ledger as it stands (or as of as_of / known_at)")
def request_report(data: dict, tenant: str):
    app = tenant_app(tenant, READ)
    if data["kind"] == "discharge_basis" and g.principal.user.role not in AUDIT_REPORT_ROLES:
        raise ApiError(403, "forbidden", "The ansvarsprövningsunderlag is for auditors and administrators.")
    tenants = current_app.extensions["styrkedja"]
    if data["body"] is not None and not app.exists("body", data["body"]):
        raise ApiError(422, "unknown_reference", f"There is no body {data['body']}.")
    if data["known_at"] is not None:
        views = tenants.views(tenant)
        views.catch_up()
        position = views.position_at(data["known_at"])
    else:
        position = app.ledger_head()[0]
    as_of = data["as_of"] or default_as_of(data["kind"], data["year"], data["period"])
    params = {"kind": data["kind"], "fmt": data["format"], "year": data["year"], "body": data["body"],
              "period": data["period"] if data["kind"] == "interim" else None, "as_of": as_of.isoformat(),
              "known_at": data["known_at"].isoformat() if data["known_at"] else None, "position": position}
    rid = report_id(tenant, params)
    store, queue = _store_and_queue()
    existing = store.manifest(tenant, rid)
    if existing is None or existing.get("status") == "failed":
        store.save_manifest(tenant, rid, {"id": rid, "status": "queued", "progress": 0, "kind": data["kind"],
                                          "format": data["format"], "as_of": params["as_of"],
                                          "known_at": params["known_at"], "based_on": {"position": position},
                                          "requested_by": g.principal.id})
        try:
            queue.enqueue(tenant, rid, **params)
        except Exception:
            store.remove_manifest(tenant, rid)  # nothing half-written: no job, no manifest
            raise
    return {"id": rid, "status_url": url_for("reports.report_status", tenant=tenant, rid=rid)}, 202


@blp.route("/reports/<rid>", methods=["GET"])
@blp.response(200, ReportStatusSchema)
@blp.doc(summary="A report's status and progress, and where to download it when finished")
def report_status(tenant: str, rid: str):
    tenant_app(tenant, READ)
    store, queue = _store_and_queue()
    manifest = store.manifest(tenant, rid)
    if manifest is None:
        raise ApiError(404, "not_found", "No such report.")
    if manifest["status"] in ("queued", "started"):
        status, error = queue.job_status(tenant, rid)
        if status == "failed":
            manifest = {**manifest, "status": "failed", "error": error or "the job failed"}
    if manifest["status"] == "finished":
        manifest["file_url"] = url_for("reports.report_file", tenant=tenant, rid=rid)
    return manifest


@blp.route("/reports/<rid>/file", methods=["GET"])
@blp.doc(summary="The report's artifact", responses={"200": {"description": "The file"}})
def report_file(tenant: str, rid: str):
    tenant_app(tenant, READ)
    store, _ = _store_and_queue()
    manifest = store.manifest(tenant, rid)
    if manifest is None:
        raise ApiError(404, "not_found", "No such report.")
    if manifest["status"] != "finished":
        raise ApiError(409, "report_not_ready", f"The report is {manifest['status']}.")
    path = store.file_path(tenant, rid, manifest["format"])
    name = f"{tenant}-{manifest['kind']}-{manifest['based_on']['position']}.{path.suffix.lstrip('.')}"
    response = send_file(path, mimetype=MEDIA_TYPES[manifest["format"]], as_attachment=True, download_name=name,
                         etag=manifest.get("sha256"), max_age=0)
    response.headers["X-Content-SHA256"] = manifest.get("sha256", "")
    return response
