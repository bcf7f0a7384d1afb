"""Read models of one tenant (facts with both times, timeline) written with the tracking record, exactly once."""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import orjson
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Identifier

from domain.ledger import LedgerEntry
from projections.facts import (
    ALWAYS,
    STATE_KINDS,
    Fact,
    ended_subject,
    facts_of,
    retracted_position,
    stated_by,
    subject_of,
    valid_from,
)

PROJECTION_NAME = "styrkedja_views"

# The layout of the read-model tables. A store written with another layout (or none recorded: the first one) is
# dropped and rebuilt from the log when it is opened: the log is the truth, and a rebuild gives the same answers.
#   1: three statements and eleven index entries per entry; facts re-serialised from the decoded record.
#   2: COPY / executemany per batch; the timeline keeps the canonical text; facts have one index; fact_keys knows
#      each key's earliest decision time and has an index on the keys /state reads.
VIEWS_VERSION = 2
VIEW_TABLES = ("facts", "fact_keys", "timeline")


def dumps(value) -> str:
    """A fact's value as JSON text (sorted keys, UTF-8); orjson is several times faster than json here."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # an integer beyond 64 bits, which orjson refuses and json writes exactly
        return json.dumps(value, ensure_ascii=False, sort_keys=True)


def loads(text):
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # an integer beyond 64 bits (written by json.dumps above)
        return json.loads(text)


def record_text(entry: LedgerEntry) -> str:
    """The record (LedgerEntry.as_record) as JSON, made from the canonical text instead of dumping it again.

    The canonical text is a JSON object whose keys are the record's; the two hashes are hex, so they need no
    escaping, and the result loads to exactly the dict as_record() gives.
    """
    return f'{entry.canonical[:-1]},"prev_hash":"{entry.prev_hash}","hash":"{entry.hash}"}}'


def ledger_rows(entries: Iterable[LedgerEntry]) -> list[tuple[dict, str]]:
    """What the writers take: each entry's record and its JSON text."""
    return [(entry.as_record(), record_text(entry)) for entry in entries]


def stored_row(state: bytes) -> tuple[dict, str]:
    """ledger_rows for one stored LedgerEntry, read straight from its JSON state (plain JSON, no cipher).

    Catch-up needs only the canonical text and the two hashes, not the domain event the mapper would build
    (ids, timestamps, the dataclass): this gives the same record and text at a fraction of the cost.
    """
    stored = loads(state)
    canonical, prev_hash, hash_ = stored["canonical"], stored["prev_hash"], stored["hash"]
    record = loads(canonical)
    record["prev_hash"] = prev_hash
    record["hash"] = hash_
    return record, f'{canonical[:-1]},"prev_hash":"{prev_hash}","hash":"{hash_}"}}'


# Every query on the timeline filters on one of these and reads newest first (projections/queries.py, web/ui/*.py,
# workers/content.py): by body or the body it concerns, type, subject, decision date, and record time (position_at).
TIMELINE_INDEXED = ("body", "type", "subject", "concerns", "decided_on", "recorded_at")


# The secondary indexes, by name. All but timeline_by_subject serve readers only; catch-up's own lookups use
# timeline_by_subject and the primary keys.
INDEXES = {
    **{f"timeline_by_{column}": f"timeline ({column}, position)" for column in TIMELINE_INDEXED},
    "fact_keys_in_state": "fact_keys (mode, first_position) WHERE in_state",
    "fact_keys_by_kind": "fact_keys (kind, first_position)",
}
# What a bulk catch-up (projections/catchup.py) drops and builds again once at its end: one sort per index costs
# far less than keeping each btree up entry by entry. A reader meanwhile gets the same answers, only slower.
DEFERRED_INDEXES = tuple(name for name in INDEXES if name != "timeline_by_subject")


def index_statements(prefix: str) -> list[str]:
    """CREATE INDEX IF NOT EXISTS for every secondary index: run at every opening (create_table), so a bulk
    catch-up killed before it built them again leaves nothing the next opening does not restore."""
    return [f"CREATE INDEX IF NOT EXISTS {name} ON {prefix}{on}" for name, on in INDEXES.items()]


