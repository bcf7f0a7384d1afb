"""Property: for random histories, TenantViews.state as of D known at position P equals a naive replay of the ledger."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from domain.decisions import Decision
from domain.errors import DomainError
from projections.tenants import Tenants

_slugs = itertools.count(1)

AREAS = ("GRUNDSKOLA", "FORSKOLA")
CODES = ("U1", "U2")


def by(body: str, when: tuple[dt.date, int]) -> Decision:
    date, delay = when
    return Decision(body, date, paragraph="§1", effective_from=date + dt.timedelta(days=delay))


def decided(start: str, end: str):
    """A decision date in a window, in force the same day or some days after."""
    return st.tuples(st.dates(dt.date.fromisoformat(start), dt.date.fromisoformat(end)),
                     st.sampled_from([0, 0, 0, 10, 45, 120]))


ANY_TIME = decided("2023-09-01", "2025-06-30")
MILLIONS = st.integers(1, 12).map(lambda n: n * 250_000)

OPERATIONS = st.one_of(
    st.tuples(st.just("frame"), st.sampled_from([2024, 2025]), st.integers(80, 120).map(lambda n: n * 1_000_000),
              ANY_TIME),
    st.tuples(st.just("adjust"), st.sampled_from([2024, 2025]), st.sampled_from([-1, 1]), MILLIONS, ANY_TIME),
    st.tuples(st.just("target"), st.sampled_from([2024, 2025, 2026]),
              st.sampled_from(["80", "82.5", "85", "87", "90"]), ANY_TIME),
    st.tuples(st.just("allocate"), st.sampled_from(AREAS), st.integers(10, 90).map(lambda n: n * 1_000_000),
              ANY_TIME),
    st.tuples(st.just("reallocate"), st.sampled_from(AREAS), MILLIONS, decided("2024-01-01", "2024-12-31")),
    st.tuples(st.just("issue"), st.sampled_from(CODES), st.dates(dt.date(2023, 9, 1), dt.date(2023, 12, 31))),
    st.tuples(st.just("revise"), st.sampled_from(CODES), st.sampled_from(["Ny titel", "Annan titel", None]),
              st.sampled_from([dt.date(2026, 6, 30), dt.date(2027, 3, 31), None]),
              decided("2024-01-01", "2025-06-30")),
    st.tuples(st.just("withdraw"), st.sampled_from(CODES), decided("2024-01-01", "2025-06-30")),
    st.tuples(st.just("retract"), st.integers(0, 10_000)),
)

# Entries a random retraction may point at (the set-up's entries are left alone).
RETRACTABLE = {"FrameSet", "FrameAdjusted", "TargetValueFixed", "AllocationSet", "BudgetReallocated",
               "AssignmentIssued", "AssignmentRevised", "AssignmentWithdrawn"}


def set_up(app) -> None:
    """BUN with two areas, goal IM1, MRP2024 with BUN's 2024 frame and an adopted detailed budget for 2024."""
    early = (dt.date(2023, 1, 16), 0)
    app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", early))
    for area in AREAS:
        app.add_area("BUN", area, area.title(), by("BUN", early))
    app.open_term("MP2023", 2023, 2026)
    app.define_indicator("N00002", "Behöriga lärare", "percent", "increase")
    app.establish_goal("IM1", "MP2023", "Alla barn lyckas", by("KF", early))
    app.draft_plan("MRP2024", 2024)
    app.set_frame("MRP2024", "BUN", 2024, 100_000_000, [], by("KF", (dt.date(2023, 11, 20), 42)))
    app.adopt_plan("MRP2024", by("KF", (dt.date(2023, 11, 20), 0)))
    app.set_allocation("BUN", 2024, "GRUNDSKOLA", 60_000_000, by("BUN", (dt.date(2023, 12, 11), 0)))
    app.set_allocation("BUN", 2024, "FORSKOLA", 40_000_000, by("BUN", (dt.date(2023, 12, 11), 0)))
    app.adopt_budget("BUN", 2024, by("BUN", (dt.date(2023, 12, 11), 0)))


def run(app, operation: tuple, recorded: list[dict]) -> None:
    """Try one command; a refusal records nothing and is simply skipped."""
    kind, *args = operation
    try:
        if kind == "frame":
            year, amount, when = args
            answer = app.set_frame("MRP2024", "BUN", year, amount, [], by("KF", when))
        elif kind == "adjust":
            year, sign, amount, when = args
            answer = app.adjust_frame("BUN", year, sign * amount, "Justering", by("KF", when))
        elif kind == "target":
            year, value, when = args
            answer = app.fix_goal_target("IM1", "N00002", year, Decimal(value), by("KF", when))
        elif kind == "allocate":
            area, amount, when = args
            answer = app.set_allocation("BUN", 2025, area, amount, by("BUN", when))
        elif kind == "reallocate":
            source, amount, when = args
            [target] = [a for a in AREAS if a != source]
            answer = app.reallocate("BUN", 2024, source, target, amount, "Omdisposition", by("BUN", when))
        elif kind == "issue":
            code, date = args
            answer = app.issue_assignment(code, "BUN", f"Uppdrag {code}", "Redovisas till KF.",
                                          dt.date(2026, 12, 31), by("KF", (date, 0)))
        elif kind == "revise":
            code, title, due, when = args
            answer = app.revise_assignment(code, by("KF", when), title=title, due=due)
        elif kind == "withdraw":
            code, when = args
            answer = app.withdraw_assignment(code, "Inaktuellt", by("KF", when))
        else:
            [index] = args
            candidates = [r for r in recorded if r["type"] in RETRACTABLE]
            if not candidates:
                return
            answer = app.retract(candidates[index % len(candidates)]["id"], "Fel")
    except DomainError:
        return
    recorded.append(app.entry_at(answer["position"]).as_record())


