"""Two processes writing one tenant: each reads the other's decisions, so rules are checked on fresh state."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from integration_support import AUTUMN, BUDGET_MEETING, SPRING, by
from test_concurrency import check_ledger, command, prepare

from domain.application import SYNC_LIMIT, Governance
from domain.errors import AlreadyExistsError, DomainError, UnknownReferenceError
from projections.tenants import Tenants


@pytest.fixture
def two_processes(store_config):
    """Two registries on one store: two Governance instances with aggregate caches of their own, as two
    gunicorn workers have."""
    first, second = Tenants(store_config), Tenants(store_config)
    first.create("testkommun", "Testkommun", "1234")
    yield first.get("testkommun"), second.get("testkommun")
    first.close()
    second.close()


def goal_with_indicator(app: Governance) -> dict:
    app.open_term("T2023", 2023, 2026)
    answer = app.define_indicator("N1", "Andel behöriga lärare", "percent", "increase")
    app.establish_goal("G1", "T2023", "Goda kunskaper", by("KF", AUTUMN))
    return answer


def test_an_indicator_retracted_by_one_process_cannot_be_targeted_from_the_other(two_processes):
    a, b = two_processes
    defined = goal_with_indicator(a)
    # The second process has the goal, the indicator and KF in its cache from a command of its own.
    b.fix_goal_target("G1", "N1", 2024, Decimal("80"), by("KF", AUTUMN, "§2"))

    a.retract(defined["event_id"], "Felaktigt definierat nyckeltal")

    with pytest.raises(UnknownReferenceError) as refused:
        b.fix_goal_target("G1", "N1", 2025, Decimal("85"), by("KF", AUTUMN, "§3"))
    assert refused.value.field == "indicator"
    assert b.ledger_head() == a.ledger_head()


def test_a_process_far_behind_reads_the_others_decisions_before_it_records(two_processes):
    a, b = two_processes
    defined = goal_with_indicator(a)
    b.fix_goal_target("G1", "N1", 2024, Decimal("80"), by("KF", AUTUMN, "§2"))

    # More entries than one catch-up read takes, then the retraction b has not seen.
    for n in range(SYNC_LIMIT + 5):
        a.define_indicator(f"K{n}", f"Nyckeltal {n}", "percent", "increase")
    a.retract(defined["event_id"], "Felaktigt definierat nyckeltal")

    with pytest.raises(UnknownReferenceError):
        b.fix_goal_target("G1", "N1", 2025, Decimal("85"), by("KF", AUTUMN, "§3"))
    with pytest.raises(AlreadyExistsError):
        b.define_indicator(f"K{SYNC_LIMIT}", "Samma kod", "percent", "increase")


def test_alternating_writers_take_consecutive_positions_and_spend_a_budget_only_once(two_processes):
    a, b = two_processes
    a.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", AUTUMN))
    b.add_area("BUN", "GRUNDSKOLA", "Grundskola", by("BUN", AUTUMN))
    a.add_area("BUN", "FORSKOLA", "Förskola", by("BUN", AUTUMN))
    b.draft_plan("MRP2024", 2024)
    a.set_frame("MRP2024", "BUN", 2024, 100_000_000, [], by("KF", AUTUMN))
    b.set_allocation("BUN", 2024, "GRUNDSKOLA", 30_000_000, by("BUN", BUDGET_MEETING))
    a.set_allocation("BUN", 2024, "FORSKOLA", 70_000_000, by("BUN", BUDGET_MEETING))
    b.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))

    positions = []
    for n in range(6):
        writer = (a, b)[n % 2]
        positions.append(writer.reallocate("BUN", 2024, "GRUNDSKOLA", "FORSKOLA", 5_000_000,
                                           f"Omdisposition {n}", by("KF", SPRING, f"§{n + 10}"))["position"])
        positions.append((b, a)[n % 2].define_indicator(f"K{n}", f"Nyckeltal {n}", "percent", "increase")["position"])
    assert positions == list(range(positions[0], positions[0] + 12))

    # Each process has seen every reallocation: GRUNDSKOLA is spent, whichever process is asked.
    for writer in (a, b):
        with pytest.raises(DomainError):
            writer.reallocate("BUN", 2024, "GRUNDSKOLA", "FORSKOLA", 1, "En krona för mycket", by("BUN", SPRING))
        assert writer.body_year("BUN", 2024).allocations["GRUNDSKOLA"]["amount_sek"] == 0
    with pytest.raises(AlreadyExistsError):
        a.define_indicator("K5", "Samma kod som den andra processen tog", "percent", "increase")
    assert a.verify_ledger().ok and a.ledger_head() == b.ledger_head()


def test_two_processes_with_three_writers_each_take_every_position_once(two_processes):
    a, b = two_processes
    prepare(a)
    head_before = a.ledger_head()[0]
    acknowledged: list = []
    errors: list = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def work(app: Governance, thread: int) -> None:
        start.wait()
        for n in range(10):
            try:
                answer = command(app, thread, n)
            except BaseException as error:
                with lock:
                    errors.append(error)
            else:
                with lock:
                    acknowledged.append(answer)

    writers = [threading.Thread(target=work, args=((a, b)[t % 2], t)) for t in range(6)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert not any(w.is_alive() for w in writers), "a writer hung"
    # Both processes agree on the ledger and on the body-year every thread changed.
    check_ledger(a, head_before, acknowledged, errors, 60)
    check_ledger(b, head_before, acknowledged, errors, 60)


def test_a_process_that_recorded_last_records_again_without_reading_the_store(two_processes, monkeypatch):
    a, _ = two_processes
    goal_with_indicator(a)
    a.fix_goal_target("G1", "N1", 2024, Decimal("80"), by("KF", AUTUMN, "§2"))
    reads: list = []
    select_events = a.recorder.select_events

    def counted(*args, **kwargs):
        reads.append(args)
        return select_events(*args, **kwargs)

    monkeypatch.setattr(a.recorder, "select_events", counted)

    a.fix_goal_target("G1", "N1", 2025, Decimal("85"), by("KF", AUTUMN, "§3"))
    a.define_indicator("N2", "Andel elever med godkända betyg", "percent", "increase")

    # Its own last save showed the cache fresh, and the new code's id is proven unused by the insert.
    assert reads == []
    assert a.verify_ledger().ok


def test_a_command_refused_on_what_this_process_had_cached_is_decided_again_on_the_others_decisions(two_processes):
    a, b = two_processes
    a.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", AUTUMN))
    a.draft_plan("MRP2024", 2024)
    # The second process caches BUN's 2024 before it has a frame, from a follow-up of its own.
    b.report_financial("BUN", "2024-02", 1_000_000, 12_000_000, SPRING)
    a.set_frame("MRP2024", "BUN", 2024, 100_000_000, [], by("KF", AUTUMN, "§5"))

    answer = b.adjust_frame("BUN", 2024, 5_000_000, "Fler elever", by("KF", SPRING, "§6"))

    assert answer["position"] == a.ledger_head()[0]
    assert a.body_year("BUN", 2024).frame_sek == 105_000_000


def test_a_code_the_other_process_took_is_refused_though_this_one_never_read_it(two_processes):
    a, b = two_processes
    goal_with_indicator(a)
    b.fix_goal_target("G1", "N1", 2024, Decimal("80"), by("KF", AUTUMN, "§2"))
    a.define_indicator("N2", "Andel elever med godkända betyg", "percent", "increase")
    head = a.ledger_head()

    with pytest.raises(AlreadyExistsError):
        b.define_indicator("N2", "Samma kod", "percent", "increase")
    assert b.ledger_head() == head


def test_a_request_resent_to_the_other_process_gets_the_first_answer(two_processes):
    a, b = two_processes
    goal_with_indicator(a)
    b.fix_goal_target("G1", "N1", 2024, Decimal("80"), by("KF", AUTUMN, "§2"))
    key = ("nyckel-1", a.fingerprint("define_indicator", "N2"))
    first = a.define_indicator("N2", "Andel elever med godkända betyg", "percent", "increase", idempotency=key)

    again = b.define_indicator("N2", "Andel elever med godkända betyg", "percent", "increase", idempotency=key)

    assert again == first
    assert b.ledger_head()[0] == first["position"]
