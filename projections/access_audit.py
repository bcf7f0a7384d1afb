"""The access audit trail: sign-ins and token use per tenant, append-only and apart from the decision ledger."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass

from domain.stores import StoreConfig
from projections.pool import connection

KINDS = ("sign_in", "token_use", "token_failure", "token_issued", "token_rotated", "token_revoked", "password_set",
         "user_deactivated", "user_reactivated")
OUTCOMES = ("success", "failure", "rate_limited")

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS access_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    tenant TEXT,
    user_id TEXT,
    kind TEXT NOT NULL,
    outcome TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    actor_id TEXT
);
CREATE INDEX IF NOT EXISTS access_log_by_tenant ON access_log (tenant, id);
CREATE TRIGGER IF NOT EXISTS access_log_no_update BEFORE UPDATE ON access_log
    BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS access_log_no_delete BEFORE DELETE ON access_log
    BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END;
"""

_POSTGRES_SCHEMA = [
    "CREATE SCHEMA IF NOT EXISTS platform",
    """CREATE TABLE IF NOT EXISTS platform.access_log (
        id BIGSERIAL PRIMARY KEY,
        at TIMESTAMPTZ NOT NULL,
        tenant TEXT,
        user_id TEXT,
        kind TEXT NOT NULL,
        outcome TEXT NOT NULL,
        ip TEXT,
        user_agent TEXT)""",
    # Who did it, when someone else than the user did (an administrator); added after the first release.
    "ALTER TABLE platform.access_log ADD COLUMN IF NOT EXISTS actor_id TEXT",
    "CREATE INDEX IF NOT EXISTS access_log_by_tenant ON platform.access_log (tenant, id)",
    """CREATE OR REPLACE FUNCTION platform.access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
       $$ BEGIN RAISE EXCEPTION 'the access log is append-only'; END $$""",
    "DROP TRIGGER IF EXISTS access_log_append_only ON platform.access_log",
    """CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON platform.access_log
       FOR EACH ROW EXECUTE FUNCTION platform.access_log_append_only()""",
]

# User agents are the caller's text: kept, but bounded.
MAX_AGENT = 300


@dataclass(frozen=True)
class AccessEvent:
    at: dt.datetime
    tenant: str | None
    user_id: str | None
    kind: str
    outcome: str
    ip: str | None
    user_agent: str | None
    id: int | None = None
    actor_id: str | None = None  # who acted on the user's access, when it was not the user (an administrator)

    def as_dict(self) -> dict:
        return {"id": self.id, "at": self.at.isoformat(timespec="microseconds"), "tenant": self.tenant,
                "user_id": self.user_id, "kind": self.kind, "outcome": self.outcome, "ip": self.ip,
                "user_agent": self.user_agent, "actor_id": self.actor_id}


class AccessAudit:
    """Rows are only ever added; a tenant reads its own, newest first, a page at a time."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._ready = False

    def _prepare(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            if self.config.is_postgres:
                with connection(self.config) as conn, conn.transaction():
                    # Two processes starting at once must not both create the table.
                    conn.execute("SELECT pg_advisory_xact_lock(hashtext('styrkedja.access_log'))")
                    for statement in _POSTGRES_SCHEMA:
                        conn.execute(statement)
            else:
                with closing(self._sqlite()) as conn:
                    conn.executescript(_SQLITE_SCHEMA)
                    # A trail written before actor_id existed gets the column (SQLite has no ADD COLUMN IF NOT
                    # EXISTS); the append-only triggers guard rows, not the table's layout.
                    columns = {row["name"] for row in conn.execute("PRAGMA table_info(access_log)")}
                    if "actor_id" not in columns:
                        conn.execute("ALTER TABLE access_log ADD COLUMN actor_id TEXT")
            self._ready = True

    def _sqlite(self) -> sqlite3.Connection:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.config.data_dir / "access-log.sqlite", timeout=10)
        conn.row_factory = sqlite3.Row
        return conn

    def append(self, event: AccessEvent) -> None:
        if event.kind not in KINDS or event.outcome not in OUTCOMES:
            raise ValueError(f"unknown access event {event.kind}/{event.outcome}")
        self._prepare()
        at = event.at.astimezone(dt.UTC)
        values = (at.isoformat(timespec="microseconds") if not self.config.is_postgres else at, event.tenant,
                  event.user_id, event.kind, event.outcome, event.ip, (event.user_agent or "")[:MAX_AGENT] or None,
                  event.actor_id)
        sql = "INSERT INTO {}access_log (at, tenant, user_id, kind, outcome, ip, user_agent, actor_id) VALUES ({})"
        if self.config.is_postgres:
            with connection(self.config) as conn:
                conn.execute(sql.format("platform.", ", ".join(["%s"] * 8)), values)
        else:
            with closing(self._sqlite()) as conn, conn:
                conn.execute(sql.format("", ", ".join(["?"] * 8)), values)

    def page(self, tenant: str, before: int | None = None, limit: int = 50) -> list[AccessEvent]:
        """The tenant's rows newest first; `before` is the id of the last row of the previous page."""
        self._prepare()
        bound = before if before is not None else 2**62
        if self.config.is_postgres:
            with connection(self.config) as conn:
                rows = conn.execute(
                    "SELECT * FROM platform.access_log WHERE tenant = %s AND id < %s ORDER BY id DESC LIMIT %s",
                    (tenant, bound, limit)).fetchall()
        else:
            with closing(self._sqlite()) as conn:
                rows = [dict(r) for r in conn.execute(
                    "SELECT * FROM access_log WHERE tenant = ? AND id < ? ORDER BY id DESC LIMIT ?",
                    (tenant, bound, limit))]
        return [AccessEvent(at=_moment(r["at"]), tenant=r["tenant"], user_id=r["user_id"], kind=r["kind"],
                            outcome=r["outcome"], ip=r["ip"], user_agent=r["user_agent"], id=r["id"],
                            actor_id=r["actor_id"])
                for r in rows]


def _moment(value) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)
    return moment.astimezone(dt.UTC)
