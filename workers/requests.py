"""Requesting and following a report: one rule for the API and the browser alike.

Who may request which kind, which ledger position a request builds on, which as_of it takes by
default, and how the manifest and the job are written (both or neither) live here, so that
web/api/reports.py and web/ui/reports.py cannot drift apart.
"""

from __future__ import annotations

import datetime as dt

from domain.ledger import GENESIS_HASH
from workers.artifacts import EXTENSIONS, report_id
from workers.storage import ArtifactStorage, StoredFile

AUDIT_REPORT_ROLES = ("auditor", "admin")


class ReportRequestRefused(Exception):
    """A request that is not queued; nothing was written."""

    code = "refused"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ReportForbidden(ReportRequestRefused):
    code = "forbidden"


class UnknownBody(ReportRequestRefused):
    code = "unknown_reference"


class ReportNotReady(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(f"The report is {status}.")
        self.status = status


def may_request(kind: str, role: str | None) -> bool:
    """The ansvarsprövningsunderlag is for auditors and administrators; every other kind for every member."""
    return kind != "discharge_basis" or role in AUDIT_REPORT_ROLES


def request_report(tenant: str, app, views, params: dict, principal_id: str, *, role: str | None,
                   store: ArtifactStorage, queue) -> str:
    """Queue a report (or find the same one already requested) and answer its id.

    `params` holds kind, format, year, body, period, as_of (date or None) and known_at (aware datetime
    or None), already checked for shape. The report builds on the ledger head, or on the last position
    recorded by known_at. Raises ReportForbidden or UnknownBody before anything is written; when the
    queue cannot take the job (Redis down) its error propagates and no manifest is left behind.
    """
    kind = params["kind"]
    if not may_request(kind, role):
        raise ReportForbidden("The ansvarsprövningsunderlag is for auditors and administrators.")
    body = params.get("body")
    if body is not None and not app.exists("body", body):
        raise UnknownBody(f"There is no body {body}.", "body")
    known_at = params.get("known_at")
    if known_at is not None:
        views.catch_up()
        position = views.position_at(known_at)
        entry = app.entry_at(position) if position else None
        head_hash = entry.hash if entry is not None else GENESIS_HASH
    else:
        position, head_hash, _ = app.ledger_head()
    year, period = params.get("year"), params.get("period")
    # Today by default, for every kind: a period's figures are reported after it ends (a delårsrapport in May or
    # September, the årsredovisning in spring), so a report as of its last day showed the month before. An interim
    # or annual report still reads the frames as decided by the period's end (workers/content.py).
    as_of = params.get("as_of") or dt.date.today()
    job = {"kind": kind, "fmt": params["format"], "year": year, "body": body,
           "period": period if kind == "interim" else None, "as_of": as_of.isoformat(),
           "known_at": known_at.isoformat() if known_at else None, "position": position}
    rid = report_id(tenant, job)
    existing = store.manifest(tenant, rid)
    if existing is None or existing.get("status") == "failed" or lost(store, tenant, rid, existing):
        store.save_manifest(tenant, rid, {
            "id": rid, "status": "queued", "progress": 0, "kind": kind, "format": params["format"],
            "year": year, "body": body, "period": job["period"], "as_of": job["as_of"],
            "known_at": job["known_at"], "based_on": {"position": position, "hash": head_hash},
            "requested_by": principal_id,
            "requested_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
        try:
            queue.enqueue(tenant, rid, **job)
        except Exception:
            store.remove_manifest(tenant, rid)  # nothing half-written: no job, no manifest
            raise
    return rid


def lost(store: ArtifactStorage, tenant: str, rid: str, manifest: dict) -> bool:
    """A finished report whose file is gone from the store (deleted, a bucket emptied) is built again."""
    return manifest.get("status") == "finished" and not store.has_file(tenant, rid, manifest["format"])


def report_status(store: ArtifactStorage, queue, tenant: str, rid: str) -> dict | None:
    """The manifest, marked failed when the queue knows its job died without saying so; None if unknown."""
    manifest = store.manifest(tenant, rid)
    if manifest is None:
        return None
    if manifest["status"] in ("queued", "started"):
        status, error = queue.job_status(tenant, rid)
        if status == "failed":
            manifest = {**manifest, "status": "failed", "error": error or "the job failed"}
    return manifest


def report_file(store: ArtifactStorage, tenant: str, rid: str) -> tuple[StoredFile, str, dict] | None:
    """The finished artifact, opened, and its download name; None if unknown, ReportNotReady if not finished.

    ArtifactMissing when the manifest says finished but the store has no file; StoreUnavailable when the store
    cannot be reached. The caller closes the StoredFile (streaming the response does).
    """
    manifest = store.manifest(tenant, rid)
    if manifest is None:
        return None
    if manifest["status"] != "finished":
        raise ReportNotReady(manifest["status"])
    stored = store.open_file(tenant, rid, manifest["format"])
    return stored, download_name(tenant, manifest), manifest


def download_name(tenant: str, manifest: dict) -> str:
    """The name a report is saved under: what it covers and its position, so that the discharge bases of two
    bodies or years (built on the same position) are not saved over each other."""
    covers = [manifest.get(key) for key in ("body", "year", "period")]
    stem = "-".join(str(part) for part in (tenant, manifest["kind"], *covers, manifest["based_on"]["position"])
                    if part is not None)
    return f"{stem}.{EXTENSIONS[manifest['format']]}"


def recent_reports(store: ArtifactStorage, tenant: str, limit: int = 25) -> list[dict]:
    """This tenant's reports, newest request first (by requested_at, else by the manifest's last change)."""
    found = []
    for rid, manifest, changed in store.list_manifests(tenant):
        if "kind" not in manifest:
            continue
        found.append({**manifest, "id": rid,
                      "requested_at": manifest.get("requested_at") or changed.isoformat(timespec="seconds")})
    found.sort(key=lambda m: (m["requested_at"], m["id"]), reverse=True)
    return found[:limit]
