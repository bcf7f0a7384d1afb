"""Where each tenant's events live: its own SQLite file or PostgreSQL schema, sharing one pool per process."""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")


def check_slug(slug: str) -> str:
    """A slug becomes a schema and file name: lowercase letters, digits and '-', 2 to 40 characters."""
    if not isinstance(slug, str) or len(slug) < 2 or not SLUG_PATTERN.match(slug):
        raise ValueError("slug must be 2 to 40 lowercase letters, digits or '-', not starting or ending with '-'")
    return slug


def schema_name(slug: str) -> str:
    return "t_" + check_slug(slug).replace("-", "_")


def app_name(slug: str) -> str:
    # The application name prefixes table names and so the NOTIFY channel: unique per tenant.
    return "gov_" + check_slug(slug).replace("-", "_")


@dataclass(frozen=True)
class StoreConfig:
    """The configured event store: SQLite files under a data directory, or one PostgreSQL database."""

    data_dir: Path
    database_url: str | None = None
    pool_size: int = 5

    @classmethod
    def from_environ(cls, environ=os.environ) -> StoreConfig:
        return cls(
            data_dir=Path(environ.get("STYRKEDJA_DATA_DIR", "./var")).resolve(),
            database_url=environ.get("DATABASE_URL") or None,
            pool_size=int(environ.get("STYRKEDJA_POOL_SIZE", "5")),
        )

    @property
    def is_postgres(self) -> bool:
        return bool(self.database_url)

    def env_for(self, schema: str, sqlite_file: str, create_table: bool) -> dict[str, str]:
        """A complete env for one application: nothing is left to os.environ's defaults."""
        env = {"CREATE_TABLE": "y" if create_table else "n", "AGGREGATE_CACHE_MAXSIZE": "1000"}
        if self.is_postgres:
            url = urlparse(self.database_url)
            env.update(
                PERSISTENCE_MODULE="eventsourcing.postgres",
                POSTGRES_DBNAME=(url.path or "/postgres").lstrip("/") or "postgres",
                POSTGRES_HOST=url.hostname or "127.0.0.1",
                POSTGRES_PORT=str(url.port or 5432),
                POSTGRES_USER=unquote(url.username or "postgres"),
                POSTGRES_PASSWORD=unquote(url.password or ""),
                POSTGRES_SCHEMA=schema,
                POSTGRES_POOL_SIZE="1",
                POSTGRES_MAX_OVERFLOW="0",
                POSTGRES_CONNECT_TIMEOUT="5",
                POSTGRES_PRE_PING="y",
            )
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            env.update(
                PERSISTENCE_MODULE="eventsourcing.sqlite",
                SQLITE_DBNAME=str(self.data_dir / sqlite_file),
                SQLITE_LOCK_TIMEOUT="10",
            )
        return env


class _SharedPool:
    """Stands in for a datastore's own pool so that every tenant borrows from one process-wide pool."""

    def __init__(self, pool, datastore) -> None:
        self._pool = pool
        self._datastore = datastore

    def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        self._pool.open(wait, timeout)

    @contextmanager
    def connection(self, *args, **kwargs):
        with self._pool.connection(*args, **kwargs) as conn:
            # Every schema has its own composite type "stored_event_uuid", but psycopg builds one
            # Python class per type name, so the dumper registered last on a connection wins.
            # Re-register this schema's types whenever the connection last served another schema.
            schema = self._datastore.schema
            if getattr(conn, "_styrkedja_schema", None) != schema:
                from psycopg.types.composite import register_composite

                for info in self._datastore.psycopg_type_adapters.values():
                    register_composite(info, conn)
                conn._styrkedja_schema = schema
            yield conn

    def close(self, *args, **kwargs) -> None:
        """Tenants come and go; the shared pool stays until the process ends."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


_shared_pools: dict[tuple, object] = {}
_shared_lock = threading.Lock()


def share_pool(factory, config: StoreConfig) -> None:
    """Point a PostgreSQL factory's datastore at the process-wide pool for its database."""
    datastore = getattr(factory, "datastore", None)
    if datastore is None or not config.is_postgres:
        return
    from eventsourcing.postgres import ConnectionPool, PostgresDatastore

    key = (config.database_url, config.pool_size)
    with _shared_lock:
        pool = _shared_pools.get(key)
        if pool is None:
            model: PostgresDatastore = datastore
            own = model.pool
            pool = ConnectionPool(
                get_password_func=None,
                connection_class=own.connection_class,
                kwargs=own.kwargs,
                min_size=1,
                max_size=config.pool_size,
                open=False,
                configure=model.after_connect_func(),
                timeout=5.0,
                max_waiting=0,
                max_lifetime=3600.0,
                check=ConnectionPool.check_connection,
            )
            _shared_pools[key] = pool
    datastore.pool.close()
    datastore.pool = _SharedPool(pool, datastore)


def shared_pool_stats() -> list[dict]:
    """Connections held by this process's shared pools (for the operations figures)."""
    return [pool.get_stats() for pool in _shared_pools.values()]
