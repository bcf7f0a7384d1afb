"""The library's PostgreSQL recorder, saving a command's events in one round trip instead of two."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import Connection
from psycopg.sql import SQL, Identifier, Literal

# A save of up to this many events is sent as one query string (a command saves its aggregates'
# events and their ledger entries, rarely more than a few dozen). Larger saves (a restore writes a
# whole tenant at once) go the library's way.
MAX_ROWS = 64


class TenantRecorder(PostgresApplicationRecorder):
    """Writes exactly what the library's recorder writes, into the same table, under the same lock.

    The library sends a save as a pipeline in an explicit transaction (BEGIN, lock timeout, table
    lock, NOTIFY, insert, sync, COMMIT, sync): two round trips, each statement composed anew
    (psycopg then renders it, quoting every identifier), and the events as one array of a composite
    type that psycopg dumps as text in Python. That was about a third of a command's CPU. Here a save
    of up to MAX_ROWS events is one query string of the same statements, rendered once per recorder
    but for the rows, whose values psycopg's C adapters quote: one round trip. PostgreSQL runs the
    statements of one query string as one transaction, so a failing insert (a version already
    stored) rolls back all of it and raises the IntegrityError the library raises.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._save_head: bytes | None = None

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not 0 < len(stored_events) <= MAX_ROWS:
            return super().insert_events(stored_events, **kwargs)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._save_statement(conn, stored_events))
            while curs.description is None and curs.nextset():
                pass  # past the results of the lock and NOTIFY to the insert's
            return [row["notification_id"] for row in curs.fetchall()]

    def _save_statement(self, conn: Connection, stored_events: Sequence[StoredEvent]) -> bytes:
        if self._save_head is None:
            lock = b"; ".join(statement.as_bytes(conn) for statement in self.lock_table_statements)
            notify = SQL("NOTIFY {0}").format(Identifier(self.channel_name)).as_bytes(conn)
            insert = SQL("INSERT INTO {0}.{1} (originator_id, originator_version, topic, state) VALUES ").format(
                Identifier(self.datastore.schema), Identifier(self.events_table_name)).as_bytes(conn)
            self._save_head = b"; ".join((lock, notify, insert))
        rows = b", ".join(
            b"(%s::uuid, %d, %s, %s)" % (Literal(str(e.originator_id)).as_bytes(conn), e.originator_version,
                                          Literal(e.topic).as_bytes(conn), Literal(e.state).as_bytes(conn))
            for e in stored_events)
        return self._save_head + rows + b" RETURNING notification_id"