@dataclass
class Rows:
    """A batch of ledger records as the rows of the read models, built in Python once."""

    # (position, type, body, concerns, subject, decided_on, recorded_at, record, retraction_of, decided)
    timeline: list[list] = field(default_factory=list)
    # (key, kind, mode, valid_from, position, recorded_at, value)
    facts: list[tuple] = field(default_factory=list)
    # key -> [kind, mode, in_state, first_position, first_valid_from]: one upsert per distinct key
    keys: dict[str, list] = field(default_factory=dict)
    # In record order: ("retract", position, by) and ("end", subject, by); order decides which retraction counts.
    out_of_force: list[tuple[str, object, int]] = field(default_factory=list)
    records: dict[int, dict] = field(default_factory=dict)
    # Subjects of uppdrag entries that name no body: they concern the body of the uppdrag's latest issue.
    unresolved: set[str] = field(default_factory=set)


def rows_for(batch: Sequence[tuple[dict, str]]) -> Rows:
    rows = Rows()
    keys, facts, timeline, records, unresolved = rows.keys, rows.facts, rows.timeline, rows.records, rows.unresolved
    for record, text in batch:
        position = record["position"]
        records[position] = record
        data = record.get("data") or {}
        decision = record.get("decision") or {}
        subject = subject_of(data)
        concerns = data.get("body") or data.get("to_body")
        if concerns is None and subject.startswith("assignment:"):
            unresolved.add(subject)
        retracted = retracted_position(record)
        recorded_at = record["recorded_at"]
        # valid_from once per record: it dates both the timeline row (decided_on) and the record's facts.
        valid = valid_from(record)
        when = valid.isoformat()
        # Reference data and retractions are dated by when they were recorded.
        timeline.append([position, record["type"], decision.get("body") or concerns, concerns, subject,
                         when if valid != ALWAYS else dt.date.fromisoformat(recorded_at[:10]).isoformat(),
                         recorded_at, text, retracted, bool(decision)])
        for key, mode, value in stated_by(record):
            kind = key.split("|", 1)[0]
            facts.append((key, kind, mode, when, position, recorded_at, dumps(value)))
            known = keys.get(key)
            if known is None:
                keys[key] = [kind, mode, kind in STATE_KINDS, position, when]
            elif when < known[4]:
                known[4] = when
        if retracted is not None:
            rows.out_of_force.append(("retract", retracted, position))
        ended = ended_subject(record)
        if ended is not None:
            rows.out_of_force.append(("end", ended, position))
    # In key order, each insert lands next to the last in the key index (WITHOUT ROWID facts: the table itself)
    # instead of on a random page of it.
    facts.sort(key=_fact_order)
    rows.keys = dict(sorted(keys.items()))
    return rows


_fact_order = operator.itemgetter(0, 3, 4)  # key, valid_from, position: the facts' unique key


def resolve_concerns(rows: Rows, latest: dict[str, str]) -> None:
    """Fill in the body an uppdrag's later entries concern: that of its latest entry which names one.

    `latest` holds, for the unresolved subjects, what the stored timeline says before this batch.
    """
    latest = dict(latest)
    for row in rows.timeline:
        subject = row[4]
        if row[3] is None and subject.startswith("assignment:"):
            row[3] = latest.get(subject)
        if row[3] is not None:
            latest[subject] = row[3]


def row_to_fact(row) -> Fact:
    value = row["value"]
    valid = row["valid_from"]
    return Fact(row["key"], row["mode"], valid if isinstance(valid, dt.date) else dt.date.fromisoformat(valid),
                row["position"], row["recorded_at"], loads(value) if isinstance(value, str) else value)


