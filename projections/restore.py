"""`styrkedja restore`: a tenant back from its ledger export into an empty store, listed only once whole."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.application import Governance
from domain.platform import Tenant
from domain.restore import RestoreRefusedError, read_verified_export, rebuilt_events
from domain.stores import check_slug, schema_name
from projections.queries import TenantViews, open_views
from projections.tenants import Tenants, create_schema


@dataclass(frozen=True)
class Restored:
    tenant: Tenant
    head_position: int
    head_hash: str
    projected: int
    resumed: bool


def restore(tenants: Tenants, lines: Iterable[str], slug: str | None = None, name: str | None = None,
            municipality_code: str | None = None, settings: dict | None = None) -> Restored:
    """Verify the export, write its events in one transaction, catch the read models up, then list the tenant.

    Nothing is written when the export does not verify or the tenant is listed already. The tenant is
    listed in the platform directory last, so a crash at any point leaves no tenant that looks whole;
    running the restore again finishes one whose events were written but that was never listed.
    """
    export = read_verified_export(lines)
    header = export.header
    if header.get("tenant") and slug and slug != header["tenant"]:
        raise RestoreRefusedError(f"The export is of {header['tenant']}; its event ids and hashes name it, "
                                  f"so it cannot become {slug}.")
    slug = check_slug(header.get("tenant") or slug or export.tenant or "")
    name = name or header.get("name")
    municipality_code = municipality_code or header.get("municipality_code")
    settings = {**(header.get("settings") or {}), **(settings or {})}
    if not name or not municipality_code:
        raise RestoreRefusedError("The export's header names no municipality; give its name and municipality code.")
    if tenants.platform.find_tenant(slug) is not None:
        raise RestoreRefusedError(f"The tenant {slug} exists already; restore only into an empty store.")
    if tenants.config.is_postgres:
        create_schema(tenants.config, schema_name(slug))
    app = Governance(slug, tenants.config, settings, create_table=True)
    try:
        resumed = _write(app, export)
        views = TenantViews(app, open_views(app, create_table=True))
        try:
            if not resumed:
                views.views.clear()  # read models left by an earlier store of this name describe another log
            projected = views.catch_up()
        finally:
            views.views.datastore.close()
        head_position, head_hash, _ = app.ledger_head()
    finally:
        app.close()
    tenant = tenants.platform.create_tenant(slug, name, municipality_code, settings)
    return Restored(tenant, head_position, head_hash, projected, resumed)


def _write(app: Governance, export) -> bool:
    """Write every event in one transaction; True when an earlier, interrupted restore had written them all."""
    if app.recorder.max_notification_id():
        head_position, head_hash, _ = app.ledger_head()
        if (head_position, head_hash) == (export.header["head_position"], export.header["head_hash"]) \
                and app.verify_ledger().ok:
            return True
        raise RestoreRefusedError(
            f"The store of {app.tenant} already holds events but the tenant is not listed (left by an earlier "
            "tenant or a failed creation); remove its "
            + ("schema " + app.env["POSTGRES_SCHEMA"] if app.config.is_postgres else f"file {app.env['SQLITE_DBNAME']}")
            + " first.")
    events = rebuilt_events(app, export)
    if events:
        app.save(*events)
    return False
