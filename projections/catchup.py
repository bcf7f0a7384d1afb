"""Reading a tenant's log for catch-up: batches of ledger records, the next one decoded while the last is written."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from eventsourcing.persistence import IntegrityError, JSONTranscoder, Tracking

from domain.application import Governance
from domain.ledger import LedgerEntry
from projections.views import ledger_rows, stored_row

LEDGER_TOPIC = f"{LedgerEntry.__module__}:{LedgerEntry.__qualname__}"
TAIL_BATCH = 500  # what a runner woken by one command reads: usually a handful of entries
FAR_BEHIND_BATCH = 5000  # from the second full batch on: fewer commits, and the reading overlaps the writing
# After a catch-up this large (a rebuild, a new layout) the tables' statistics describe tables that are gone, and
# the planner would choose scans over the key-driven index seeks; the statistics are brought up to date at once.
ANALYZE_AFTER = 20_000


def read_batch(app: Governance, start: int, limit: int) -> tuple[int, int, list[tuple[dict, str]]] | None:
    """The log from notification `start` on: (last notification id, how many read, the ledger rows), or None."""
    notifications = app.recorder.select_notifications(start=start, limit=limit)
    if not notifications:
        return None
    mapper = app.mapper
    ledger = [n for n in notifications if n.topic == LEDGER_TOPIC]
    if mapper.cipher is None and mapper.compressor is None and isinstance(mapper.transcoder, JSONTranscoder):
        rows = [stored_row(n.state) for n in ledger]
    else:  # encrypted or compressed at rest: only the mapper can read it
        rows = ledger_rows(mapper.to_domain_event(n) for n in ledger)
    return notifications[-1].id, len(notifications), rows


class Prefetch:
    """Reads and decodes the following batches in a thread, at most two ahead.

    The writer waits on the database (COPY, index upkeep, commit) with the GIL released, so on two cores the
    decoding of batch n+1 runs while batch n is written.
    """

    def __init__(self, app: Governance, start: int, limit: int) -> None:
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(app, start, limit), name="catch-up-reader",
                                        daemon=True)
        self._thread.start()

    def _run(self, app: Governance, start: int, limit: int) -> None:
        try:
            while not self._stopping.is_set():
                batch = read_batch(app, start, limit)
                self._put(batch)
                if batch is None or batch[1] < limit:
                    self._put(None)
                    return
                start = batch[0] + 1
        except BaseException as error:  # handed to the writer, which raises it in its own thread
            self._put(error)

    def _put(self, item) -> None:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[tuple[int, int, list[tuple[dict, str]]]]:
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
        start = tracked() + 1
        batch = read_batch(app, start, TAIL_BATCH)
        if batch is None:
            break
        last, read, rows = batch
        try:
            views.apply(rows, Tracking(app.name, last))
        except IntegrityError:
            continue
        applied += len(rows)
        batches += 1
        if read < TAIL_BATCH or batches == limit_batches:
            break
        # Far behind: larger batches, read ahead in a thread.
        prefetch = Prefetch(app, last + 1, FAR_BEHIND_BATCH)
        try:
            for last, _read, rows in prefetch:
                views.apply(rows, Tracking(app.name, last))
                applied += len(rows)
                batches += 1
                if batches == limit_batches:
                    break
            else:
                break
        except IntegrityError:
            continue
        finally:
            prefetch.stop()
    if applied >= ANALYZE_AFTER:
        views.analyze()
    return applied
