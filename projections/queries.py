"""Queries on a tenant's read models: catch-up, state as of D known at T, timeline and diff."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import defaultdict

from domain.application import Governance
from projections.catchup import LEDGER_TOPIC, catch_up
from projections.facts import SET, Fact
from projections.state import assemble
from projections.views import PROJECTION_NAME, PostgresViews, SQLiteViews, row_to_fact

__all__ = ["LEDGER_TOPIC", "TenantViews", "changes_between", "open_views", "utc_text"]


def utc_text(moment: dt.datetime) -> str:
    """recorded_at is stored as UTC ISO text, so known_at compares as text in the same form."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def open_views(app: Governance, create_table: bool = True):
    """The tenant's read-model recorder, in its own SQLite file or its own PostgreSQL schema."""
    from eventsourcing.persistence import InfrastructureFactory

    env = dict(app.env)
    if app.config.is_postgres:
        env["POSTGRES_SCHEMA"] = app.env["POSTGRES_SCHEMA"]
    else:
        env["SQLITE_DBNAME"] = str(app.config.data_dir / f"{app.tenant}.views.sqlite")
    env["CREATE_TABLE"] = "y" if create_table else "n"
    factory = InfrastructureFactory.construct(_Env(PROJECTION_NAME, env))
    app.config.prepare(factory)
    view_class = PostgresViews if app.config.is_postgres else SQLiteViews
    return factory.tracking_recorder(view_class)


def _Env(name, env):  # noqa: N802 - a constructor
    from eventsourcing.utils import Environment

    return Environment(name, env)


