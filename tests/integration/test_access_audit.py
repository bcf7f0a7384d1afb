"""The access audit trail's store: append-only, per tenant, newest first, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from projections.access_audit import AccessAudit, AccessEvent
from projections.pool import connection


def event(tenant: str | None, kind: str = "sign_in", outcome: str = "success", minute: int = 0) -> AccessEvent:
    return AccessEvent(at=dt.datetime(2026, 12, 6, 12, minute, tzinfo=dt.timezone(dt.timedelta(hours=1))),
                       tenant=tenant, user_id="u-1", kind=kind, outcome=outcome, ip="192.0.2.1",
                       user_agent="x" * 1000)


def test_rows_come_back_per_tenant_newest_first_in_utc_a_page_at_a_time(store_config):
    audit = AccessAudit(store_config)
    for minute in range(5):
        audit.append(event("kommun", minute=minute))
    audit.append(event("grannkommun", kind="token_use"))
    audit.append(event(None, outcome="failure"))
    page = audit.page("kommun", limit=3)
    assert [e.at.minute for e in page] == [4, 3, 2]
    assert all(e.at.utcoffset() == dt.timedelta(0) and e.at.hour == 11 for e in page)
    assert len(page[0].user_agent) == 300
    rest = audit.page("kommun", before=page[-1].id, limit=3)
    assert [e.at.minute for e in rest] == [1, 0]
    assert [e.kind for e in AccessAudit(store_config).page("grannkommun")] == ["token_use"]


OLD_LAYOUT = ("id {id}, at {at} NOT NULL, tenant TEXT, user_id TEXT, kind TEXT NOT NULL, outcome TEXT NOT NULL, "
              "ip TEXT, user_agent TEXT")


def test_a_trail_written_before_actor_id_existed_gets_the_column_and_keeps_its_rows(store_config):
    # The first release had no actor_id: an upgraded installation opens its trail, reads the old rows (no actor),
    # and records who acted from then on.
    if store_config.is_postgres:
        with connection(store_config) as conn:
            conn.execute("CREATE SCHEMA IF NOT EXISTS platform")
            conn.execute("CREATE TABLE platform.access_log (" + OLD_LAYOUT.format(id="BIGSERIAL PRIMARY KEY",
                                                                                    at="TIMESTAMPTZ") + ")")
            conn.execute("INSERT INTO platform.access_log (at, tenant, user_id, kind, outcome) "
                         "VALUES (now(), 'kommun', 'u-0', 'sign_in', 'success')")
    else:
        store_config.data_dir.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(store_config.data_dir / "access-log.sqlite") as conn:
            conn.execute("CREATE TABLE access_log (" + OLD_LAYOUT.format(id="INTEGER PRIMARY KEY AUTOINCREMENT",
                                                                           at="TEXT") + ")")
            conn.execute("INSERT INTO access_log (at, tenant, user_id, kind, outcome) "
                         "VALUES ('2026-01-01T00:00:00+00:00', 'kommun', 'u-0', 'sign_in', 'success')")
    audit = AccessAudit(store_config)
    audit.append(AccessEvent(at=dt.datetime.now(dt.UTC), tenant="kommun", user_id="u-1", kind="user_deactivated",
                             outcome="success", ip=None, user_agent=None, actor_id="admin-1"))
    assert [(e.kind, e.user_id, e.actor_id) for e in audit.page("kommun")] == [
        ("user_deactivated", "u-1", "admin-1"), ("sign_in", "u-0", None)]


def test_an_unknown_kind_is_refused_and_nothing_is_written(store_config):
    audit = AccessAudit(store_config)
    with pytest.raises(ValueError, match="unknown access event"):
        audit.append(event("kommun", kind="coffee_break"))
    assert audit.page("kommun") == []


def test_the_database_refuses_to_change_or_delete_a_row(store_config):
    audit = AccessAudit(store_config)
    audit.append(event("kommun"))
    if store_config.is_postgres:
        import psycopg

        for statement in ("UPDATE platform.access_log SET outcome = 'failure'", "DELETE FROM platform.access_log"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"), connection(store_config) as conn:
                conn.execute(statement)
    else:
        conn = sqlite3.connect(store_config.data_dir / "access-log.sqlite")
        for statement in ("UPDATE access_log SET outcome = 'failure'", "DELETE FROM access_log"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
        conn.close()
    assert [e.outcome for e in audit.page("kommun")] == ["success"]


def test_the_command_line_rotates_and_revokes_a_token_and_keeps_both_in_the_trail(tmp_path, monkeypatch, capsys):
    from domain.stores import StoreConfig
    from projections.tenants import Tenants
    from web.cli import main

    config = StoreConfig(data_dir=tmp_path)
    tenants = Tenants(config)
    tenants.create("kommun", "Kommunen", "1487")
    user, old = tenants.platform.add_user("kommun", "a@kommun.se", "A", "viewer", [])
    tenants.close()
    monkeypatch.setenv("STYRKEDJA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["users", "token", "--tenant", "kommun", "--email", "a@kommun.se"]) == 0
    new = capsys.readouterr().out.strip()
    fresh = Tenants(config)
    assert fresh.platform.authenticate(old) is None
    assert fresh.platform.authenticate(new).id == user.id
    assert main(["users", "token", "--tenant", "kommun", "--email", "a@kommun.se", "--revoke"]) == 0
    fresh.platform.forget_tokens()
    assert fresh.platform.authenticate(new) is None
    fresh.close()
    assert [(e.kind, e.user_id) for e in AccessAudit(config).page("kommun")] == [
        ("token_revoked", str(user.id)), ("token_rotated", str(user.id))]
