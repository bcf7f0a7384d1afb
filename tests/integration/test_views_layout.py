"""The read models' table layout: stores of an earlier layout are rebuilt from the log, and catch-up reads what the
mapper reads, in one batch or in many."""

from __future__ import annotations

import contextlib
import datetime as dt
import json

from integration_support import run_scenario
from test_projection_runner import busy_tenant, snapshot

from domain.stores import schema_name
from projections import catchup
from projections.queries import TenantViews
from projections.tenants import Tenants
from projections.views import DEFERRED_INDEXES, INDEXES, VIEWS_VERSION, PostgresViews, ledger_rows, stored_row

# The tables of the first layout (before VIEWS_VERSION existed), as that version created them.
FIRST_LAYOUT = (
    "CREATE TABLE {s}facts (key TEXT NOT NULL, kind TEXT NOT NULL, mode TEXT NOT NULL, valid_from {date} NOT NULL, "
    "position {int} NOT NULL, recorded_at TEXT NOT NULL, value TEXT NOT NULL, retracted_by {int}, "
    "PRIMARY KEY (key, position))",
    "CREATE INDEX {x}facts_by_position ON {s}facts (position)",
    "CREATE TABLE {s}fact_keys (key TEXT PRIMARY KEY, kind TEXT NOT NULL, mode TEXT NOT NULL, "
    "in_state {bool} NOT NULL, first_position {int} NOT NULL)",
    "CREATE TABLE {s}timeline (position {int} PRIMARY KEY, type TEXT NOT NULL, body TEXT, concerns TEXT, "
    "subject TEXT, decided_on {date} NOT NULL, recorded_at TEXT NOT NULL, record TEXT NOT NULL, "
    "retraction_of {int}, retracted_by {int}, decided {bool} NOT NULL DEFAULT {false})",
)


def execute(config, slug: str, statements: list[tuple[str, tuple]]) -> None:
    """Run statements on the tenant's read-model store, as an earlier version of the code would have."""
    if config.is_postgres:
        import psycopg

        with psycopg.connect(config.database_url, autocommit=True) as conn:
            for sql, params in statements:
                conn.execute(sql, params)
    else:
        import sqlite3

        conn = sqlite3.connect(config.data_dir / f"{slug}.views.sqlite")
        with conn:
            for sql, params in statements:
                conn.execute(sql.replace("%s", "?"), params)
        conn.close()


def test_read_models_of_the_first_layout_are_dropped_and_rebuilt_from_the_log_when_opened(store_config):
    tenants = Tenants(store_config, inline_projections=False)
    try:
        app = busy_tenant(tenants, "gammal", "Gammalkommun", 0)
        views = tenants.views("gammal")
        views.catch_up()
        records = [entry.as_record() for entry in app.ledger_entries()]
        expected = snapshot(views, records)
        head, last, name = len(records), app.recorder.max_notification_id(), app.name
    finally:
        tenants.close()

    # What the first layout left behind: its tables, one wrong row, and tracking that says everything is applied.
    pg = store_config.is_postgres
    s = f'"{schema_name("gammal")}".' if pg else ""
    kinds = {"s": s, "x": "", "date": "date" if pg else "TEXT", "int": "bigint" if pg else "INTEGER",
             "bool": "boolean" if pg else "INTEGER", "false": "false" if pg else "0"}
    tracking = f"{s}{'styrkedja_views_tracking' if pg else 'tracking'}"
    execute(store_config, "gammal", [
        *[(f"DROP TABLE IF EXISTS {s}{table}", ()) for table in ("facts", "fact_keys", "timeline", "views_schema")],
        *[(statement.format(**kinds), ()) for statement in FIRST_LAYOUT],
        (f"INSERT INTO {s}timeline (position, type, decided_on, recorded_at, record) VALUES "
         "(1, 'BodyEstablished', '2020-01-01', '2020-01-01T00:00:00+00:00', %s)",
         (json.dumps({"position": 1, "type": "BodyEstablished", "data": {"code": "FEL"}}),)),
        (f"UPDATE {tracking} SET notification_id = %s WHERE application_name = %s",
         (last, name)),
    ])

    reopened = Tenants(store_config, inline_projections=False)
    try:
        views = reopened.views("gammal")
        assert views.tracked() == 0  # the old models are gone, so catch-up starts from the first entry
        assert views.catch_up() == head
        assert snapshot(views, records) == expected
        assert views.views.select("SELECT version FROM §.views_schema")[0]["version"] == VIEWS_VERSION
    finally:
        reopened.close()

    again = Tenants(store_config, inline_projections=False)
    try:  # opened once more at the current layout, nothing is dropped
        views = again.views("gammal")
        assert views.tracked() == last
        assert views.head() == head
    finally:
        again.close()


