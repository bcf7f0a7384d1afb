"""Shared fixtures: real PostgreSQL and Redis on 127.0.0.1, SQLite in a temporary directory."""

from __future__ import annotations

import os
import secrets

import pytest

from domain.stores import StoreConfig

PG_ADMIN_URL = os.environ.get("STYRKEDJA_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# One database per test session, so concurrent runs on one machine cannot drop each other's schemas.
PG_TEST_DB = os.environ.get("STYRKEDJA_TEST_PG_DB", f"styrkedja_test_{os.getpid()}")
REDIS_TEST_URL = os.environ.get("STYRKEDJA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("STYRKEDJA_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, error: Exception):
    message = f"{what} is not reachable ({error})"
    if REQUIRE_SERVICES:
        pytest.fail(message + "; STYRKEDJA_REQUIRE_SERVICES=1 makes that a failure", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url():
    """A PostgreSQL database for this test session, created for it and dropped after it."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_TEST_DB,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{PG_TEST_DB}"')
    except Exception as error:  # any failure to connect means the service is not there
        _unavailable("PostgreSQL", error)
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_TEST_DB
    if "STYRKEDJA_TEST_PG_DB" not in os.environ:
        _drop_pools()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)')


def _drop_pools() -> None:
    """Close the process-wide pools before their database goes away."""
    from projections import pool

    for shared in list(pool._shared_pools.values()):
        shared.close()
    pool._shared_pools.clear()


@pytest.fixture
def clean_pg(pg_url: str) -> str:
    """The test database with no tenant schemas left from earlier tests."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        schemas = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%' OR nspname = 'platform'"
        ).fetchall()
        for (schema,) in schemas:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return pg_url


REDIS_CLAIMABLE_DBS = range(15, 0, -1)  # never 0, anyone's default
REDIS_CLAIM_KEY = "styrkedja-test:claimed-by"


@pytest.fixture
def redis_url():
    """An empty Redis database of the shared server, claimed for this test alone and flushed afterwards.

    Concurrent test runs on one machine (and their RQ workers, which would take each other's jobs from the
    `reports` queue) must not share a database. The claim is a key set with NX in an empty database.
    """
    import redis

    base = REDIS_TEST_URL.rsplit("/", 1)[0]
    try:
        redis.Redis.from_url(f"{base}/0", socket_connect_timeout=2).ping()
    except Exception as error:
        _unavailable("Redis", error)
    for db in REDIS_CLAIMABLE_DBS:
        client = redis.Redis.from_url(f"{base}/{db}")
        if client.set(REDIS_CLAIM_KEY, os.getpid(), nx=True, ex=900):
            if client.dbsize() == 1:
                break
            client.delete(REDIS_CLAIM_KEY)
    else:
        _unavailable("An empty Redis database", RuntimeError("all of 1..15 are in use"))
    yield f"{base}/{db}"
    client.flushdb()


@pytest.fixture(params=["sqlite", "postgres"])
def store_config(request, tmp_path) -> StoreConfig:
    """The same test on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        return StoreConfig(data_dir=tmp_path)
    return StoreConfig(data_dir=tmp_path, database_url=request.getfixturevalue("clean_pg"))


@pytest.fixture
def admin_token() -> str:
    return "test-admin-" + secrets.token_hex(8)
