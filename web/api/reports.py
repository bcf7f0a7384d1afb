"""Reports: request one (202), follow its progress, download the artifact."""

from __future__ import annotations

from flask import current_app, g, request, url_for

from web.api.base import Blueprint
from web.api.schemas import ReportAcceptedSchema, ReportRequestSchema, ReportStatusSchema
from web.artifact_download import artifact_response
from web.auth import READ
from web.errors import ApiError
from web.tenancy import tenant_app
from workers.artifacts import MEDIA_TYPES
from workers.requests import (
    AUDIT_REPORT_ROLES,
    ReportNotReady,
    ReportRequestRefused,
    may_request,
)
from workers.requests import report_file as find_report_file
from workers.requests import report_status as find_report_status
from workers.requests import request_report as queue_report
from workers.storage import ArtifactMissing

blp = Blueprint("reports", __name__, url_prefix="/api/v1/t/<tenant>", description="Reports")


@blp.before_request
def authorise():
    """The caller before the query: no token is 401 and a foreign tenant 404, whatever else the request says."""
    if request.view_args and "tenant" in request.view_args:
        tenant_app(request.view_args["tenant"], READ)


__all__ = ["AUDIT_REPORT_ROLES", "blp"]

REFUSED_STATUS = {"forbidden": 403, "unknown_reference": 422}


def _check_may_read(manifest: dict) -> None:
    """Who may not request a kind may not read it either: report ids can be worked out."""
    if not may_request(manifest.get("kind", ""), g.principal.user.role):
        raise ApiError(403, "forbidden", "The ansvarsprövningsunderlag is for auditors and administrators.")


def _store_and_queue():
    reports = current_app.extensions["styrkedja_reports"]
    return reports["store"], reports["queue"]


@blp.route("/reports", methods=["POST"])
@blp.arguments(ReportRequestSchema)
@blp.response(202, ReportAcceptedSchema)
@blp.errors(401, 403, 404, 422, 503)
@blp.doc(summary="Request a report built on the ledger as it stands (or as of as_of / known_at)")
def request_report(data: dict, tenant: str):
    app = tenant_app(tenant, READ)
    store, queue = _store_and_queue()
    views = current_app.extensions["styrkedja"].views(tenant) if data["known_at"] is not None else None
    try:
        rid = queue_report(tenant, app, views, data, g.principal.id, role=g.principal.user.role, store=store,
                           queue=queue)
    except ReportRequestRefused as refused:
        raise ApiError(REFUSED_STATUS.get(refused.code, 422), refused.code, refused.message) from None
    return {"id": rid, "status_url": url_for("reports.report_status", tenant=tenant, rid=rid)}, 202


@blp.route("/reports/<rid>", methods=["GET"])
@blp.response(200, ReportStatusSchema)
@blp.errors(401, 403, 404, 503)
@blp.doc(summary="A report's status and progress, and where to download it when finished")
def report_status(tenant: str, rid: str):
    tenant_app(tenant, READ)
    store, queue = _store_and_queue()
    manifest = find_report_status(store, queue, tenant, rid)
    if manifest is None:
        raise ApiError(404, "not_found", "No such report.")
    _check_may_read(manifest)
    if manifest["status"] == "finished":
        manifest["file_url"] = url_for("reports.report_file", tenant=tenant, rid=rid)
    return manifest


@blp.route("/reports/<rid>/file", methods=["GET"])
@blp.doc(summary="The report's artifact", responses={"200": {"description": "The file", "content": {
    media_type: {"schema": {"type": "string", "format": "binary"}}
    for media_type in sorted(set(MEDIA_TYPES.values()))}}})
@blp.errors(401, 403, 404, 409, 503)
def report_file(tenant: str, rid: str):
    tenant_app(tenant, READ)
    store, _ = _store_and_queue()
    manifest = store.manifest(tenant, rid)
    if manifest is not None:
        _check_may_read(manifest)
    try:
        found = find_report_file(store, tenant, rid)
    except ReportNotReady as not_ready:
        raise ApiError(409, "report_not_ready", f"The report is {not_ready.status}.") from None
    except ArtifactMissing:
        raise ApiError(404, "not_found", "The report's file is missing from the artifact store; "
                                         "request the report again to build it anew.") from None
    if found is None:
        raise ApiError(404, "not_found", "No such report.")
    return artifact_response(*found)
