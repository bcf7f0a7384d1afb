"""Read models of one tenant (facts with both times, timeline) written with the tracking record, exactly once."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier

from projections.facts import (
    ALWAYS,
    STATE_KINDS,
    Fact,
    ended_subject,
    facts_of,
    retracted_position,
    subject_of,
    valid_from,
)

PROJECTION_NAME = "styrkedja_views"


def timeline_row(record: dict) -> dict:
    """The columns the timeline filters on, taken from a ledger record."""
    data = record.get("data") or {}
    decision = record.get("decision") or {}
    decided_on = valid_from(record)
    if decided_on == ALWAYS:  # reference data and retractions are dated by when they were recorded
        decided_on = dt.date.fromisoformat(record["recorded_at"][:10])
    return {
        "position": record["position"],
        "type": record["type"],
        "body": decision.get("body") or data.get("body") or data.get("to_body"),
        # The body a record concerns; for an uppdrag's later entries the insert takes it from its issue.
        "concerns": data.get("body") or data.get("to_body"),
        "subject": subject_of(data),
        "decided_on": decided_on.isoformat(),
        "recorded_at": record["recorded_at"],
        "record": json.dumps(record, ensure_ascii=False, sort_keys=True),
        "retraction_of": retracted_position(record),
        "decided": bool(record.get("decision")),
    }


# A timeline row; an uppdrag's later entries (revision, status) take the body it concerns from its latest issue.
SQLITE_INSERT_TIMELINE = (
    "INSERT INTO timeline (position, type, body, concerns, subject, decided_on, recorded_at, record, "
    "retraction_of, decided) VALUES (:position, :type, :body, COALESCE(:concerns, CASE WHEN :subject LIKE "
    "'assignment:%' THEN (SELECT t.concerns FROM timeline t WHERE t.subject = :subject AND t.concerns IS NOT NULL "
    "ORDER BY t.position DESC LIMIT 1) END), "
    ":subject, :decided_on, :recorded_at, :record, :retraction_of, :decided)"
)
POSTGRES_INSERT_TIMELINE = (
    "INSERT INTO {s}.timeline (position, type, body, concerns, subject, decided_on, recorded_at, record, "
    "retraction_of, decided) VALUES (%(position)s, %(type)s, %(body)s, COALESCE(%(concerns)s, CASE WHEN "
    "%(subject)s LIKE 'assignment:%%' THEN (SELECT t.concerns FROM {s}.timeline t WHERE t.subject = %(subject)s "
    "AND t.concerns IS NOT NULL ORDER BY t.position DESC LIMIT 1) END), "
    "%(subject)s, %(decided_on)s, %(recorded_at)s, %(record)s, %(retraction_of)s, %(decided)s)"
)


class ViewWriter:
    """What both dialects do with a batch of ledger records."""

    def rows_for(self, records: Iterable[dict]):
        facts: list[Fact] = []
        timeline: list[dict] = []
        retractions: list[tuple[int, int]] = []
        ended: list[tuple[str, int]] = []
        for record in records:
            facts.extend(facts_of(record))
            timeline.append(timeline_row(record))
            retracted = retracted_position(record)
            if retracted is not None:
                retractions.append((retracted, record["position"]))
            subject = ended_subject(record)
            if subject is not None:
                ended.append((subject, record["position"]))
        return facts, timeline, retractions, ended


def fact_params(fact: Fact) -> dict:
    kind = fact.key.split("|", 1)[0]
    return {
        "key": fact.key, "kind": kind, "mode": fact.mode, "valid_from": fact.valid_from.isoformat(),
        "position": fact.position, "recorded_at": fact.recorded_at,
        "value": json.dumps(fact.value, ensure_ascii=False, sort_keys=True),
        "in_state": kind in STATE_KINDS,
    }


def row_to_fact(row) -> Fact:
    value = row["value"]
    valid = row["valid_from"]
    return Fact(row["key"], row["mode"], valid if isinstance(valid, dt.date) else dt.date.fromisoformat(valid),
                row["position"], row["recorded_at"], json.loads(value) if isinstance(value, str) else value)


class SQLiteViews(ViewWriter, SQLiteTrackingRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                "CREATE TABLE IF NOT EXISTS facts (key TEXT NOT NULL, kind TEXT NOT NULL, mode TEXT NOT NULL, "
                "valid_from TEXT NOT NULL, position INTEGER NOT NULL, recorded_at TEXT NOT NULL, value TEXT NOT NULL, "
                "retracted_by INTEGER, PRIMARY KEY (key, position))",
                "CREATE INDEX IF NOT EXISTS facts_by_time ON facts (key, valid_from, position)",
                "CREATE INDEX IF NOT EXISTS facts_by_position ON facts (position)",
                "CREATE TABLE IF NOT EXISTS fact_keys (key TEXT PRIMARY KEY, kind TEXT NOT NULL, mode TEXT NOT NULL, "
                "in_state INTEGER NOT NULL, first_position INTEGER NOT NULL)",
                "CREATE TABLE IF NOT EXISTS timeline (position INTEGER PRIMARY KEY, type TEXT NOT NULL, body TEXT, "
                "concerns TEXT, subject TEXT, decided_on TEXT NOT NULL, recorded_at TEXT NOT NULL, "
                "record TEXT NOT NULL, retraction_of INTEGER, retracted_by INTEGER, "
                "decided INTEGER NOT NULL DEFAULT 0)",
                "CREATE INDEX IF NOT EXISTS timeline_by_body ON timeline (body, position)",
                "CREATE INDEX IF NOT EXISTS timeline_by_type ON timeline (type, position)",
                "CREATE INDEX IF NOT EXISTS timeline_by_subject ON timeline (subject, position)",
                "CREATE INDEX IF NOT EXISTS timeline_by_concerns ON timeline (concerns, position)",
                "CREATE INDEX IF NOT EXISTS timeline_by_decided_on ON timeline (decided_on, position)",
                "CREATE INDEX IF NOT EXISTS timeline_by_recorded_at ON timeline (recorded_at, position)"]

    def apply(self, records: Sequence[dict], tracking: Tracking) -> None:
        facts, timeline, retractions, ended = self.rows_for(records)
        with self.datastore.transaction(commit=True) as c:
            for fact in facts:
                p = fact_params(fact)
                c.execute("INSERT INTO facts (key, kind, mode, valid_from, position, recorded_at, value) "
                          "VALUES (:key, :kind, :mode, :valid_from, :position, :recorded_at, :value)", p)
                c.execute("INSERT INTO fact_keys VALUES (:key, :kind, :mode, :in_state, :position) "
                          "ON CONFLICT (key) DO NOTHING", p)
            for row in timeline:
                c.execute(SQLITE_INSERT_TIMELINE, row)
            for retracted, by in retractions:
                for table in ("facts", "timeline"):
                    c.execute(f"UPDATE {table} SET retracted_by = ? WHERE position = ? "
                              "AND retracted_by IS NULL", (by, retracted))
            for subject, by in ended:
                for table in ("facts", "timeline"):
                    c.execute(f"UPDATE {table} SET retracted_by = ? WHERE retracted_by IS NULL "
                              "AND position < ? AND position IN (SELECT position FROM timeline WHERE subject = ?)",
                              (by, by, subject))
            self._insert_tracking(c, tracking)

    def select(self, sql: str, params=()) -> list:
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql.replace("%s", "?").replace("§.", ""), params)
            return c.fetchall()

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            for table in ("facts", "fact_keys", "timeline", "tracking"):
                c.execute(f"DELETE FROM {table}")

    # The set-mode fact in force per key, found by one index seek per key.
    LATEST_SQL = (
        "SELECT f.* FROM §.fact_keys k JOIN §.facts f ON f.rowid = (SELECT f2.rowid FROM §.facts f2 "
        "WHERE f2.key = k.key AND f2.valid_from <= %s AND f2.position <= %s "
        "AND (f2.retracted_by IS NULL OR f2.retracted_by > %s) "
        "ORDER BY f2.valid_from DESC, f2.position DESC LIMIT 1) "
        "WHERE k.mode = 'set' AND k.in_state AND k.first_position <= %s"
    )


class PostgresViews(ViewWriter, PostgresTrackingRecorder):
    def __init__(self, datastore, **kwargs):
        super().__init__(datastore, **kwargs)
        schema = Identifier(self.datastore.schema)
        for statement in (
            "CREATE TABLE IF NOT EXISTS {s}.facts (key text NOT NULL, kind text NOT NULL, mode text NOT NULL, "
            "valid_from date NOT NULL, position bigint NOT NULL, recorded_at text NOT NULL, value text NOT NULL, "
            "retracted_by bigint, PRIMARY KEY (key, position))",
            "CREATE INDEX IF NOT EXISTS facts_by_time ON {s}.facts (key, valid_from, position)",
            "CREATE INDEX IF NOT EXISTS facts_by_position ON {s}.facts (position)",
            "CREATE TABLE IF NOT EXISTS {s}.fact_keys (key text PRIMARY KEY, kind text NOT NULL, mode text NOT NULL, "
            "in_state boolean NOT NULL, first_position bigint NOT NULL)",
            "CREATE TABLE IF NOT EXISTS {s}.timeline (position bigint PRIMARY KEY, type text NOT NULL, body text, "
            "concerns text, subject text, decided_on date NOT NULL, recorded_at text NOT NULL, record text NOT NULL, "
            "retraction_of bigint, retracted_by bigint, decided boolean NOT NULL DEFAULT false)",
            "CREATE INDEX IF NOT EXISTS timeline_by_body ON {s}.timeline (body, position)",
            "CREATE INDEX IF NOT EXISTS timeline_by_type ON {s}.timeline (type, position)",
            "CREATE INDEX IF NOT EXISTS timeline_by_subject ON {s}.timeline (subject, position)",
            "CREATE INDEX IF NOT EXISTS timeline_by_concerns ON {s}.timeline (concerns, position)",
            "CREATE INDEX IF NOT EXISTS timeline_by_decided_on ON {s}.timeline (decided_on, position)",
            "CREATE INDEX IF NOT EXISTS timeline_by_recorded_at ON {s}.timeline (recorded_at, position)",
        ):
            self.sql_create_statements.append(SQL(statement).format(s=schema))
        self.schema = schema

    def apply(self, records: Sequence[dict], tracking: Tracking) -> None:
        facts, timeline, retractions, ended = self.rows_for(records)
        s = self.schema
        with self.datastore.transaction(commit=True) as c:
            if facts:
                params = [fact_params(f) for f in facts]
                c.executemany(SQL(
                    "INSERT INTO {s}.facts (key, kind, mode, valid_from, position, recorded_at, value) VALUES "
                    "(%(key)s, %(kind)s, %(mode)s, %(valid_from)s, %(position)s, %(recorded_at)s, %(value)s)"
                ).format(s=s), params)
                c.executemany(SQL(
                    "INSERT INTO {s}.fact_keys VALUES (%(key)s, %(kind)s, %(mode)s, %(in_state)s, %(position)s) "
                    "ON CONFLICT (key) DO NOTHING").format(s=s), params)
            c.executemany(SQL(POSTGRES_INSERT_TIMELINE).format(s=s), timeline)
            for retracted, by in retractions:
                for table in ("facts", "timeline"):
                    c.execute(SQL("UPDATE {s}.{t} SET retracted_by = %s WHERE position = %s "
                                  "AND retracted_by IS NULL").format(s=s, t=Identifier(table)), (by, retracted))
            for subject, by in ended:
                for table in ("facts", "timeline"):
                    c.execute(SQL("UPDATE {s}.{t} SET retracted_by = %s WHERE retracted_by IS NULL AND position < %s "
                                  "AND position IN (SELECT position FROM {s}.timeline WHERE subject = %s)").format(
                        s=s, t=Identifier(table)), (by, by, subject))
            self._insert_tracking(c, tracking)

    def select(self, sql: str, params=()) -> list:
        with self.datastore.transaction(commit=False) as c:
            c.execute(SQL(sql.replace("{", "{{").replace("}", "}}").replace("§.", "{s}.")).format(s=self.schema),
                      params)
            return c.fetchall()

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(SQL("TRUNCATE {s}.facts, {s}.fact_keys, {s}.timeline, {s}.{t}").format(
                s=self.schema, t=Identifier(self.tracking_table_name)))

    LATEST_SQL = (
        "SELECT f.* FROM §.fact_keys k CROSS JOIN LATERAL (SELECT * FROM §.facts f2 "
        "WHERE f2.key = k.key AND f2.valid_from <= %s AND f2.position <= %s "
        "AND (f2.retracted_by IS NULL OR f2.retracted_by > %s) "
        "ORDER BY f2.valid_from DESC, f2.position DESC LIMIT 1) f "
        "WHERE k.mode = 'set' AND k.in_state AND k.first_position <= %s"
    )
