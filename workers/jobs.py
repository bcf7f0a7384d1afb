"""The report job: a plain function given ids and a ledger position, run by RQ or in-process alike."""

from __future__ import annotations

import datetime as dt
import logging
import os

from domain.stores import StoreConfig
from projections.export import export_lines
from workers.storage import STORE_VARIABLE, ArtifactStorage, StoreUnavailable, artifact_store_from

log = logging.getLogger(__name__)

_tenants = None
_store: ArtifactStorage | None = None


def tenants():
    """This process's tenant registry, built from the environment on first use (after any fork)."""
    global _tenants
    if _tenants is None:
        from projections.tenants import Tenants

        _tenants = Tenants(StoreConfig.from_environ())
    return _tenants


def use_tenants(registry) -> None:
    """In-process jobs share the web process's registry instead of opening another."""
    global _tenants, _store
    _tenants = registry
    _store = None  # built again for the registry's data directory unless the web hands over its own


def artifact_store() -> ArtifactStorage:
    """This process's artifact store: the data directory, or the object storage STYRKEDJA_ARTIFACT_STORE names."""
    global _store
    if _store is None:
        _store = artifact_store_from(tenants().config.data_dir, os.environ.get(STORE_VARIABLE))
    return _store


def use_artifact_store(store: ArtifactStorage) -> None:
    """In-process jobs write where the web process reads, whatever its configuration came from."""
    global _store
    _store = store


def _progress(store: ArtifactStorage, tenant: str, rid: str, progress: int, status: str = "started") -> None:
    store.update(tenant, rid, status=status, progress=progress)
    try:
        from rq import get_current_job

        job = get_current_job()
    except ImportError:  # pragma: no cover - rq is a dependency
        job = None
    if job is not None:
        job.meta["progress"] = progress
        job.save_meta()


def build_report(tenant: str, rid: str, kind: str, fmt: str, year: int | None, body: str | None,
                 period: str | None, as_of: str, known_at: str | None, position: int) -> dict:
    """Build one report from the read models at `position` and store it with its sha256.

    Idempotent: the artifact's path and bytes depend only on the arguments, so a retry after a crash
    writes the same single file.
    """
    store = artifact_store()
    try:
        _progress(store, tenant, rid, 5)
        app = tenants().get(tenant)
        if app is None:
            raise ValueError(f"no tenant {tenant}")
        entry = app.entry_at(position) if position else None
        head_hash = entry.hash if entry else "0" * 64
        generated_at = entry.as_record()["recorded_at"] if entry else "1970-01-01T00:00:00+00:00"
        if kind == "ledger_export":
            moment = dt.datetime.fromisoformat(generated_at)
            data = "".join(line + "\n" for line in export_lines(app, upto=position, exported_at=moment)).encode()
        else:
            from workers.content import collect
            from workers.render import render

            views = tenants().views(tenant)
            views.catch_up()
            _progress(store, tenant, rid, 30)
            document = collect(
                views, kind, year=year, body=body, period=period, as_of=dt.date.fromisoformat(as_of),
                known_at=dt.datetime.fromisoformat(known_at) if known_at else None, upto=position,
                head_hash=head_hash, generated_at=generated_at,
                tenant_name=getattr(tenants().platform.find_tenant(tenant), "name", None))
            _progress(store, tenant, rid, 60)
            data = render(document, fmt)
        _progress(store, tenant, rid, 90)
        digest = store.write_file(tenant, rid, fmt, data)
        return store.update(tenant, rid, status="finished", progress=100, sha256=digest, size=len(data),
                            based_on={"position": position, "hash": head_hash}, error=None)
    except Exception as error:
        log.exception("report %s of %s failed", rid, tenant)
        retrying = _retries_left() > 0
        try:
            store.update(tenant, rid, status="queued" if retrying else "failed",
                         error=f"{type(error).__name__}: {error}" + (" (will be retried)" if retrying else ""))
        except StoreUnavailable:
            # The store itself is down: RQ still knows the job failed, retries it, and the web reads its status.
            log.warning("report %s of %s: the manifest could not be updated either", rid, tenant)
        raise


def _retries_left() -> int:
    try:
        from rq import get_current_job
    except ImportError:  # pragma: no cover
        return 0
    job = get_current_job()
    return (job.retries_left or 0) if job is not None else 0
