"""Tampering with the stored ledger rows (edit, delete, swap) is found and its position named, also by the CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from integration_support import AUTUMN, by

from domain.application import Governance
from domain.ledger import FORMAT
from domain.stores import StoreConfig, app_name, schema_name
from projections.tenants import Tenants

SLUG = "tamperkommun"
FRAME_POSITION = 10
STYRKEDJA = Path(sys.executable).with_name("styrkedja")


def record_ten(app: Governance) -> None:
    """Eleven entries: KF and KS (provisioning), then nine decisions; position 10 sets a frame."""
    app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", AUTUMN))
    app.establish_body("BUF", "Barn- och utbildningsförvaltningen", "administration", by("KF", AUTUMN),
                       parent="BUN")
    app.add_area("BUN", "GRUNDSKOLA", "Grundskola", by("BUN", AUTUMN))
    app.add_area("BUN", "FORSKOLA", "Förskola", by("BUN", AUTUMN))
    app.open_term("MP2023", 2023, 2026)
    app.define_indicator("BEHORIGHET", "Behörighet till gymnasiet", "percent", "increase")
    app.draft_plan("MRP2024", 2024)
    app.set_frame("MRP2024", "BUN", 2024, 100_000_000, [], by("KF", AUTUMN))
    app.adopt_plan("MRP2024", by("KF", AUTUMN))
    assert app.ledger_head()[0] == 11
    assert app.entry_at(FRAME_POSITION).as_record()["type"] == "FrameSet"


class LedgerRows:
    """Direct access to a tenant's stored ledger rows, as someone with database rights would have it."""

    def __init__(self, config: StoreConfig, app: Governance) -> None:
        self.config = config
        self.ledger_id = app.ledger_id

    def _sqlite(self):
        return closing(sqlite3.connect(self.config.data_dir / f"{SLUG}.sqlite"))

    def _table(self) -> str:
        if self.config.is_postgres:
            return f'"{schema_name(SLUG)}"."{app_name(SLUG)}_events"'
        # The library's SQLite recorder names its table stored_events: one file per tenant keeps them apart.
        with self._sqlite() as db:
            tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert "stored_events" in tables, tables
        return "stored_events"

    def _run(self, statement: str, *params) -> list[tuple]:
        if self.config.is_postgres:
            statement = statement.replace("?", "%s")
            with psycopg.connect(self.config.database_url) as db:
                cursor = db.execute(statement, params)
                return cursor.fetchall() if cursor.description else []
        with self._sqlite() as db, db:
            return db.execute(statement, params).fetchall()

    def _id(self):
        return self.ledger_id if self.config.is_postgres else self.ledger_id.hex

    def state(self, position: int) -> bytes:
        rows = self._run(f"SELECT state FROM {self._table()} WHERE originator_id = ? AND originator_version = ?",
                         self._id(), position)
        assert len(rows) == 1
        return bytes(rows[0][0])

    def set_state(self, position: int, state: bytes) -> None:
        self._run(f"UPDATE {self._table()} SET state = ? WHERE originator_id = ? AND originator_version = ?",
                  state, self._id(), position)
        assert self.state(position) == state

    def delete(self, position: int) -> None:
        where = "WHERE originator_id = ? AND originator_version = ?"
        self._run(f"DELETE FROM {self._table()} {where}", self._id(), position)
        assert self._run(f"SELECT count(*) FROM {self._table()} {where}", self._id(), position)[0][0] == 0


@pytest.fixture
def tampered_store(store_config):
    """A tenant with eleven entries on the parametrized store, and raw access to its ledger rows."""
    tenants = Tenants(store_config)
    tenants.create(SLUG, "Tamperkommun", "1234")
    app = tenants.get(SLUG)
    record_ten(app)
    assert app.verify_ledger().ok
    yield app, LedgerRows(store_config, app)
    tenants.close()


