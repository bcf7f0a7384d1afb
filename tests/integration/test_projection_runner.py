"""The projection runner: a rebuild is identical, a killed runner applies nothing twice, and NOTIFY wakes it."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from integration_support import AUTUMN, by, run_scenario

from domain.stores import StoreConfig, schema_name
from domain.terms import Term
from projections.facts import facts_of
from projections.pool import _shared_pools as shared_pools
from projections.runner import rebuild
from projections.tenants import Tenants
from projections.views import INDEXES

STYRKEDJA = Path(sys.executable).with_name("styrkedja")
BULK = 3000


def out_of_order(app) -> None:
    """A few decisions registered after later ones, and a second retraction, on top of the scenario."""
    app.fix_goal_target("IM1", "BEHORIGHET", 2024, Decimal(95),
                        by("KF", dt.date(2024, 2, 12), "§31", effective_from=dt.date(2024, 3, 1)))
    late = app.fix_goal_target("IM1", "BEHORIGHET", 2024, Decimal(93), by("KF", dt.date(2024, 1, 15), "§12"))
    app.fix_goal_target("IM1", "BEHORIGHET", 2025, Decimal(94), by("KF", dt.date(2023, 11, 27), "§90"))
    app.adjust_frame("BUN", 2024, 2_000_000, "Lönerevision", by("KF", dt.date(2024, 4, 22), "§50"))
    app.retract(late["event_id"], "Fel år.")


def record_in_bulk(app, count: int, per_command: int = 100) -> None:
    """Many entries through the application's own recording path: each command opens 100 terms."""
    for start in range(0, count, per_command):
        codes = [f"BULK-{n}" for n in range(start, min(count, start + per_command))]
        app.execute(lambda codes=codes: [Term(app.id_for("term", code), code, 2023, 2026) for code in codes])


def busy_tenant(tenants: Tenants, slug: str, name: str, bulk: int):
    """A tenant with the scenario, `bulk` entries recorded in bulk, and the out-of-order decisions on top."""
    tenants.create(slug, name, "1234")
    app = tenants.get(slug)
    run_scenario(app)
    record_in_bulk(app, bulk)
    out_of_order(app)
    return app


POINTS = [("2023-11-19", None), ("2024-01-20", None), ("2024-03-15", None), ("2024-06-30", None),
          ("2025-06-30", None), ("2024-03-15", 0.3), ("2024-06-30", 0.6), ("2025-06-30", 0.9)]


def snapshot(views, records: list[dict]) -> dict:
    """Everything the read side answers, at several (as_of, known_at) points, and its raw rows."""
    head = len(records)
    states = []
    for as_of, share in POINTS:
        known_at = None
        if share is not None:
            known_at = dt.datetime.fromisoformat(records[max(2, int(head * share)) - 1]["recorded_at"])
        states.append(views.state(dt.date.fromisoformat(as_of), known_at))
    timeline, cursor = views.timeline(limit=head + 10)
    assert cursor is None
    return {
        "states": states,
        "timeline": timeline,
        "diff": views.diff(dt.date(2023, 1, 1), dt.date(2025, 6, 30)),
        "facts": [dict(row) for row in views.views.select(
            "SELECT key, kind, mode, valid_from, position, recorded_at, value, retracted_by FROM §.facts "
            "ORDER BY key, position")],
        "fact_keys": [dict(row) for row in views.views.select("SELECT * FROM §.fact_keys ORDER BY key")],
        "timeline_rows": [dict(row) for row in views.views.select(
            "SELECT position, type, body, concerns, subject, decided_on, recorded_at, retraction_of, retracted_by "
            "FROM §.timeline ORDER BY position")],
    }


def test_a_rebuild_drops_and_builds_read_models_identical_to_those_kept_up_incrementally(store_config):
    tenants = Tenants(store_config, inline_projections=False)
    try:
        app = busy_tenant(tenants, "bygge", "Byggkommun", 300)
        views = tenants.views("bygge")
        assert views.catch_up(limit_batches=1) < app.ledger_head()[0]  # caught up in several goes
        views.catch_up()
        records = [entry.as_record() for entry in app.ledger_entries()]
        before = snapshot(views, records)
        assert len(before["timeline"]) == len(records) == views.head()

        assert rebuild(tenants, "bygge") == len(records)

        after = snapshot(views, records)
        assert after == before
        assert views.tracked() == app.recorder.max_notification_id()
    finally:
        tenants.close()


def test_a_command_after_a_read_model_query_on_the_same_pooled_connection_is_recorded(clean_pg, tmp_path):
    # One connection in the pool makes the order of use certain; with more it happens now and then.
    config = StoreConfig(data_dir=tmp_path, database_url=clean_pg, pool_size=1)
    tenants = Tenants(config)
    try:
        tenants.create("poolkommun", "Poolkommun", "1234")
        app = tenants.get("poolkommun")
        app.open_term("MP1", 2023, 2026)
        views = tenants.views("poolkommun")
        tenants.platform.find_tenant("poolkommun")  # a request authenticates its caller
        views.head()  # and reads the read models
        answer = app.open_term("MP2", 2023, 2026)  # the next command on the same connection
        assert answer["position"] == 4
    finally:
        tenants.close()
        # The process keeps its shared pools; this one is the test's own, so it does not outlive the test.
        own_pool = shared_pools.pop((config.database_url, config.pool_size), None)
        if own_pool is not None:
            own_pool.close()


