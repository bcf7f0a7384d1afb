"""The tenant recorder on PostgreSQL writes the rows the library's own recorder writes, and refuses the same."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from domain.stores import StoreConfig, app_name, schema_name
from projections.recorder import MAX_ROWS, TenantRecorder
from projections.tenants import Tenants

pytestmark = pytest.mark.usefixtures("clean_pg")


@pytest.fixture
def app(clean_pg, tmp_path):
    tenants = Tenants(StoreConfig(data_dir=tmp_path, database_url=clean_pg))
    tenants.create("radkommun", "Radkommun", "1234")
    yield tenants.get("radkommun")
    tenants.close()


def events(count: int, version: int = 1) -> list[StoredEvent]:
    first = uuid.uuid4()
    return [StoredEvent(first if n == 0 else uuid.uuid4(), version, "domain.terms:Indicator.Defined",
                        b'{"code": "N%d", "bytes": "\\x00\\xff"}' % n) for n in range(count)]


def stored_rows(url: str, count: int) -> list[tuple]:
    table = f'"{schema_name("radkommun")}"."{app_name("radkommun").lower()}_events"'
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT originator_id, originator_version, topic, state, notification_id FROM {table}"
                            f" ORDER BY notification_id DESC LIMIT {count}").fetchall()[::-1]


def test_tenant_applications_on_postgresql_record_with_the_tenant_recorder(app):
    assert type(app.recorder) is TenantRecorder


@pytest.mark.parametrize("count", [1, 2, MAX_ROWS, MAX_ROWS + 1, 300])
def test_a_save_of_any_size_stores_each_event_once_in_order_and_returns_its_notification_ids(app, clean_pg, count):
    saved = events(count)

    ids = app.recorder.insert_events(saved)

    rows = stored_rows(clean_pg, count)
    assert [(r[0], r[1], r[2], bytes(r[3])) for r in rows] == \
        [(e.originator_id, e.originator_version, e.topic, e.state) for e in saved]
    assert ids == [r[4] for r in rows] == sorted(ids)


def test_the_rows_are_those_the_library_recorder_writes(app, clean_pg):
    library = PostgresApplicationRecorder(app.recorder.datastore, events_table_name=app.recorder.events_table_name)
    ours, theirs = events(3), events(3)

    app.recorder.insert_events(ours)
    library.insert_events(theirs)

    rows = stored_rows(clean_pg, 6)
    assert [bytes(r[3]) for r in rows[:3]] == [bytes(r[3]) for r in rows[3:]]
    assert [r[2] for r in rows[:3]] == [r[2] for r in rows[3:]]
    assert app.recorder.select_events(ours[1].originator_id)[0].state == ours[1].state


def test_a_save_that_repeats_a_stored_version_is_refused_and_stores_nothing(app, clean_pg):
    first = events(2)
    app.recorder.insert_events(first)
    head = app.recorder.max_notification_id()

    with pytest.raises(IntegrityError):
        app.recorder.insert_events([*events(2), first[1]])

    assert stored_rows(clean_pg, 1)[0][4] == head
    assert app.recorder.select_events(first[1].originator_id)[0].state == first[1].state
