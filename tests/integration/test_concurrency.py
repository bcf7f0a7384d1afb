"""Concurrent writers into one tenant: every acknowledged command holds one gap-free position of a valid chain."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter

from integration_support import AUTUMN, BUDGET_MEETING, SPRING, by

from domain.application import Governance
from domain.stores import StoreConfig
from projections.tenants import Tenants

MOVE_SEK = 10_000


def prepare(app: Governance) -> None:
    """A nämnd with an adopted 2024 budget: the body-year every thread reallocates on and reports to."""
    app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", AUTUMN))
    app.add_area("BUN", "GRUNDSKOLA", "Grundskola", by("BUN", AUTUMN))
    app.add_area("BUN", "FORSKOLA", "Förskola", by("BUN", AUTUMN))
    app.draft_plan("MRP2024", 2024)
    app.set_frame("MRP2024", "BUN", 2024, 100_000_000, [], by("KF", AUTUMN))
    app.set_allocation("BUN", 2024, "GRUNDSKOLA", 60_000_000, by("BUN", BUDGET_MEETING))
    app.set_allocation("BUN", 2024, "FORSKOLA", 40_000_000, by("BUN", BUDGET_MEETING))
    app.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))


def command(app: Governance, thread: int, n: int) -> tuple[str, dict]:
    """Mostly new indicators (no aggregate conflict), every fifth a reallocation and every fifth a follow-up
    on the one shared body-year (aggregate conflicts as well as ledger conflicts)."""
    if n % 5 == 1:
        return "reallocation", app.reallocate("BUN", 2024, "GRUNDSKOLA", "FORSKOLA", MOVE_SEK,
                                              f"Omdisposition {thread}-{n}", by("BUN", SPRING))
    if n % 5 == 3:
        return "follow-up", app.report_financial("BUN", "2024-08", 1_000 * thread + n, 99_000_000,
                                                 dt.date(2024, 9, 10), area="FORSKOLA")
    return "indicator", app.define_indicator(f"K{thread}-{n}", f"Nyckeltal {thread}-{n}", "percent", "increase")


def hammer(app: Governance, threads: int, per_thread: int) -> tuple[list[tuple[str, dict]], list[BaseException]]:
    """Run the commands from many threads at once; answer the acknowledged ones and the errors."""
    acknowledged: list[tuple[str, dict]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work(thread: int) -> None:
        start.wait()
        for n in range(per_thread):
            try:
                answer = command(app, thread, n)
            except BaseException as error:
                with lock:
                    errors.append(error)
            else:
                with lock:
                    acknowledged.append(answer)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(w.is_alive() for w in workers), "a writer hung"
    return acknowledged, errors


def check_ledger(app: Governance, head_before: int, acknowledged: list[tuple[str, dict]],
                 errors: list[BaseException], commands: int) -> None:
    assert errors == [], f"{len(errors)} commands failed, e.g. {errors[0]!r}"
    assert len(acknowledged) == commands

    entries = app.ledger_entries()
    positions = [e.position for e in entries]
    assert positions == list(range(1, len(entries) + 1)), "the ledger has a gap or a duplicate"
    # Every command records exactly one entry: nothing unacknowledged, nothing twice.
    assert len(entries) == head_before + commands
    answered = [a["position"] for _, a in acknowledged]
    assert len(set(answered)) == len(answered), "two commands were acknowledged with the same position"
    assert sorted(answered) == list(range(head_before + 1, head_before + commands + 1))

    by_position = {e.position: e.as_record() for e in entries}
    for _, answer in acknowledged:
        record = by_position[answer["position"]]
        assert (record["id"], record["hash"], record["recorded_at"]) == (
            answer["event_id"], answer["hash"], answer["recorded_at"])
    recorded = [by_position[p]["recorded_at"] for p in positions]
    assert [dt.datetime.fromisoformat(r) for r in recorded] == sorted(dt.datetime.fromisoformat(r) for r in recorded)

    result = app.verify_ledger()
    assert (result.ok, result.checked, result.first_bad_position) == (True, len(entries), None)

    # The shared body-year took every acknowledged reallocation and follow-up exactly once.
    kinds = Counter(kind for kind, _ in acknowledged)
    body_year = app.body_year("BUN", 2024)
    assert body_year.allocations["GRUNDSKOLA"]["amount_sek"] == 60_000_000 - MOVE_SEK * kinds["reallocation"]
    assert body_year.allocations["FORSKOLA"]["amount_sek"] == 40_000_000 + MOVE_SEK * kinds["reallocation"]
    follow_ups = [p for p, r in by_position.items() if p > head_before and r["type"] == "FinancialOutcomeReported"
                  and r["data"]["body"] == "BUN" and r["data"]["year"] == 2024]
    assert len(follow_ups) == kinds["follow-up"]


def run(config: StoreConfig, threads: int, per_thread: int) -> None:
    tenants = Tenants(config)
    try:
        tenants.create("testkommun", "Testkommun", "1234")
        app = tenants.get("testkommun")
        prepare(app)
        head_before = app.ledger_head()[0]
        started = time.perf_counter()
        acknowledged, errors = hammer(app, threads, per_thread)
        elapsed = time.perf_counter() - started
        print(f"\n{'PostgreSQL' if config.is_postgres else 'SQLite'}: {threads} threads x {per_thread} commands "
              f"in {elapsed:.2f} s ({threads * per_thread / elapsed:.0f} commands/s)")
        check_ledger(app, head_before, acknowledged, errors, threads * per_thread)
    finally:
        tenants.close()


def test_eight_writers_on_postgresql_get_exactly_the_positions_one_to_n(clean_pg, tmp_path):
    run(StoreConfig(data_dir=tmp_path, database_url=clean_pg, pool_size=5), threads=8, per_thread=25)


def test_four_writers_on_sqlite_get_exactly_the_positions_one_to_n(tmp_path):
    run(StoreConfig(data_dir=tmp_path), threads=4, per_thread=25)
