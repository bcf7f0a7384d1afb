"""Reading a tenant's log for catch-up: batches of ledger records, the next one folded while the last is written."""

from __future__ import annotations

import gc
import itertools
import queue
import threading
from collections.abc import Iterator

from eventsourcing.persistence import IntegrityError, JSONTranscoder, Tracking
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.application import Governance
from domain.ledger import LedgerEntry
from projections.views import Rows, ledger_rows, rows_for, stored_row

LEDGER_TOPIC = f"{LedgerEntry.__module__}:{LedgerEntry.__qualname__}"
TAIL_BATCH = 500  # what a runner woken by one command reads: usually a handful of entries
FAR_BEHIND_BATCH = 5000  # from the second full batch on: fewer commits, and the reading overlaps the writing
# After a catch-up this large (a rebuild, a new layout) the tables' statistics describe tables that are gone, and
# the planner would choose scans over the key-driven index seeks; the statistics are brought up to date at once.
ANALYZE_AFTER = 20_000
# A backlog at least this large, and at least as large as what is already projected (a rebuild, a new layout, a
# store restored without its read models), is written without the readers' indexes (views.DEFERRED_INDEXES),
# which are built once at the end.
BULK_MIN = 2_000


def stored_states(recorder, start: int, limit: int) -> list:
    """(notification id, topic, state) of the log from `start` on: the rows select_notifications reads, without
    the columns and the Notification objects (UUIDs, dict rows) that catch-up has no use for."""
    if isinstance(recorder, PostgresApplicationRecorder):
        statement = SQL("SELECT notification_id, topic, state FROM {s}.{t} WHERE notification_id >= %s "
                        "ORDER BY notification_id LIMIT %s").format(s=Identifier(recorder.datastore.schema),
                                                                    t=Identifier(recorder.events_table_name))
        with recorder.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            # Binary results: the state arrives as it is stored, not as hex text the server makes and we decode.
            curs.execute(statement, (start, limit), prepare=True, binary=True)
            return curs.fetchall()
    if isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid, topic, state FROM {recorder.events_table_name} WHERE rowid >= ? "
                      "ORDER BY rowid LIMIT ?", (start, limit))
            return c.fetchall()
    return [(n.id, n.topic, n.state) for n in recorder.select_notifications(start=start, limit=limit)]


def read_batch(app: Governance, start: int, limit: int) -> tuple[int, int, Rows] | None:
    """The log from notification `start` on: (last notification id, how many read, the rows to write), or None."""
    mapper = app.mapper
    if mapper.cipher is None and mapper.compressor is None and isinstance(mapper.transcoder, JSONTranscoder):
        stored = stored_states(app.recorder, start, limit)
        if not stored:
            return None
        rows = [stored_row(state) for _id, topic, state in stored if topic == LEDGER_TOPIC]
        return stored[-1][0], len(stored), rows_for(rows)
    # Encrypted or compressed at rest: only the mapper can read it.
    notifications = app.recorder.select_notifications(start=start, limit=limit)
    if not notifications:
        return None
    rows = ledger_rows(mapper.to_domain_event(n) for n in notifications if n.topic == LEDGER_TOPIC)
    return notifications[-1].id, len(notifications), rows_for(rows)


def batches_from(app: Governance, start: int, limit: int) -> Iterator[tuple[int, int, Rows]]:
    """The batches from `start` to the end of the log; the first ones grow from a tenth of `limit`, so that a
    writer reading ahead (Prefetch) starts on a small one instead of waiting for a whole large one."""
    size = max(1, limit // 10)
    while True:
        batch = read_batch(app, start, size)
        if batch is None:
            return
        yield batch
        if batch[1] < size:
            return
        start, size = batch[0] + 1, min(limit, size * 2)


class Prefetch:
    """Reads, decodes and folds the following batches in a thread, at most two ahead.

    The writer waits on the database (COPY, index upkeep, commit) with the GIL released, so on two cores the
    Python work on batch n+1 runs while the server writes batch n.
    """

    def __init__(self, app: Governance, start: int, limit: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(app, start, limit), name="catch-up-reader",
                                        daemon=True)
        self._thread.start()

    def _run(self, app: Governance, start: int, limit: int) -> None:
        try:
            for batch in batches_from(app, start, limit):
                if self._stopping.is_set():
                    return
                self._put(batch)
            self._put(None)
        except BaseException as error:  # handed to the writer, which raises it in its own thread
            self._put(error)

    def _put(self, item) -> None:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[tuple[int, int, Rows]]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()


def catch_up(app: Governance, views, tracked, limit_batches: int | None = None) -> int:
    """Apply every ledger entry after the tracked position, each batch in one transaction with its tracking.

    `tracked()` reads the tracking record. If another process applies a batch first, the tracking check (or a
    unique index) refuses ours as a whole; reading the tracking again goes on from there.
    """
    applied = batches = 0
    while limit_batches is None or batches < limit_batches:
        # The tail first: every query catches up before it reads, and then there is usually nothing new, which
        # this one read finds out.
        projected = tracked()
        first = read_batch(app, projected + 1, TAIL_BATCH)
        if first is None:
            break
        last, read, rows = first
        if read < TAIL_BATCH or limit_batches is not None:
            try:
                views.apply(rows, Tracking(app.name, last))
            except IntegrityError:
                continue
            applied += len(rows.timeline)
            batches += 1
            if read < TAIL_BATCH or batches == limit_batches:
                break
            projected, first = last, None
        # Far behind. A full first batch is written with the rest, after the decision on the indexes and while
        # the read-ahead already reads on.
        backlog = (app.recorder.max_notification_id() or 0) - projected
        bulk = limit_batches is None and backlog >= max(BULK_MIN, projected)
        if bulk:
            views.drop_deferred_indexes()
        # Far behind: larger batches, read ahead in a thread where the writing waits on a server. Without the
        # thread, larger batches still: fewer commits, each of which writes (and checkpoints) pages of facts that
        # the next batch changes again.
        # The batches in flight hold some hundred thousand small dicts and lists, which outlive many young-
        # generation collections: the cyclic collector kept rescanning them, a third of the decoding's and the
        # fold's CPU. They form no cycles (reference counting frees them), so it is off until the last batch.
        collecting = gc.isenabled()
        gc.disable()
        prefetch = Prefetch(app, last + 1, FAR_BEHIND_BATCH) if views.READ_AHEAD else None
        ahead = prefetch or batches_from(app, last + 1, FAR_BEHIND_BATCH * 4)
        try:
            for last, _read, rows in itertools.chain([first] if first else [], ahead):
                views.apply(rows, Tracking(app.name, last))
                applied += len(rows.timeline)
                batches += 1
                if batches == limit_batches:
                    break
            else:
                break
        except IntegrityError:
            continue
        finally:
            if prefetch is not None:
                prefetch.stop()
            if collecting:
                gc.enable()
            if bulk:  # also after an error; after a kill, the next opening builds them (views.index_statements)
                views.ensure_indexes()
    if applied >= ANALYZE_AFTER:
        views.analyze()
    return applied