# --- the runner as its own process on PostgreSQL ------------------------------------------------------


@pytest.fixture
def runners(tmp_path):
    """Start `styrkedja projections run` processes; each is stopped by its own pid at the end."""
    started: list[subprocess.Popen] = []

    def start(config: StoreConfig) -> subprocess.Popen:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STYRKEDJA_DATA_DIR")}
        env.update(DATABASE_URL=config.database_url, STYRKEDJA_DATA_DIR=str(config.data_dir))
        assert STYRKEDJA.exists(), "run .venv/bin/pip install -e '.[dev]' to get the styrkedja command"
        log = open(tmp_path / f"runner-{len(started)}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen([str(STYRKEDJA), "projections", "run"], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        log.close()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def count(conn, slug: str, sql: str):
    return conn.execute(sql.format(s=f'"{schema_name(slug)}"')).fetchone()[0]


def wait_until(condition, timeout: float, what: str, step: float = 0.01):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def test_a_runner_killed_mid_catch_up_and_restarted_projects_every_position_exactly_once(
        clean_pg, tmp_path, runners):
    slug = "kraschkommun"
    config = StoreConfig(data_dir=tmp_path, database_url=clean_pg)
    tenants = Tenants(config)
    try:
        tenants.create(slug, "Kraschkommun", "1234")
        app = tenants.get(slug)
        run_scenario(app)
        record_in_bulk(app, BULK)
        out_of_order(app)
        records = [entry.as_record() for entry in app.ledger_entries()]
        head = len(records)
        assert head == records[-1]["position"] > BULK

        with psycopg.connect(clean_pg, autocommit=True) as conn:
            projected = "SELECT count(*) FROM {s}.timeline"
            first = runners(config)
            wait_until(lambda: count(conn, slug, projected) > 0, 60, "the first batch")
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
            killed_at = count(conn, slug, projected)
            assert 0 < killed_at < head, f"not killed mid catch-up: {killed_at} of {head}"

            second = runners(config)
            wait_until(lambda: count(conn, slug, projected) >= head, 60, "the restarted runner to catch up", 0.05)
            time.sleep(0.3)
            second.send_signal(signal.SIGINT)
            assert second.wait(10) == 0

            assert conn.execute(f'SELECT position, count(*) FROM "{schema_name(slug)}".timeline '
                                "GROUP BY position HAVING count(*) > 1").fetchall() == []
            assert conn.execute(f'SELECT key, position, count(*) FROM "{schema_name(slug)}".facts '
                                "GROUP BY key, position HAVING count(*) > 1").fetchall() == []
            assert count(conn, slug, projected) == head
            assert count(conn, slug, "SELECT count(DISTINCT position) FROM {s}.timeline") == head
            assert count(conn, slug, "SELECT max(position) FROM {s}.timeline") == head
            assert count(conn, slug, "SELECT count(*) FROM {s}.facts") == sum(len(facts_of(r)) for r in records)
            # Killed in a bulk catch-up (its indexes dropped), restarted: every index is there again.
            assert set(INDEXES) <= {row[0] for row in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema_name(slug),))}

        views = tenants.views(slug)
        assert views.tracked() == app.recorder.max_notification_id()
        incremental = snapshot(views, records)
        assert rebuild(tenants, slug) == head
        assert snapshot(views, records) == incremental
    finally:
        tenants.close()


def test_the_runner_wakes_on_notify_and_projects_a_new_command_within_a_second(clean_pg, tmp_path, runners):
    slug = "vakenkommun"
    config = StoreConfig(data_dir=tmp_path, database_url=clean_pg)
    tenants = Tenants(config)
    try:
        tenants.create(slug, "Vakenkommun", "1234")
        app = tenants.get(slug)
        app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", AUTUMN))
        with psycopg.connect(clean_pg, autocommit=True) as conn:
            def projected() -> int:
                return count(conn, slug, "SELECT coalesce(max(position), 0) FROM {s}.timeline")

            runners(config)
            wait_until(lambda: projected() == app.ledger_head()[0], 30, "the first sweep", 0.05)
            time.sleep(0.5)  # the runner LISTENs once its first sweep is done
            # It sweeps only every 5 s: three commands in a row each seen within a second means NOTIFY woke it.
            for n in range(3):
                answer = app.open_term(f"MP{n}", 2023, 2026)
                recorded = time.monotonic()
                wait_until(lambda answer=answer: projected() >= answer["position"], 1.0,
                           f"position {answer['position']}")
                assert time.monotonic() - recorded < 1.0
                time.sleep(0.3)
        views = tenants.views(slug)
        assert [t["code"] for t in views.state(dt.date(2024, 1, 1))["terms"]] == ["MP0", "MP1", "MP2"]
    finally:
        tenants.close()