class ViewWriter:
    """What both dialects do with a batch: insert the rows, then take retracted entries out of force in order."""

    PARAM = "%s"
    READ_AHEAD = True  # catch-up reads and folds the next batch in a thread while this one is written

    def _sql(self, sql: str):
        raise NotImplementedError

    def _fact_ids(self, record: dict) -> list[tuple[str, str, int]]:
        return [(f.key, f.valid_from.isoformat(), f.position) for f in facts_of(record)]

    def _take_out_of_force(self, c, rows: Rows) -> None:
        """Mark retracted entries and their facts with the position that retracted them (the first one counts)."""
        if not rows.out_of_force:
            return
        wanted = sorted({p for action, p, _ in rows.out_of_force if action == "retract"} - rows.records.keys())
        records = dict(rows.records)
        if wanted:
            marks = ", ".join([self.PARAM] * len(wanted))
            c.execute(self._sql(f"SELECT position, record FROM §.timeline WHERE position IN ({marks})"), wanted)
            records.update((row["position"], loads(row["record"])) for row in c.fetchall())
        set_fact = self._sql("UPDATE §.facts SET retracted_by = %s WHERE key = %s AND valid_from = %s "
                             "AND position = %s AND retracted_by IS NULL")
        set_entry = self._sql("UPDATE §.timeline SET retracted_by = %s WHERE position = %s AND retracted_by IS NULL")
        # All of a batch's marks go in two statements, in record order. A retracted establishment's query may
        # then also find entries an earlier retraction of the batch is about to mark: the "IS NULL" guards leave
        # them with the earlier mark, as when each mark was written before the next query.
        entries, facts = [], []
        for action, what, by in rows.out_of_force:
            if action == "retract":
                ended = [records[what]] if what in records else []
            else:
                c.execute(self._sql("SELECT record FROM §.timeline WHERE subject = %s AND position < %s "
                                    "AND retracted_by IS NULL ORDER BY position"), (what, by))
                ended = [loads(row["record"]) for row in c.fetchall()]
            entries += [(by, record["position"]) for record in ended]
            facts += [(by, *ids) for record in ended for ids in self._fact_ids(record)]
        if entries:
            c.executemany(set_entry, entries)
        if facts:
            c.executemany(set_fact, facts)


