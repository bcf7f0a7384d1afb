"""One PostgreSQL connection pool per process, borrowed by every tenant's datastore."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from urllib.parse import unquote, urlparse

from domain.stores import StoreConfig


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
            types = self._datastore.psycopg_type_adapters
            if not types:
                # A datastore without its types yet (read models, or one creating its tables, which
                # registers types on this connection itself): what is registered is unknown afterwards.
                conn._styrkedja_schema = None
            elif getattr(conn, "_styrkedja_schema", None) != schema:
                from psycopg.types.composite import register_composite

                for info in types.values():
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


def shared_pool(config: StoreConfig):
    """The process-wide pool for the configured database, created on first use."""
    from eventsourcing.postgres import ConnectionPool
    from psycopg import Connection
    from psycopg.rows import dict_row

    key = (config.database_url, config.pool_size)
    with _shared_lock:
        pool = _shared_pools.get(key)
        if pool is None:
            url = urlparse(config.database_url)

            def configure(conn) -> None:
                conn.autocommit = True  # as the library's own pools do

            pool = ConnectionPool(
                connection_class=Connection,
                kwargs={"dbname": (url.path or "/postgres").lstrip("/") or "postgres",
                        "host": url.hostname or "127.0.0.1", "port": url.port or 5432,
                        "user": unquote(url.username or "postgres"), "password": unquote(url.password or ""),
                        "row_factory": dict_row, "connect_timeout": 5},
                min_size=1, max_size=config.pool_size, open=False, configure=configure, timeout=5.0,
                # No check on every checkout (a round trip each time): a broken connection fails the
                # command, which is answered 503 and retried by the client; the pool replaces it.
                max_waiting=0, max_lifetime=3600.0, max_idle=600.0,
            )
            _shared_pools[key] = pool
    return pool


@contextmanager
def connection(config: StoreConfig):
    """A connection borrowed from the shared pool, for provisioning and listening alike."""
    pool = shared_pool(config)
    pool.open(wait=True, timeout=5.0)
    with pool.connection() as conn:
        conn._styrkedja_schema = None  # whatever types were registered, a datastore re-registers its own
        yield conn


def share_pool(factory, config: StoreConfig) -> None:
    """Point a PostgreSQL factory's datastore at the process-wide pool for its database."""
    datastore = getattr(factory, "datastore", None)
    if datastore is None or not config.is_postgres:
        return
    datastore.pool.close()
    datastore.pool = _SharedPool(shared_pool(config), datastore)


def shared_pool_stats() -> list[dict]:
    """Connections held by this process's shared pools (for the operations figures)."""
    return [pool.get_stats() for pool in _shared_pools.values()]
