"""One PostgreSQL connection pool per process, borrowed by every tenant's datastore."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from contextvars import ContextVar
from urllib.parse import unquote, urlparse

from domain.stores import StoreConfig

_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE, without importing the driver where SQLite is used
# A connection held for a whole command (one_connection): (the pool it came from, the connection).
_held: ContextVar[tuple | None] = ContextVar("styrkedja_held_connection", default=None)


class DatabaseUnavailable(ConnectionError):
    """PostgreSQL gave no connection within the pool's timeout: down, or every connection busy.

    Deliberately not a driver error: the library retries those ten times, each waiting the full pool
    timeout again, so a command would hang for most of a minute before its 503.
    """


@contextmanager
def _borrowed(pool):
    """A connection of the pool for the block, as `pool.connection()` but failing fast as DatabaseUnavailable."""
    from psycopg_pool import PoolClosed, PoolTimeout

    try:
        conn = pool.getconn()
    except (PoolTimeout, PoolClosed) as error:
        raise DatabaseUnavailable(f"The database gave no connection: {error}") from error
    try:
        with conn:  # commit or roll back as pool.connection() does; the pool replaces a broken connection
            yield conn
    finally:
        pool.putconn(conn)


class _SharedPool:
    """Stands in for a datastore's own pool so that every tenant borrows from one process-wide pool."""

    def __init__(self, pool, datastore) -> None:
        self._pool = pool
        self._datastore = datastore

    def open(self, wait: bool = False, timeout: float = 30.0) -> None:
        opened(self._pool)  # never wait here: see opened()

    @contextmanager
    def connection(self, *args, **kwargs):
        held = _held.get()
        # Only an idle connection is shared: a query inside an open transaction (or a failed one) keeps
        # the behaviour it always had, a connection of its own.
        if held is not None and held[0] is self._pool and not held[1].broken \
                and held[1].info.transaction_status == _IDLE:
            yield self._for_schema(held[1])
            return
        with _borrowed(self._pool) as conn:
            yield self._for_schema(conn)

    def _for_schema(self, conn):
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
        return conn

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


def opened(pool):
    """The pool, open. Never open(wait=True): psycopg_pool's wait() asserts when two threads wait at once,
    and when it times out (database down) it closes the pool for good, which cannot be reopened. Without
    the wait, the pool connects in the background and each checkout waits up to its timeout."""
    pool.open()
    return pool


@contextmanager
def connection(config: StoreConfig):
    """A connection borrowed from the shared pool, for provisioning and listening alike."""
    pool = opened(shared_pool(config))
    with _borrowed(pool) as conn:
        conn._styrkedja_schema = None  # whatever types were registered, a datastore re-registers its own
        yield conn


@contextmanager
def one_connection(config: StoreConfig):
    """Serve every query of a block (one command) from a single checkout of the shared pool.

    Outside PostgreSQL, or for applications with pools of their own, it does nothing. A connection
    that breaks meanwhile is not reused: the library's retry then takes a fresh one from the pool.
    """
    if not config.is_postgres or config.factory_hook is not share_pool or _held.get() is not None:
        yield
        return
    pool = opened(shared_pool(config))
    with _borrowed(pool) as conn:
        token = _held.set((pool, conn))
        try:
            yield
        finally:
            _held.reset(token)


def share_pool(factory, config: StoreConfig) -> None:
    """Point a PostgreSQL factory's datastore at the process-wide pool for its database, and have it
    record with TenantRecorder (the same rows, less CPU per save)."""
    datastore = getattr(factory, "datastore", None)
    if datastore is None or not config.is_postgres:
        return
    from eventsourcing.utils import get_topic

    from projections.recorder import TenantRecorder

    datastore.pool.close()
    datastore.pool = _SharedPool(shared_pool(config), datastore)
    factory.env.setdefault(factory.APPLICATION_RECORDER_TOPIC, get_topic(TenantRecorder))


def shared_pool_stats() -> list[dict]:
    """Connections held by this process's shared pools (for the operations figures)."""
    return [pool.get_stats() for pool in _shared_pools.values()]