class SQLiteViews(ViewWriter, SQLiteTrackingRecorder):
    PARAM = "?"
    # No read-ahead thread: sqlite3 takes the GIL back after every row it writes, so a second Python thread
    # makes both slower (measured at 100,000 entries: a fifth more CPU, and more wall time).
    READ_AHEAD = False

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                # The primary key is the table (WITHOUT ROWID): every query on facts starts from a key.
                "CREATE TABLE IF NOT EXISTS facts (key TEXT NOT NULL, kind TEXT NOT NULL, mode TEXT NOT NULL, "
                "valid_from TEXT NOT NULL, position INTEGER NOT NULL, recorded_at TEXT NOT NULL, value TEXT NOT NULL, "
                "retracted_by INTEGER, PRIMARY KEY (key, valid_from, position)) WITHOUT ROWID",
                "CREATE TABLE IF NOT EXISTS fact_keys (key TEXT PRIMARY KEY, kind TEXT NOT NULL, mode TEXT NOT NULL, "
                "in_state INTEGER NOT NULL, first_position INTEGER NOT NULL, first_valid_from TEXT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS timeline (position INTEGER PRIMARY KEY, type TEXT NOT NULL, body TEXT, "
                "concerns TEXT, subject TEXT, decided_on TEXT NOT NULL, recorded_at TEXT NOT NULL, "
                "record TEXT NOT NULL, retraction_of INTEGER, retracted_by INTEGER, "
                "decided INTEGER NOT NULL DEFAULT 0)",
                *index_statements(""),
                "CREATE TABLE IF NOT EXISTS views_schema (version INTEGER NOT NULL)"]

    def _create_table(self, c) -> None:
        c.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('facts', 'views_schema')")
        present = {row["name"] for row in c.fetchall()}
        version = None
        if "views_schema" in present:
            c.execute("SELECT MAX(version) AS v FROM views_schema")
            version = c.fetchone()["v"]
        if "facts" in present and version != VIEWS_VERSION:
            for table in VIEW_TABLES:
                c.execute(f"DROP TABLE IF EXISTS {table}")
            c.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'tracking'")
            if c.fetchone():
                c.execute("DELETE FROM tracking WHERE application_name <> ?", (self.table_migration_identifier,))
        super()._create_table(c)
        if version != VIEWS_VERSION:
            c.execute("DELETE FROM views_schema")
            c.execute("INSERT INTO views_schema (version) VALUES (?)", (VIEWS_VERSION,))

    def _sql(self, sql: str) -> str:
        return sql.replace("%s", "?").replace("§.", "")

    def apply(self, batch: Rows | Sequence[tuple[dict, str]], tracking: Tracking) -> None:
        rows = batch if isinstance(batch, Rows) else rows_for(batch)
        with self.datastore.get_connection(commit=True) as conn:
            # In WAL mode, NORMAL skips the fsync of every commit (it syncs at checkpoints) and still never leaves
            # a torn database. A power cut may undo the last batches, always whole and with their tracking
            # record, as they share one transaction: the next catch-up applies them again. A killed process loses
            # nothing (the WAL is in the OS's cache). The setting belongs to the connection, so it is set here.
            conn.cursor().execute("PRAGMA synchronous = NORMAL")
            with conn.transaction(commit=True) as c:
                self._apply(c, rows, tracking)

    def _apply(self, c, rows: Rows, tracking: Tracking) -> None:
        latest = {}
        for subject in sorted(rows.unresolved):
            c.execute("SELECT concerns FROM timeline WHERE subject = ? AND concerns IS NOT NULL "
                      "ORDER BY position DESC LIMIT 1", (subject,))
            found = c.fetchone()
            if found:
                latest[subject] = found["concerns"]
        resolve_concerns(rows, latest)
        c.executemany("INSERT INTO facts (key, kind, mode, valid_from, position, recorded_at, value) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)", rows.facts)
        c.executemany("INSERT INTO fact_keys (key, kind, mode, in_state, first_position, first_valid_from) "
                      "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET first_valid_from = "
                      "excluded.first_valid_from WHERE excluded.first_valid_from < fact_keys.first_valid_from",
                      [(key, *known) for key, known in rows.keys.items()])
        c.executemany("INSERT INTO timeline (position, type, body, concerns, subject, decided_on, recorded_at, "
                      "record, retraction_of, decided) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows.timeline)
        self._take_out_of_force(c, rows)
        self._insert_tracking(c, tracking)

    def select(self, sql: str, params=()) -> list:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._sql(sql), params)
            return c.fetchall()

    def drop_deferred_indexes(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            for name in DEFERRED_INDEXES:
                c.execute(f"DROP INDEX IF EXISTS {name}")

    def ensure_indexes(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            for statement in index_statements(""):
                c.execute(statement)

    def analyze(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            # A sample per index is enough for the planner, and keeps this quick on large tables.
            c.execute("PRAGMA analysis_limit = 1000")
            c.execute("ANALYZE")

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            for table in VIEW_TABLES:
                c.execute(f"DELETE FROM {table}")
            # The tracking table's own bookkeeping row stays: the library reads it to know its layout.
            c.execute("DELETE FROM tracking WHERE application_name <> ?", (self.table_migration_identifier,))

    # The set-mode fact in force per key, found by one seek per key on the facts' primary key.
    LATEST_SQL = (
        "SELECT f.key, f.mode, f.valid_from, f.position, f.recorded_at, f.value FROM §.fact_keys k "
        "JOIN §.facts f ON f.key = k.key AND (f.valid_from, f.position) = ("
        "SELECT f2.valid_from, f2.position FROM §.facts f2 "
        "WHERE f2.key = k.key AND f2.valid_from <= %s AND f2.position <= %s "
        "AND (f2.retracted_by IS NULL OR f2.retracted_by > %s) "
        "ORDER BY f2.valid_from DESC, f2.position DESC LIMIT 1) "
        "WHERE k.mode = 'set' AND k.in_state AND k.first_position <= %s AND k.first_valid_from <= %s"
    )


class PostgresViews(ViewWriter, PostgresTrackingRecorder):
    def __init__(self, datastore, **kwargs):
        super().__init__(datastore, **kwargs)
        schema = Identifier(self.datastore.schema)
        for statement in (
            # Keys compare bytewise (COLLATE "C"), as on SQLite: a key prefix is then a range of the key indexes.
            "CREATE TABLE IF NOT EXISTS {s}.facts (key text COLLATE \"C\" NOT NULL, kind text NOT NULL, "
            "mode text NOT NULL, "
            "valid_from date NOT NULL, position bigint NOT NULL, recorded_at text NOT NULL, value text NOT NULL, "
            "retracted_by bigint)",
            # The one index of facts: every query starts from a key, and it keeps (key, position) unique.
            "CREATE UNIQUE INDEX IF NOT EXISTS facts_by_time ON {s}.facts (key, valid_from, position)",
            "CREATE TABLE IF NOT EXISTS {s}.fact_keys (key text COLLATE \"C\" PRIMARY KEY, kind text NOT NULL, "
            "mode text NOT NULL, "
            "in_state boolean NOT NULL, first_position bigint NOT NULL, first_valid_from date NOT NULL)",
            "CREATE TABLE IF NOT EXISTS {s}.timeline (position bigint PRIMARY KEY, type text NOT NULL, body text, "
            "concerns text, subject text, decided_on date NOT NULL, recorded_at text NOT NULL, record text NOT NULL, "
            "retraction_of bigint, retracted_by bigint, decided boolean NOT NULL DEFAULT false)",
            *index_statements("{s}."),
            "CREATE TABLE IF NOT EXISTS {s}.views_schema (version integer NOT NULL)",
        ):
            self.sql_create_statements.append(SQL(statement).format(s=schema))
        self.schema = schema

    def _create_table(self, c) -> None:
        s = self.schema
        # One process migrates; the others wait here and then find the layout current.
        c.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"styrkedja-views:{self.datastore.schema}",))
        c.execute("SELECT to_regclass(%s) AS facts, to_regclass(%s) AS meta",
                  (f'"{self.datastore.schema}".facts', f'"{self.datastore.schema}".views_schema'))
        present = c.fetchone()
        version = None
        if present["meta"] is not None:
            c.execute(SQL("SELECT MAX(version) AS v FROM {s}.views_schema").format(s=s))
            version = c.fetchone()["v"]
        if present["facts"] is not None and version != VIEWS_VERSION:
            c.execute(SQL("DROP TABLE IF EXISTS {s}.facts, {s}.fact_keys, {s}.timeline").format(s=s))
            if self.tracking_table_exists:
                c.execute(SQL("DELETE FROM {s}.{t} WHERE application_name <> %s").format(
                    s=s, t=Identifier(self.tracking_table_name)), (self.table_migration_identifier,))
        super()._create_table(c)
        if version != VIEWS_VERSION:
            c.execute(SQL("DELETE FROM {s}.views_schema").format(s=s))
            c.execute(SQL("INSERT INTO {s}.views_schema (version) VALUES (%s)").format(s=s), (VIEWS_VERSION,))

    def _sql(self, sql: str):
        return SQL(sql.replace("{", "{{").replace("}", "}}").replace("§.", "{s}.")).format(s=self.schema)

    def apply(self, batch: Rows | Sequence[tuple[dict, str]], tracking: Tracking) -> None:
        rows = batch if isinstance(batch, Rows) else rows_for(batch)
        s = self.schema
        with self.datastore.transaction(commit=True) as c:
            # The commit need not wait for the WAL flush: a crash of the server may undo the last batches, but
            # always whole and with their tracking record (one transaction), so the next catch-up applies them
            # again; readers see nothing that is not committed either way.
            c.execute("SET LOCAL synchronous_commit = off")
            latest = {}
            if rows.unresolved:
                c.execute(SQL("SELECT u.subject, (SELECT t.concerns FROM {s}.timeline t WHERE t.subject = u.subject "
                              "AND t.concerns IS NOT NULL ORDER BY t.position DESC LIMIT 1) AS concerns "
                              "FROM unnest(%s::text[]) AS u(subject)").format(s=s), (sorted(rows.unresolved),))
                latest = {row["subject"]: row["concerns"] for row in c.fetchall() if row["concerns"] is not None}
            resolve_concerns(rows, latest)
            # COPY: one round trip for all rows, no statement per row.
            with c.copy(SQL("COPY {s}.facts (key, kind, mode, valid_from, position, recorded_at, value) "
                            "FROM STDIN").format(s=s)) as copy:
                for row in rows.facts:
                    copy.write_row(row)
            if rows.keys:
                # One JSON text for all keys: orjson writes it in C, where six adapted arrays cost more Python
                # than the rest of the writing.
                c.execute(SQL(
                    "INSERT INTO {s}.fact_keys (key, kind, mode, in_state, first_position, first_valid_from) "
                    "SELECT k->>0, k->>1, k->>2, (k->>3)::boolean, (k->>4)::bigint, (k->>5)::date "
                    "FROM json_array_elements(%s::json) AS k "
                    "ON CONFLICT (key) DO UPDATE SET first_valid_from = excluded.first_valid_from "
                    "WHERE excluded.first_valid_from < {s}.fact_keys.first_valid_from").format(s=s),
                    (orjson.dumps([(key, *known) for key, known in rows.keys.items()]).decode(),))
            with c.copy(SQL("COPY {s}.timeline (position, type, body, concerns, subject, decided_on, recorded_at, "
                            "record, retraction_of, decided) FROM STDIN").format(s=s)) as copy:
                for row in rows.timeline:
                    copy.write_row(row)
            self._take_out_of_force(c, rows)
            self._insert_tracking(c, tracking)

    def select(self, sql: str, params=()) -> list:
        with self.datastore.transaction(commit=False) as c:
            c.execute(self._sql(sql), params)
            return c.fetchall()

    def drop_deferred_indexes(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(SQL("DROP INDEX IF EXISTS {names}").format(
                names=SQL(", ").join(SQL("{s}.{n}").format(s=self.schema, n=Identifier(name))
                                     for name in DEFERRED_INDEXES)))

    def ensure_indexes(self) -> None:
        self._two_at_a_time([SQL(statement).format(s=self.schema) for statement in index_statements("{s}.")])

    def analyze(self) -> None:
        # Not the record texts and fact values: no query filters on them, and sampling them costs most.
        self._two_at_a_time([SQL(statement).format(s=self.schema) for statement in (
            "ANALYZE {s}.timeline (position, type, body, concerns, subject, decided_on, recorded_at, retraction_of, "
            "retracted_by, decided)",
            "ANALYZE {s}.facts (key, kind, mode, valid_from, position, recorded_at, retracted_by), {s}.fact_keys")])

    def _two_at_a_time(self, statements: list) -> None:
        """Each statement in a transaction of its own, on two connections: the server builds two indexes (or
        samples two tables) at once while this thread only waits."""
        def run(statement) -> None:
            with self.datastore.transaction(commit=True) as c:
                # A build lost to a crash of the server is made again by the next opening (index_statements).
                c.execute("SET LOCAL synchronous_commit = off")
                # The two connections are the parallelism: parallel workers on top of them would only compete
                # for the same cores.
                c.execute("SET LOCAL max_parallel_maintenance_workers = 0")
                c.execute(statement)

        with ThreadPoolExecutor(2, thread_name_prefix="views-ddl") as pool:
            futures = [pool.submit(run, statement) for statement in statements]
        # Each statement is idempotent. One that failed (a pool of one connection times the second checkout out)
        # runs again, alone; a failure then is real and raised.
        for statement, future in zip(statements, futures, strict=True):
            if future.exception() is not None:
                run(statement)

    def clear(self) -> None:
        with self.datastore.transaction(commit=True) as c:
            c.execute(SQL("TRUNCATE {s}.facts, {s}.fact_keys, {s}.timeline").format(s=self.schema))
            # The tracking table's own bookkeeping row stays: the library reads it to know its layout.
            c.execute(SQL("DELETE FROM {s}.{t} WHERE application_name <> %s").format(
                s=self.schema, t=Identifier(self.tracking_table_name)), (self.table_migration_identifier,))

    LATEST_SQL = (
        "SELECT f.key, f.mode, f.valid_from, f.position, f.recorded_at, f.value FROM §.fact_keys k "
        "CROSS JOIN LATERAL (SELECT * FROM §.facts f2 "
        "WHERE f2.key = k.key AND f2.valid_from <= %s AND f2.position <= %s "
        "AND (f2.retracted_by IS NULL OR f2.retracted_by > %s) "
        "ORDER BY f2.valid_from DESC, f2.position DESC LIMIT 1) f "
        "WHERE k.mode = 'set' AND k.in_state AND k.first_position <= %s AND k.first_valid_from <= %s"
    )