# --- the naive side: one pass over the ledger, written from what each event means -------------------


def effective(record: dict) -> dt.date:
    decision = record["decision"]
    return dt.date.fromisoformat(decision["effective_from"] or decision["date"])


def naive_state(records: list[dict], as_of: dt.date, upto: int) -> dict:
    """What was in force on as_of, by the records up to position `upto`, applied in decision-time order."""
    known = [r for r in records if r["position"] <= upto]
    at = {r["position"]: r for r in known}
    retracted: set[int] = set()
    for retraction in (r for r in known if r["type"] == "EventRetracted"):
        undone = at[retraction["data"]["retracted_position"]]
        retracted.add(undone["position"])
        if undone["type"] == "AssignmentIssued":
            # The uppdrag never existed: nothing recorded about it until then is in force either.
            code = undone["data"]["code"]
            retracted |= {r["position"] for r in known
                          if r["position"] < retraction["position"] and r["data"].get("assignment") == code}
    live = [r for r in known if r["decision"] and r["position"] not in retracted and effective(r) <= as_of]
    live.sort(key=lambda r: (effective(r), r["position"]))

    bases: dict[tuple, int] = {}
    deltas: dict[tuple, int] = defaultdict(int)
    allocations: dict[tuple, dict[str, int]] = {}
    adopted: set[tuple] = set()
    targets: dict[tuple, object] = {}
    assignments: dict[str, dict] = {}
    for record in live:
        d, kind = record["data"], record["type"]
        if kind == "FrameSet":
            bases[(d["body"], d["year"])] = d["amount_sek"]
        elif kind == "FrameAdjusted":
            deltas[(d["body"], d["year"])] += d["delta_sek"]
        elif kind == "AllocationSet":
            allocations.setdefault((d["body"], d["year"]), {})[d["area"]] = d["amount_sek"]
        elif kind == "BudgetReallocated":
            lines = allocations.setdefault((d["body"], d["year"]), {})
            lines[d["from_area"]] = lines.get(d["from_area"], 0) - d["amount_sek"]
            lines[d["to_area"]] = lines.get(d["to_area"], 0) + d["amount_sek"]
        elif kind == "OperationalPlanAdopted":
            adopted.add((d["body"], d["year"]))
        elif kind == "TargetValueFixed":
            targets[(d["goal"], d["indicator"], d["year"])] = d["value"]
        elif kind == "AssignmentIssued":
            assignments[d["code"]] = {"state": "active", "title": d["title"], "due": d["due"], "revisions": 0}
        elif kind == "AssignmentRevised":
            issued = assignments[d["assignment"]]
            issued["title"] = d["title"] or issued["title"]
            issued["due"] = d["due"] or issued["due"]
            issued["revisions"] += 1
        elif kind == "AssignmentWithdrawn":
            assignments[d["assignment"]]["state"] = "withdrawn"
    return {
        "frames": {key: base + deltas[key] for key, base in bases.items()},
        "allocations": {key: lines for key, lines in allocations.items() if lines},
        "adopted": adopted,
        "targets": targets,
        "assignments": {code: tuple(a.values()) for code, a in assignments.items()},
    }


def modelled(state: dict) -> dict:
    """The same fields, read from the projected state document."""
    bodies = state["bodies"]
    return {
        "frames": {(b["code"], f["year"]): f["amount_sek"] for b in bodies for f in b["frames"]},
        "allocations": {(b["code"], budget["year"]): {row["area"]: row["amount_sek"] for row in budget["allocations"]}
                        for b in bodies for budget in b["budgets"] if budget["allocations"]},
        "adopted": {(b["code"], budget["year"]) for b in bodies for budget in b["budgets"] if budget["adopted"]},
        "targets": {(g["code"], t["indicator"], t["year"]): t["value"] for g in state["goals"] for t in g["targets"]},
        "assignments": {a.get("code"): (a["state"], a["title"], a["due"], a["revisions"])
                        for a in state["assignments"]},
    }


@pytest.fixture
def tenants(store_config):
    made = Tenants(store_config, inline_projections=False)
    yield made
    made.close()


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=st.lists(OPERATIONS, min_size=10, max_size=30), data=st.data())
def test_the_projected_state_equals_a_naive_replay_of_the_ledger_at_any_as_of_and_known_at(
        tenants, operations, data):
    slug = f"prop-{next(_slugs)}"
    tenants.create(slug, "Egenskapskommun", "1234")
    app = tenants.get(slug)
    set_up(app)
    recorded: list[dict] = []
    for operation in operations:
        run(app, operation, recorded)
    by_position = {r["position"]: r for r in recorded}
    for kind in sorted({r["type"] for r in recorded}):
        event(f"recorded {kind}")  # shown by --hypothesis-show-statistics
    for kind in sorted({by_position[r["data"]["retracted_position"]]["type"]
                        for r in recorded if r["type"] == "EventRetracted"}):
        event(f"retracted {kind}")
    views = tenants.views(slug)
    views.catch_up()
    records = [entry.as_record() for entry in app.ledger_entries()]
    head = records[-1]["position"]
    assert views.head() == head

    points = data.draw(st.lists(st.tuples(st.dates(dt.date(2023, 6, 1), dt.date(2026, 12, 31)),
                                          st.integers(2, head)), min_size=3, max_size=6), label="(as_of, P)")
    # Positions 1 and 2 (KF and KS) are one command with one record time, so P starts at 2.
    for as_of, upto in [*points, (dt.date(2026, 12, 31), head)]:
        known_at = dt.datetime.fromisoformat(records[upto - 1]["recorded_at"])
        state = views.state(as_of, known_at)
        assert state["position"] == upto
        assert modelled(state) == naive_state(records, as_of, upto), (as_of, upto)
