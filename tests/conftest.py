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


@pytest.fixture
def redis_url() -> str:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
        client.ping()
        client.flushdb()
    except Exception as error:
        _unavailable("Redis", error)
    return REDIS_TEST_URL


@pytest.fixture(params=["sqlite", "postgres"])
def store_config(request, tmp_path) -> StoreConfig:
    """The same test on the embedded default and on PostgreSQL."""
    if request.param == "sqlite":
        return StoreConfig(data_dir=tmp_path)
    return StoreConfig(data_dir=tmp_path, database_url=request.getfixturevalue("clean_pg"))


@pytest.fixture
def admin_token() -> str:
    return "test-admin-" + secrets.token_hex(8)
