"""The process's tenants: provisioning a municipality's store, and a bounded cache of open applications."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections import OrderedDict

from domain.application import Governance
from domain.errors import AlreadyExistsError
from domain.platform import Platform, Tenant
from domain.stores import StoreConfig, check_slug, schema_name
from projections.pool import connection, share_pool
from projections.queries import TenantViews, open_views

# Sweden has 290 municipalities; an open tenant costs about 55 KiB in a web process (docs/operations.md),
# so a cache that holds them all is cheap, and one that does not reopens a tenant on every request.
DEFAULT_CACHE_SIZE = 1024


def cache_size_from_environ() -> int:
    text = os.environ.get("STYRKEDJA_TENANT_CACHE", "").strip()
    if not text:
        return DEFAULT_CACHE_SIZE
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"STYRKEDJA_TENANT_CACHE must be a positive whole number, not {text!r}.")
    return int(text)


class Tenants:
    """Opens each tenant's application lazily; hundreds of tenants share one connection pool."""

    def __init__(self, config: StoreConfig, cache_size: int | None = None,
                 inline_projections: bool | None = None) -> None:
        # Every tenant's datastore borrows from one pool per process.
        config = dataclasses.replace(config, factory_hook=share_pool)
        self.config = config
        self.cache_size = cache_size_from_environ() if cache_size is None else cache_size
        # Embedded default: the read models are brought up to date in-process (SQLite has no
        # subscriptions). On PostgreSQL the projection runner does it, woken by NOTIFY.
        self.inline_projections = (not config.is_postgres) if inline_projections is None else inline_projections
        self._apps: OrderedDict[str, Governance] = OrderedDict()
        self._views: dict[str, TenantViews] = {}
        self._lock = threading.Lock()
        if config.is_postgres:
            create_schema(config, "platform")
        self.platform = _open_platform(config)

    def create(self, slug: str, name: str, municipality_code: str, settings: dict | None = None) -> Tenant:
        """Provision the store, record the founding bodies, then list the tenant (safe to rerun after a crash)."""
        check_slug(slug)
        if self.platform.find_tenant(slug) is not None:
            raise AlreadyExistsError(f"The tenant {slug} already exists.", "slug")
        if self.config.is_postgres:
            create_schema(self.config, schema_name(slug))
        app = Governance(slug, self.config, settings, create_table=True)
        try:
            app.provision()
            open_views(app, create_table=True)
        finally:
            app.close()
        return self.platform.create_tenant(slug, name, municipality_code, settings)

    def get(self, slug: str) -> Governance | None:
        with self._lock:
            app = self._apps.get(slug)
            if app is not None:
                self._apps.move_to_end(slug)
                return app
        tenant = self.platform.find_tenant(slug)
        if tenant is None:
            return None
        app = Governance(slug, self.config, tenant.settings)
        with self._lock:
            existing = self._apps.get(slug)
            if existing is not None:
                app.close()
                return existing
            self._apps[slug] = app
            while len(self._apps) > self.cache_size:
                evicted_slug, evicted = self._apps.popitem(last=False)
                views = self._views.pop(evicted_slug, None)
                if views is not None:
                    views.views.datastore.close()
                evicted.close()
        return app

    def views(self, slug: str) -> TenantViews | None:
        """The tenant's read side (opened with its application)."""
        app = self.get(slug)
        if app is None:
            return None
        with self._lock:
            views = self._views.get(slug)
            if views is None:
                views = self._views[slug] = TenantViews(app, open_views(app, create_table=True))
        return views

    def open_count(self) -> int:
        return len(self._apps)

    def close(self) -> None:
        with self._lock:
            for app in self._apps.values():
                app.close()
            self._apps.clear()
        self.platform.close()


def _open_platform(config: StoreConfig, attempts: int = 5) -> Platform:
    """The platform registry, its tables made if missing.

    Processes started together (gunicorn's workers, RQ workers, the runner) all run the library's
    CREATE ... IF NOT EXISTS / CREATE OR REPLACE at once, and PostgreSQL refuses the losers with
    "tuple concurrently updated"; once the winner is done the statements are no-ops, so try again.
    """
    from eventsourcing.persistence import InternalError

    for attempt in range(1, attempts):
        try:
            return Platform(config, create_table=True)
        except InternalError:
            time.sleep(0.2 * attempt)
    return Platform(config, create_table=True)


def create_schema(config: StoreConfig, schema: str) -> None:
    """The library never creates schemas; provisioning does, before any table is made (on a pooled connection)."""
    from psycopg import sql

    with connection(config) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
