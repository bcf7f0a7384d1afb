"""Many tenants in the production shape: bounded PostgreSQL connections per process, verified and isolated ledgers.

The CI-sized cut of bench/tenants.py (same processes, same measuring code): gunicorn with two workers, the
projection runner and an RQ worker on a database of their own, with STYRKEDJA_POOL_SIZE=2, so that forty tenants
touched by every process would show at once any connection held per tenant instead of borrowed from the pool.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.tenants import (  # noqa: E402
    Client,
    ConnectionSampler,
    Fleet,
    claim_redis_db,
    fresh_database,
    record_events,
    touch_all,
    wait_for_runner,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

TENANTS = 40
EVENTS = 5
POOL_SIZE = 2
DATABASE = f"styrkedja_test_many_{os.getpid()}"  # concurrent runs on one machine keep apart
REDIS_BASE = os.environ.get("STYRKEDJA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15").rsplit("/", 1)[0]


@pytest.fixture(scope="module")
def many(pg_url):
    """Forty tenants created and written over HTTP; the peak connections per process while it happened."""
    import psycopg
    from redis import Redis

    try:
        Redis.from_url(f"{REDIS_BASE}/0", socket_connect_timeout=2).ping()
    except Exception as error:
        if os.environ.get("STYRKEDJA_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Redis is not reachable ({error})", pytrace=False)
        pytest.skip(f"Redis is not reachable ({error})")
    admin_url = pg_url.rsplit("/", 1)[0] + "/postgres"
    database_url = fresh_database(admin_url, DATABASE)
    redis_url, redis = claim_redis_db(REDIS_BASE)
    workdir = Path(tempfile.mkdtemp(prefix="styrkedja-many-"))
    fleet = Fleet(database_url, redis_url, POOL_SIZE, workdir)
    try:
        fleet.prepare()
        fleet.start_web(workers=2)
        fleet.start_runner()
        fleet.start_worker()
        sampler = ConnectionSampler(fleet, interval=0.1)  # RQ's work horses live for a second or so
        sampler.start()
        client = Client(fleet.base, fleet.admin_token)
        runs = [client.create_tenant(f"m{i:02d}", i) for i in range(TENANTS)]
        record_events(client, runs, EVENTS, clients=4, max_seconds=120)
        reports = [(r, client.expect(202, "POST", f"/api/v1/t/{r.slug}/reports", r.token, request)["id"])
                   for r in runs[:4] for request in ({"kind": "ledger_export", "format": "jsonl"},
                                                     {"kind": "annual", "year": 2024, "format": "html"})]
        caught_up = wait_for_runner(client, runs, deadline=time.monotonic() + 60)
        finished = [wait_for_report(client, r, rid) for r, rid in reports]
        verified = touch_all(client, runs, clients=4)
        # Both web workers serve every tenant at least once more while the sampler watches.
        touch_all(client, runs, clients=4)
        peak = sampler.stop()
        yield {"fleet": fleet, "client": client, "runs": runs, "verified": verified, "peak": peak,
               "caught_up": caught_up, "finished": finished}
    finally:
        fleet.close()
        redis.flushdb()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def wait_for_report(client: Client, run, rid: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = client.expect(200, "GET", f"/api/v1/t/{run.slug}/reports/{rid}", run.token)["status"]
        if status in ("finished", "failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def held_by(peak: dict, role: str) -> dict[int, int]:
    """pid -> the most connections the process held at once (pooled and LISTEN), for one kind of process."""
    return {pid: entry["pooled"] + entry["listen"] for pid, entry in peak.items() if entry["role"] == role}


def test_every_tenant_got_all_its_events_and_its_ledger_verifies(many):
    for run in many["runs"]:
        assert run.events == EVENTS, run.slug
        result = many["verified"][run.slug]
        assert result["head"] == run.expected_head, run.slug
        assert result["verify"]["ok"] is True, (run.slug, result)
        assert result["verify"]["checked"] == run.expected_head


def test_no_web_worker_holds_more_postgresql_connections_than_its_pool_across_forty_tenants(many):
    web = held_by(many["peak"], "web")
    assert len(web) == 2, many["peak"]  # both gunicorn workers were seen holding connections
    assert all(1 <= held <= POOL_SIZE for held in web.values()), web


def test_the_projection_runner_holds_its_pool_and_one_listen_connection_for_all_tenants(many):
    assert many["caught_up"] is not None, "the runner did not bring every tenant's read models up to date"
    [(pid, held)] = held_by(many["peak"], "runner").items()
    assert many["peak"][pid]["listen"] == 1, many["peak"][pid]
    assert 2 <= held <= POOL_SIZE + 1, many["peak"][pid]  # its pool, and the one connection that LISTENs


def test_an_rq_worker_building_reports_of_several_tenants_stays_within_its_pool(many):
    assert many["finished"] == ["finished"] * len(many["finished"])
    worker = held_by(many["peak"], "worker")
    assert worker, many["peak"]
    # A work horse lives about a second, often too short for two samples in a row: its raw count is used.
    seen = {pid: entry["seen"] for pid, entry in many["peak"].items() if entry["role"] == "worker"}
    assert all(1 <= held <= POOL_SIZE for held in seen.values()), seen


def test_a_token_of_one_tenant_is_answered_404_in_every_other_tenant_and_records_nothing(many):
    client, runs = many["client"], many["runs"]
    for i, run in enumerate(runs):
        other = runs[(i + 1) % len(runs)]
        status, body = client.call("GET", f"/api/v1/t/{other.slug}/ledger", run.token)
        assert status == 404, (run.slug, other.slug, body)
        status, _ = client.call("POST", f"/api/v1/t/{other.slug}/indicators", run.token,
                                {"code": "INTRANG", "name": "Intrång", "unit": "%", "direction": "increase"})
        assert status == 404
    for run in runs:
        head = client.expect(200, "GET", f"/api/v1/t/{run.slug}/ledger", run.token)["head_position"]
        assert head == run.expected_head, run.slug