def test_catch_up_reads_from_the_stored_state_the_same_records_and_text_the_mapper_gives(store_config):
    tenants = Tenants(store_config, inline_projections=False)
    try:
        tenants.create("lasning", "Läsningskommun", "1234")
        app = tenants.get("lasning")
        run_scenario(app)
        notifications = [n for n in app.recorder.select_notifications(start=1, limit=1000)
                         if n.topic == catchup.LEDGER_TOPIC]
        through_mapper = ledger_rows(app.mapper.to_domain_event(n) for n in notifications)
        direct = [stored_row(n.state) for n in notifications]
        assert direct == through_mapper
        assert [record for record, _ in direct] == [entry.as_record() for entry in app.ledger_entries()]
        assert all(json.loads(text) == record for record, text in direct)
    finally:
        tenants.close()


def test_far_behind_catch_up_in_large_read_ahead_batches_builds_the_same_models_as_small_batches(
        store_config, monkeypatch):
    tenants = Tenants(store_config, inline_projections=False)
    try:
        app = busy_tenant(tenants, "stor", "Storkommun", 700)
        records = [entry.as_record() for entry in app.ledger_entries()]
        views = tenants.views("stor")
        # Small batches all the way, one transaction each.
        monkeypatch.setattr(catchup, "FAR_BEHIND_BATCH", 7)
        monkeypatch.setattr(catchup, "TAIL_BATCH", 7)
        assert views.catch_up() == len(records)
        small = snapshot(views, records)
        views.views.clear()
        # The first batch, then everything else read ahead in one large batch.
        monkeypatch.setattr(catchup, "TAIL_BATCH", 50)
        monkeypatch.setattr(catchup, "FAR_BEHIND_BATCH", 100_000)
        assert views.catch_up() == len(records)
        assert snapshot(views, records) == small
        assert views.tracked() == app.recorder.max_notification_id()
        assert views.state(dt.date(2024, 6, 30))["position"] == len(records)
    finally:
        tenants.close()


def index_names(views) -> set[str]:
    if isinstance(views.views, PostgresViews):
        rows = views.views.select("SELECT indexname AS name FROM pg_indexes WHERE schemaname = %s",
                                  (views.views.datastore.schema,))
    else:
        rows = views.views.select("SELECT name FROM sqlite_master WHERE type = 'index'")
    return {row["name"] for row in rows}


class Killed(BaseException):
    """Stands for a kill -9: nothing after it runs, not even the catch-up's finally."""


def test_a_bulk_catch_up_cut_short_answers_correctly_meanwhile_and_the_next_opening_restores_its_indexes(
        store_config, monkeypatch):
    tenants = Tenants(store_config, inline_projections=False)
    try:
        app = busy_tenant(tenants, "bulk", "Bulkkommun", 700)
        records = [entry.as_record() for entry in app.ledger_entries()]
        monkeypatch.setattr(catchup, "TAIL_BATCH", 50)
        monkeypatch.setattr(catchup, "FAR_BEHIND_BATCH", 100)
        views = tenants.views("bulk")
        # Row by row, all indexes kept up: what a bulk catch-up must give.
        monkeypatch.setattr(catchup, "BULK_MIN", 10**9)
        assert views.catch_up() == len(records)
        expected = snapshot(views, records)
        views.views.clear()

        monkeypatch.setattr(catchup, "BULK_MIN", 100)
        writer = views.views
        applied = []
        apply = writer.apply

        def apply_then_die(rows, tracking):
            if len(applied) == 4:
                raise Killed
            apply(rows, tracking)
            applied.append(tracking.notification_id)

        monkeypatch.setattr(writer, "apply", apply_then_die)
        monkeypatch.setattr(writer, "ensure_indexes", lambda: None)  # a killed process builds nothing
        with contextlib.suppress(Killed):
            views.catch_up()
        monkeypatch.undo()
        monkeypatch.setattr(catchup, "TAIL_BATCH", 50)
        monkeypatch.setattr(catchup, "FAR_BEHIND_BATCH", 100)
        assert 0 < views.tracked() == applied[-1] < len(records)
        assert not index_names(views) & set(DEFERRED_INDEXES)
        # Queries meanwhile: the same answers as with every index (only slower).
        partial = snapshot(views, records)

        reopened = TenantViews(app)  # the next start: opening the read models builds the missing indexes
        assert set(INDEXES) <= index_names(reopened)
        assert snapshot(reopened, records) == partial
        assert reopened.catch_up() > 0
        assert reopened.tracked() == app.recorder.max_notification_id()
        assert snapshot(reopened, records) == expected
        assert set(INDEXES) <= index_names(reopened)
        reopened.views.datastore.close()
    finally:
        tenants.close()