def test_an_edited_amount_in_one_entry_is_found_at_that_position(tampered_store):
    app, rows = tampered_store
    original = rows.state(FRAME_POSITION)
    assert original.count(b'\\"amount_sek\\":100000000') == 1

    rows.set_state(FRAME_POSITION, original.replace(b'\\"amount_sek\\":100000000', b'\\"amount_sek\\":900000000'))

    result = app.verify_ledger()
    assert (result.ok, result.first_bad_position, result.checked) == (False, FRAME_POSITION, FRAME_POSITION - 1)
    assert result.reason == "the hash does not match the content"


def test_a_deleted_entry_is_found_at_its_position(tampered_store):
    app, rows = tampered_store

    rows.delete(6)

    result = app.verify_ledger()
    assert (result.ok, result.first_bad_position, result.checked) == (False, 6, 5)


def test_two_swapped_entries_are_found_at_the_first_of_them(tampered_store):
    app, rows = tampered_store
    fourth, eighth = rows.state(4), rows.state(8)

    rows.set_state(4, eighth)
    rows.set_state(8, fourth)

    result = app.verify_ledger()
    assert (result.ok, result.first_bad_position, result.checked) == (False, 4, 3)


def test_an_entry_that_no_longer_decodes_is_found_at_its_position(tampered_store):
    app, rows = tampered_store

    rows.set_state(7, b"{not json")

    result = app.verify_ledger()
    assert (result.ok, result.first_bad_position) == (False, 7)


def cli(config: StoreConfig, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STYRKEDJA_DATA_DIR")}
    env["STYRKEDJA_DATA_DIR"] = str(config.data_dir)
    if config.is_postgres:
        env["DATABASE_URL"] = config.database_url
    assert STYRKEDJA.exists(), "run .venv/bin/pip install -e '.[dev]' to get the styrkedja command"
    return subprocess.run([str(STYRKEDJA), *args], env=env, capture_output=True, text=True, timeout=60)


def test_the_cli_verifies_an_untouched_tenant_and_exits_zero(tampered_store, store_config):
    done = cli(store_config, "ledger", "verify", "--tenant", SLUG)

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"ok": True, "checked": 11, "first_bad_position": None, "reason": None}


def test_the_cli_exits_one_and_names_the_position_of_an_edited_entry(tampered_store, store_config):
    _, rows = tampered_store
    original = rows.state(FRAME_POSITION)
    rows.set_state(FRAME_POSITION, original.replace(b"100000000", b"900000000", 1))

    done = cli(store_config, "ledger", "verify", "--tenant", SLUG)

    assert done.returncode == 1, done.stderr
    assert f"position {FRAME_POSITION}" in done.stderr
    assert json.loads(done.stdout)["first_bad_position"] == FRAME_POSITION


def export(app: Governance, path: Path) -> Path:
    head_position, head_hash, _ = app.ledger_head()
    header = {"format": FORMAT, "tenant": app.tenant, "exported_at": dt.datetime.now(dt.UTC).isoformat(),
              "head_position": head_position, "head_hash": head_hash}
    lines = [json.dumps(header, ensure_ascii=False)]
    lines += [json.dumps(entry.as_record(), ensure_ascii=False) for entry in app.ledger_entries()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_cli_accepts_an_untouched_export_file(tampered_store, store_config, tmp_path):
    app, _ = tampered_store
    exported = export(app, tmp_path / "export.jsonl")

    done = cli(store_config, "ledger", "verify", "--file", str(exported))

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["checked"] == 11


def test_the_cli_refuses_an_edited_export_file_and_names_the_position(tampered_store, store_config, tmp_path):
    app, _ = tampered_store
    exported = export(app, tmp_path / "export.jsonl")
    lines = exported.read_text(encoding="utf-8").splitlines()
    edited = json.loads(lines[FRAME_POSITION])
    edited["data"]["amount_sek"] = 900_000_000
    lines[FRAME_POSITION] = json.dumps(edited, ensure_ascii=False)
    exported.write_text("\n".join(lines) + "\n", encoding="utf-8")

    done = cli(store_config, "ledger", "verify", "--file", str(exported))

    assert done.returncode == 1
    assert f"position {FRAME_POSITION}" in done.stderr