class TenantViews:
    """The read side of one tenant: keeps its models caught up and answers queries from them."""

    def __init__(self, app: Governance, views=None) -> None:
        self.app = app
        self.views = views or open_views(app)
        self._lock = threading.Lock()

    # --- keeping up ----------------------------------------------------------------------

    def tracked(self) -> int:
        return self.views.max_tracking_id(self.app.name) or 0

    def catch_up(self, limit_batches: int | None = None) -> int:
        """Apply every ledger entry not yet projected; a concurrent catch-up elsewhere is harmless."""
        with self._lock:
            return catch_up(self.app, self.views, self.tracked, limit_batches)

    def wait_for(self, position: int, timeout: float = 2.0, catching_up: bool = False) -> bool:
        """True once the models include the ledger position (a client reading its own write). `catching_up`:
        this process keeps them itself (embedded default), so each poll catches up instead of waiting on a runner."""
        deadline = time.monotonic() + timeout
        while self.head() < position:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
            if catching_up:
                self.catch_up()
        return True

    # --- positions -----------------------------------------------------------------------

    def head(self) -> int:
        rows = self.views.select("SELECT MAX(position) AS p FROM §.timeline")
        return rows[0]["p"] or 0

    def position_at(self, known_at: dt.datetime | None) -> int:
        if known_at is None:
            return self.head()
        # One index seek: record time never runs backwards along the ledger (Governance._chain).
        rows = self.views.select("SELECT position AS p FROM §.timeline WHERE recorded_at <= %s "
                                 "ORDER BY recorded_at DESC, position DESC LIMIT 1", (utc_text(known_at),))
        return rows[0]["p"] if rows else 0

    # --- state ---------------------------------------------------------------------------

    def facts_in_force(self, as_of: dt.date, upto: int, kinds: tuple[str, ...] | None = None,
                       prefixes: tuple[str, ...] | None = None) -> dict[str, list[Fact]]:
        """Facts in force on `as_of` as recorded up to `upto`: those /state shows, or the given kinds.

        With `prefixes`, only keys that start with one of them ("financial|BUN|"): one body's follow-up
        instead of the whole municipality's, which grows with every month reported.
        """
        day = as_of.isoformat()
        if kinds is None:
            which, kind_params = "k.in_state", ()
        else:
            which, kind_params = "k.kind IN (" + ", ".join(["%s"] * len(kinds)) + ")", tuple(kinds)
        if prefixes is not None and "" in prefixes:
            prefixes = None  # the empty prefix: every key
        if prefixes is not None:
            if not prefixes:
                return defaultdict(list)
            # A key starts with the prefix exactly when, in code-point order, it lies in [prefix, the prefix with
            # its last character incremented). SQLite compares text in that order (BINARY) and seeks the ranges on
            # the key index; PostgreSQL is told to (COLLATE "C": bytewise, whatever the database's collation), and
            # as the key columns are declared COLLATE "C" (projections/views.py), it seeks the ranges on the key index.
            key = 'k.key COLLATE "C"' if self.app.config.is_postgres else "k.key"
            which += " AND (" + " OR ".join([f"({key} >= %s AND {key} < %s)"] * len(prefixes)) + ")"
            kind_params += tuple(part for prefix in prefixes
                                 for part in (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)))
        latest = self.views.select(self.views.LATEST_SQL.replace("k.in_state", which),
                                   (day, upto, upto, *kind_params, upto, day))
        others = self.views.select(
            # Drive from the (few) keys, not from all facts: SQLite keeps the CROSS JOIN order.
            "SELECT f.key, f.mode, f.valid_from, f.position, f.recorded_at, f.value FROM §.fact_keys k "
            f"CROSS JOIN §.facts f WHERE f.key = k.key AND k.mode <> 'set' AND {which} AND k.first_position <= %s "
            "AND k.first_valid_from <= %s AND f.valid_from <= %s AND f.position <= %s "
            "AND (f.retracted_by IS NULL OR f.retracted_by > %s)", (*kind_params, upto, day, day, upto, upto))
        live: dict[str, list[Fact]] = defaultdict(list)
        for row in latest:
            live[row["key"]] = [row_to_fact(row)]
        for row in others:
            live[row["key"]].append(row_to_fact(row))
        for group in live.values():
            if group[0].mode != SET:
                group.sort(key=lambda f: (f.valid_from, f.position))
        return live

    def state(self, as_of: dt.date, known_at: dt.datetime | None = None,
              prefixes: tuple[str, ...] | None = None) -> dict:
        """The plan state (GET /state); with `prefixes`, a partial one built from those keys' facts only."""
        upto = self.position_at(known_at)
        state = assemble(self.facts_in_force(as_of, upto, prefixes=prefixes))
        return {"tenant": self.app.tenant, "as_of": as_of.isoformat(),
                "known_at": utc_text(known_at) if known_at else None, "position": upto, **state}

    # --- timeline ------------------------------------------------------------------------

    def timeline(self, body: str | None = None, subject: str | None = None, type_: str | None = None,
                 date_from: dt.date | None = None, date_to: dt.date | None = None, cursor: int | None = None,
                 limit: int = 50, upto: int | None = None) -> tuple[list[dict], int | None]:
        where, params = [], []
        if body:
            # A body's timeline: its own decisions and reports, and what others decided about it.
            where.append("(body = %s OR concerns = %s)")
            params += [body, body]
        if type_:
            where.append("type = %s")
            params.append(type_)
        if subject:
            where.append("subject = %s")
            params.append(subject)
        if date_from:
            where.append("decided_on >= %s")
            params.append(date_from.isoformat())
        if date_to:
            where.append("decided_on <= %s")
            params.append(date_to.isoformat())
        if cursor:
            where.append("position < %s")
            params.append(cursor)
        if upto is not None:
            where.append("position <= %s")
            params.append(upto)
        sql = "SELECT record, retracted_by FROM §.timeline"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY position DESC LIMIT %s"
        rows = self.views.select(sql, (*params, limit + 1))
        entries = []
        for row in rows[:limit]:
            record = json.loads(row["record"])
            record["retracted_by"] = row["retracted_by"]
            entries.append(record)
        next_cursor = entries[-1]["position"] if len(rows) > limit else None
        return entries, next_cursor

    # --- a report's scope (workers/content.py) ---------------------------------------------

    def fact_history(self, as_of: dt.date, upto: int, keys=(), prefixes=()) -> dict[str, list[Fact]]:
        """Every fact of `keys`, and of keys starting with one of `prefixes`, that applies on `as_of` as recorded
        up to `upto`, superseded ones included, oldest first (decision time, then record order).

        What a report reads about one body's year, instead of re-deriving every fact of the whole ledger.
        """
        keys, prefixes = sorted(set(keys)), sorted(set(prefixes))
        if not keys and not prefixes:
            return {}
        # Prefixes as key ranges, as in facts_in_force (PostgreSQL compares them bytewise, like SQLite).
        key = 'k.key COLLATE "C"' if self.app.config.is_postgres else "k.key"
        which, params = [], []
        if keys:
            which.append("k.key IN (" + ", ".join(["%s"] * len(keys)) + ")")
            params += keys
        for prefix in prefixes:
            which.append(f"({key} >= %s AND {key} < %s)")
            params += [prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)]
        rows = self.views.select(
            "SELECT f.* FROM §.fact_keys k CROSS JOIN §.facts f WHERE f.key = k.key AND (" + " OR ".join(which)
            + ") AND f.valid_from <= %s AND f.position <= %s AND (f.retracted_by IS NULL OR f.retracted_by > %s)",
            (*params, as_of.isoformat(), upto, upto))
        history: dict[str, list[Fact]] = defaultdict(list)
        for row in rows:
            history[row["key"]].append(row_to_fact(row))
        for group in history.values():
            group.sort(key=lambda f: (f.valid_from, f.position))
        return dict(history)

    def decisions_about(self, upto: int, *, positions=(), body: str | None = None, subjects=(),
                        decided_from: dt.date | None = None) -> list[dict]:
        """Decisions and audit reports recorded up to `upto`, oldest first, each with its `retracted_by`: those at
        `positions`, and those decided on or after `decided_from` by or about `body` or about one of `subjects`."""
        if self.app.config.is_postgres:
            which, params = ["position = ANY(%s)"], [sorted(positions)]
        else:
            which, params = ["position IN (SELECT value FROM json_each(%s))"], [json.dumps(sorted(positions))]
        if body or subjects:
            about, subjects = [], sorted(set(subjects))
            params.append((decided_from or dt.date(1, 1, 1)).isoformat())
            if body:
                about.append("body = %s OR concerns = %s")
                params += [body, body]
            if subjects:
                about.append("subject IN (" + ", ".join(["%s"] * len(subjects)) + ")")
                params += subjects
            which.append("(decided_on >= %s AND (" + " OR ".join(about) + "))")
        rows = self.views.select(
            "SELECT record, retracted_by FROM §.timeline WHERE position <= %s AND (decided OR type = "
            "'AuditReportSubmitted') AND (" + " OR ".join(which) + ") ORDER BY position", (upto, *params))
        entries = []
        for row in rows:
            record = json.loads(row["record"])
            record["retracted_by"] = row["retracted_by"]
            entries.append(record)
        return entries

    # --- diff ----------------------------------------------------------------------------

    def diff(self, date_from: dt.date, date_to: dt.date, known_at: dt.datetime | None = None) -> dict:
        upto = self.position_at(known_at)
        before = self.facts_in_force(date_from, upto)
        after = self.facts_in_force(date_to, upto)
        return {"tenant": self.app.tenant, "from": date_from.isoformat(), "to": date_to.isoformat(),
                "known_at": utc_text(known_at) if known_at else None, "position": upto,
                "changes": changes_between(before, after)}


def changes_between(before: dict[str, list[Fact]], after: dict[str, list[Fact]]) -> list[dict]:
    """What is in force at `to` but not at `from`, and the reverse, fact by fact with its decision."""
    changes = []
    for key in sorted(set(before) | set(after)):
        old = {f.position: f for f in before.get(key, [])}
        new = {f.position: f for f in after.get(key, [])}
        if old.keys() == new.keys():
            continue
        added = [new[p] for p in sorted(new.keys() - old.keys())]
        removed = [old[p] for p in sorted(old.keys() - new.keys())]
        kind, _, rest = key.partition("|")
        change = {"key": key, "kind": kind, "subject": rest,
                  "change": "added" if not old else "removed" if not new else "changed",
                  "before": _values(old.values()), "after": _values(new.values()),
                  "decisions": [f.value.get("decision") for f in (added or removed)],
                  "positions": [f.position for f in (added or removed)]}
        changes.append(change)
    changes.sort(key=lambda c: (min(c["positions"]), c["key"]))
    return changes


def _values(facts) -> list[dict]:
    return [{k: v for k, v in f.value.items() if k not in ("decision", "position")} for f in
            sorted(facts, key=lambda f: (f.valid_from, f.position))]
