"""State as of a decision date and known at a record time, by TenantViews and over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

from domain.context import current_actor
from domain.decisions import Decision
from domain.errors import DomainError
from domain.stores import StoreConfig
from projections.tenants import Tenants
from web import create_app

SLUG = "tidsresa"
RECORDER = "registrar-1"


@pytest.fixture(autouse=True)
def no_actor_left_over():
    """Each test records as nobody unless it says so; a request's actor is not carried into the next test."""
    token = current_actor.set(None)
    yield
    current_actor.reset(token)


def by(body: str, date: str, paragraph: str = "§1", effective_from: str | None = None) -> Decision:
    return Decision(body, dt.date.fromisoformat(date), paragraph=paragraph,
                    effective_from=dt.date.fromisoformat(effective_from) if effective_from else None)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def record_history(app) -> dict[str, dict]:
    """A municipality's decisions, several recorded out of order; answers by name, positions in comments."""
    a: dict[str, dict] = {}
    # KF (1) and KS (2) come from provisioning.
    a["bun"] = app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", "2023-06-12"))  # 3
    a["grundskola"] = app.add_area("BUN", "GRUNDSKOLA", "Grundskola", by("BUN", "2023-06-20", "§5"))  # 4
    a["forskola"] = app.add_area("BUN", "FORSKOLA", "Förskola", by("BUN", "2023-06-20", "§6"))  # 5
    a["term"] = app.open_term("MP2023", 2023, 2026)  # 6
    a["indicator"] = app.define_indicator("N00002", "Behöriga lärare", "percent", "increase", "N00002")  # 7
    a["goal"] = app.establish_goal("IM1", "MP2023", "Alla barn lyckas i skolan", by("KF", "2023-06-12", "§2"))  # 8
    a["t85"] = app.fix_goal_target("IM1", "N00002", 2024, Decimal(85), by("KF", "2023-11-20", "§104"))  # 9
    a["plan"] = app.draft_plan("MRP2024", 2024)  # 10
    # Decided at the November meeting, in force from the new year.
    a["frame"] = app.set_frame("MRP2024", "BUN", 2024, 100_000_000, [],
                               by("KF", "2023-11-20", "§105", effective_from="2024-01-01"))  # 11
    a["plan_adopted"] = app.adopt_plan("MRP2024", by("KF", "2023-11-20", "§106"))  # 12
    a["alloc_g"] = app.set_allocation("BUN", 2024, "GRUNDSKOLA", 60_000_000, by("BUN", "2023-12-11", "§20"))  # 13
    a["alloc_f"] = app.set_allocation("BUN", 2024, "FORSKOLA", 40_000_000, by("BUN", "2023-12-11", "§21"))  # 14
    a["budget"] = app.adopt_budget("BUN", 2024, by("BUN", "2023-12-11", "§22"))  # 15
    a["issue"] = app.issue_assignment("U1", "BUN", "Utred skolskjutsarna", "Redovisas till KF.",
                                      dt.date(2024, 12, 31), by("KF", "2024-02-12", "§30"))  # 16
    # The målvärde is revised at the February meeting, in force from 1 March.
    a["t90"] = app.fix_goal_target("IM1", "N00002", 2024, Decimal(90),
                                   by("KF", "2024-02-12", "§31", effective_from="2024-03-01"))  # 17
    # Out of order: a January decision on the same målvärde, registered after the February revision.
    a["t87"] = app.fix_goal_target("IM1", "N00002", 2024, Decimal(87), by("KF", "2024-01-15", "§12"))  # 18
    # Out of order: a målvärde decided before anything else here was decided.
    a["t2025"] = app.fix_goal_target("IM1", "N00002", 2025, Decimal(88), by("KF", "2023-10-16", "§90"))  # 19
    a["realloc"] = app.reallocate("BUN", 2024, "GRUNDSKOLA", "FORSKOLA", 1_000_000, "Fler barn i förskolan",
                                  by("BUN", "2024-03-18", "§40"))  # 20
    a["adj1"] = app.adjust_frame("BUN", 2024, 2_000_000, "Lönerevision", by("KF", "2024-04-22", "§50"))  # 21
    # Two decisions on one målvärde at the same meeting: the one recorded later applies.
    a["same_a"] = app.fix_goal_target("IM1", "N00002", 2026, Decimal(91), by("KF", "2024-04-22", "§51"))  # 22
    a["same_b"] = app.fix_goal_target("IM1", "N00002", 2026, Decimal(93), by("KF", "2024-04-22", "§52"))  # 23
    a["revise"] = app.revise_assignment("U1", by("KF", "2024-05-13", "§60", effective_from="2024-06-01"),
                                        due=dt.date(2025, 6, 30))  # 24
    a["adj2"] = app.adjust_frame("BUN", 2024, -500_000, "Besparing", by("KF", "2024-06-17", "§70"))  # 25
    a["status"] = app.report_assignment_status("U1", "ongoing", "2024-T1", "Utredningen pågår.",
                                               dt.date(2024, 5, 2))  # 26
    a["withdraw"] = app.withdraw_assignment("U1", "Frågan utreds regionalt.", by("KF", "2024-09-16", "§80"))  # 27
    a["retract_adj1"] = app.retract(a["adj1"]["event_id"], "Beslutet gällde en annan nämnd.")  # 28
    a["retract_same_b"] = app.retract(a["same_b"]["event_id"], "Felskrivet målvärde.")  # 29
    return a


HEAD = 29


class World:
    def __init__(self, tenants: Tenants, answers: dict[str, dict]):
        self.tenants = tenants
        self.answers = answers
        self.app = tenants.get(SLUG)
        self.views = tenants.views(SLUG)
        self.views.catch_up()

    def known(self, name: str) -> dt.datetime:
        """The record time a command answered: known_at as of just after it was recorded."""
        return dt.datetime.fromisoformat(self.answers[name]["recorded_at"])

    def state(self, as_of: str, known: str | None = None) -> dict:
        return self.views.state(day(as_of), self.known(known) if known else None)


def build(config: StoreConfig, inline_projections: bool | None = None) -> tuple[Tenants, dict[str, dict]]:
    tenants = Tenants(config, inline_projections=inline_projections)
    token = current_actor.set(RECORDER)
    try:
        tenants.create(SLUG, "Tidsresans kommun", "1234")
        answers = record_history(tenants.get(SLUG))
    finally:
        current_actor.reset(token)
    assert answers["retract_same_b"]["position"] == HEAD
    return tenants, answers


@pytest.fixture
def world(store_config):
    tenants, answers = build(store_config)
    yield World(tenants, answers)
    tenants.close()


def target(state: dict, year: int, goal: str = "IM1", indicator: str = "N00002"):
    goals = [g for g in state["goals"] if g.get("code") == goal]
    assert len(goals) <= 1, goals
    if not goals:
        return None
    values = [t["value"] for t in goals[0]["targets"] if t["indicator"] == indicator and t["year"] == year]
    assert len(values) <= 1, values
    return values[0] if values else None


def body_of(state: dict, code: str) -> dict | None:
    found = [b for b in state["bodies"] if b["code"] == code]
    return found[0] if found else None


def frame(state: dict, year: int = 2024, body: str = "BUN"):
    frames = [f for f in body_of(state, body)["frames"] if f["year"] == year]
    return frames[0]["amount_sek"] if frames else None


def lines(state: dict, year: int = 2024, body: str = "BUN") -> dict[str, int] | None:
    budgets = [b for b in body_of(state, body)["budgets"] if b["year"] == year]
    if not budgets:
        return None
    return {line["area"]: line["amount_sek"] for line in budgets[0]["allocations"]}


def assignment(state: dict, code: str = "U1") -> dict | None:
    found = [a for a in state["assignments"] if a.get("code") == code]
    return found[0] if found else None


# --- TenantViews.state at chosen (as_of, known_at) pairs --------------------------------------------


def test_a_target_value_follows_its_decisions_by_effective_date_and_by_record_time(world):
    # (as_of, known_at as just after the named command, expected målvärde IM1/N00002/2024), by hand:
    expected = [
        ("2023-11-19", None, None),  # before the November decision
        ("2023-12-31", None, 85),
        ("2024-01-20", None, 87),  # the January decision, registered late, applies from 15 January
        ("2024-02-29", None, 87),  # the revision is decided but not yet in force
        ("2024-03-15", None, 90),  # the revision in force from 1 March
        ("2024-02-29", "t90", 85),  # known before the January decision was registered
        ("2024-03-15", "t90", 90),
        ("2024-03-15", "issue", 85),  # known before the revision was recorded
        ("2025-01-01", "t85", 85),
        ("2025-01-01", "bun", None),  # known before any målvärde was recorded
    ]
    got = [(as_of, known, target(world.state(as_of, known), 2024)) for as_of, known, _ in expected]
    assert got == expected


def test_a_target_decided_before_everything_else_applies_from_its_decision_date_once_known(world):
    assert target(world.state("2023-10-15"), 2025) is None
    assert target(world.state("2023-10-16"), 2025) == 88
    assert target(world.state("2023-10-16", "t87"), 2025) is None
    assert target(world.state("2023-10-16", "t2025"), 2025) == 88


def test_same_date_decisions_apply_in_record_order_and_retracting_the_later_brings_back_the_earlier(world):
    assert target(world.state("2024-04-21"), 2026) is None
    assert target(world.state("2024-04-22", "same_a"), 2026) == 91
    assert target(world.state("2024-04-22", "same_b"), 2026) == 93
    assert target(world.state("2024-05-01", "retract_adj1"), 2026) == 93  # the retraction not yet recorded
    assert target(world.state("2024-05-01"), 2026) == 91


def test_a_frame_applies_from_its_effective_date_and_a_retracted_adjustment_counts_only_until_retracted(world):
    # Decided in November, in force from the new year: the detailed budget exists before the frame does.
    december = world.state("2023-12-31")
    assert frame(december) is None
    assert lines(december) == {"FORSKOLA": 40_000_000, "GRUNDSKOLA": 60_000_000}
    assert body_of(december, "BUN")["budgets"][0]["adopted"] is True
    assert frame(world.state("2024-01-01")) == 100_000_000
    assert frame(world.state("2024-05-01", "realloc")) == 100_000_000  # before the adjustment was recorded
    assert frame(world.state("2024-05-01", "adj1")) == 102_000_000
    assert frame(world.state("2024-07-01", "withdraw")) == 101_500_000  # before the retraction
    assert frame(world.state("2024-05-01")) == 100_000_000  # the adjustment is retracted
    assert frame(world.state("2024-07-01")) == 99_500_000
    july = body_of(world.state("2024-07-01"), "BUN")["frames"][0]
    assert july["base_amount_sek"] == 100_000_000
    assert [adj["delta_sek"] for adj in july["adjustments"]] == [-500_000]


def test_a_reallocation_moves_money_between_lines_from_its_decision_date_once_recorded(world):
    assert lines(world.state("2024-03-17")) == {"FORSKOLA": 40_000_000, "GRUNDSKOLA": 60_000_000}
    assert lines(world.state("2024-03-18")) == {"FORSKOLA": 41_000_000, "GRUNDSKOLA": 59_000_000}
    assert lines(world.state("2024-04-01", "t2025")) == {"FORSKOLA": 40_000_000, "GRUNDSKOLA": 60_000_000}


def test_an_assignment_is_revised_from_the_revisions_effective_date_and_withdrawn_once_known(world):
    assert assignment(world.state("2024-02-11")) is None
    march = assignment(world.state("2024-03-01"))
    assert (march["state"], march["due"], march["revisions"], march["status"]) == ("active", "2024-12-31", 0, None)
    may = assignment(world.state("2024-05-20"))  # revision decided 13 May, in force from 1 June
    assert (may["due"], may["revisions"], may["status"]) == ("2024-12-31", 0, "ongoing")
    june = assignment(world.state("2024-06-15"))
    assert (june["state"], june["due"], june["revisions"]) == ("active", "2025-06-30", 1)
    october = assignment(world.state("2024-10-01"))
    assert (october["state"], october["withdrawal"]["reason"]) == ("withdrawn", "Frågan utreds regionalt.")
    assert assignment(world.state("2024-10-01", "status"))["state"] == "active"
    assert assignment(world.state("2024-06-15", "adj2"))["status"] is None  # status not yet reported


def test_the_state_names_the_position_and_the_record_time_it_was_built_on(world):
    now = world.state("2024-06-30")
    assert (now["tenant"], now["as_of"], now["known_at"], now["position"]) == (SLUG, "2024-06-30", None, HEAD)
    known = world.known("t87")
    then = world.views.state(day("2024-06-30"), known)
    assert then["position"] == world.answers["t87"]["position"] == 18
    assert then["known_at"] == world.answers["t87"]["recorded_at"]
    # The same moment written with another offset is the same record time.
    elsewhere = known.astimezone(dt.timezone(dt.timedelta(hours=2)))
    assert world.views.state(day("2024-06-30"), elsewhere) == then
    before_everything = world.views.state(day("2024-06-30"), dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    assert before_everything["position"] == 0
    assert (before_everything["bodies"], before_everything["goals"]) == ([], [])


# --- retracted establishments and re-established codes ----------------------------------------------


@pytest.fixture
def sqlite_tenants(tmp_path):
    tenants = Tenants(StoreConfig(data_dir=tmp_path / "generations"))
    tenants.create(SLUG, "Tidsresans kommun", "1234")
    yield tenants
    tenants.close()


def caught_up(tenants: Tenants):
    views = tenants.views(SLUG)
    views.catch_up()
    return views


def test_an_assignment_whose_issue_was_retracted_is_not_in_force_although_it_had_been_revised(sqlite_tenants):
    app = sqlite_tenants.get(SLUG)
    app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", "2023-06-12"))
    issued = app.issue_assignment("U1", "BUN", "Utred", "Redovisas.", dt.date(2024, 12, 31), by("KF", "2024-02-12"))
    revised = app.revise_assignment("U1", by("KF", "2024-05-13"), due=dt.date(2025, 6, 30))
    retraction = app.retract(issued["event_id"], "Fel nämnd.")
    assert not app.exists("assignment", "U1")
    views = caught_up(sqlite_tenants)
    assert views.state(day("2024-06-01"))["assignments"] == []
    known = dt.datetime.fromisoformat(revised["recorded_at"])
    assert assignment(views.state(day("2024-06-01"), known))["revisions"] == 1  # before the retraction
    # The timeline keeps both entries and says what took them out of force.
    entries = {e["position"]: e for e in views.timeline(subject="assignment:U1")[0]}
    assert entries[issued["position"]]["retracted_by"] == retraction["position"]
    assert entries[revised["position"]]["retracted_by"] == retraction["position"]


def test_a_goal_whose_establishment_was_retracted_is_not_in_force_with_its_revision_or_targets(sqlite_tenants):
    app = sqlite_tenants.get(SLUG)
    app.open_term("MP2023", 2023, 2026)
    app.define_indicator("N00002", "Behöriga lärare", "percent", "increase")
    established = app.establish_goal("IM1", "MP2023", "Alla", by("KF", "2023-06-12"))
    app.revise_goal("IM1", by("KF", "2023-09-11"), title="Alla barn")
    app.fix_goal_target("IM1", "N00002", 2024, Decimal(85), by("KF", "2023-11-20"))
    app.retract(established["event_id"], "Fel mål.")
    views = caught_up(sqlite_tenants)
    assert views.state(day("2024-01-01"))["goals"] == []
    app.establish_goal("IM1", "MP2023", "Nytt mål", by("KF", "2023-12-04"))
    views.catch_up()
    [goal] = views.state(day("2024-01-01"))["goals"]
    assert (goal["title"], goal["revisions"], goal["targets"]) == ("Nytt mål", 0, [])


def test_an_assignment_issued_again_after_a_retracted_issue_does_not_inherit_the_old_withdrawal(sqlite_tenants):
    app = sqlite_tenants.get(SLUG)
    app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", "2023-06-12"))
    first = app.issue_assignment("U2", "BUN", "Utred", "Redovisas.", dt.date(2024, 12, 31), by("KF", "2024-02-12"))
    app.withdraw_assignment("U2", "Inaktuellt.", by("KF", "2024-03-11"))
    app.retract(first["event_id"], "Fel nämnd.")
    app.issue_assignment("U2", "BUN", "Utred igen", "Redovisas.", dt.date(2024, 12, 31), by("KF", "2024-04-15"))
    assert app.load_or_none("assignment", "U2").withdrawn is False
    views = caught_up(sqlite_tenants)
    again = assignment(views.state(day("2024-06-01")), "U2")
    assert (again["state"], again["title"], again["revisions"]) == ("active", "Utred igen", 0)
    assert assignment(views.state(day("2024-03-01")), "U2") is None  # the first one never existed


def test_a_revision_dated_before_the_issue_is_refused_and_nothing_exists_before_the_issue(sqlite_tenants):
    app = sqlite_tenants.get(SLUG)
    app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", "2023-06-12"))
    app.issue_assignment("U3", "BUN", "Utred", "Redovisas.", dt.date(2024, 12, 31), by("KF", "2024-02-12"))
    head = app.ledger_head()[0]
    with pytest.raises(DomainError) as refused:
        app.revise_assignment("U3", by("KF", "2023-09-11"), title="Tidigare")
    assert refused.value.code == "invalid_command"
    assert app.ledger_head()[0] == head
    views = caught_up(sqlite_tenants)
    assert views.state(day("2023-12-01"))["assignments"] == []


def test_a_body_established_again_after_a_retraction_has_the_same_frame_in_the_domain_and_the_state(
        sqlite_tenants):
    app = sqlite_tenants.get(SLUG)
    established = app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", "2023-06-12"))
    app.draft_plan("MRP2024", 2024)
    app.set_frame("MRP2024", "BUN", 2024, 100_000_000, [], by("KF", "2023-11-20"))
    app.retract(established["event_id"], "Fel namn.")
    app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", "2023-12-04"))
    views = caught_up(sqlite_tenants)
    assert app.body_year("BUN", 2024).frame_sek == frame(views.state(day("2024-06-01")))


# --- over HTTP ---------------------------------------------------------------------------------------

PREFIX = f"/api/v1/t/{SLUG}"


class Http:
    def __init__(self, flask_app, tenants: Tenants, answers: dict, token: str):
        self.flask_app = flask_app
        self.client = flask_app.test_client()
        self.tenants = tenants
        self.answers = answers
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **query):
        return self.client.get(PREFIX + path, query_string=query, headers=self.headers)

    def ok(self, path: str, **query) -> dict:
        answer = self.get(path, **query)
        assert answer.status_code == 200, (path, query, answer.status_code, answer.get_json())
        return answer.get_json()

    def known(self, name: str) -> str:
        return self.answers[name]["recorded_at"]

    def records(self) -> dict[int, dict]:
        app = self.tenants.get(SLUG)
        return {e.position: e.as_record() for e in app.ledger_entries()}


def open_http(tmp_path, admin_token: str, tenants: Tenants, answers: dict) -> Http:
    _user, token = tenants.platform.add_user(SLUG, "viewer@tidsresa.se", "Viewer", "viewer", [])
    flask_app = create_app({"DATA_DIR": str(tmp_path), "ADMIN_TOKEN": admin_token, "TENANTS": tenants})
    return Http(flask_app, tenants, answers, token)


@pytest.fixture
def http(store_config, tmp_path, admin_token):
    tenants, answers = build(store_config, inline_projections=True)
    yield open_http(tmp_path, admin_token, tenants, answers)
    tenants.close()


def test_get_state_answers_the_position_as_of_and_known_at_it_was_built_on(http):
    known = http.known("issue")
    answer = http.ok("/state", as_of="2024-03-15", known_at=known)
    assert (answer["tenant"], answer["as_of"], answer["known_at"], answer["position"]) == (
        SLUG, "2024-03-15", known, http.answers["issue"]["position"])
    assert target(answer, 2024) == 85
    now = http.ok("/state", as_of="2024-03-15")
    assert (now["known_at"], now["position"], target(now, 2024)) == (None, HEAD, 90)
    views_state = http.tenants.views(SLUG).state(day("2024-03-15"), dt.datetime.fromisoformat(known))
    assert answer == views_state
    today = http.ok("/state")
    assert today["as_of"] == dt.date.today().isoformat()
    assert assignment(today)["state"] == "withdrawn"


def test_get_body_state_answers_one_body_and_its_assignments_and_404_for_an_unknown_body(http):
    answer = http.ok("/bodies/BUN/state", as_of="2024-07-01", known_at=http.known("withdraw"))
    assert [b["code"] for b in answer["bodies"]] == ["BUN"]
    assert frame(answer) == 101_500_000
    assert [(a["code"], a["state"]) for a in answer["assignments"]] == [("U1", "active")]
    assert http.ok("/bodies/KF/state", as_of="2024-07-01")["assignments"] == []
    missing = http.get("/bodies/NOPE/state", as_of="2024-07-01")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    # A body that is not yet established on as_of is unknown then.
    assert http.get("/bodies/BUN/state", as_of="2023-06-11").status_code == 404


def test_the_timeline_pages_newest_first_without_duplicates_and_each_entry_carries_both_times(http):
    records = http.records()
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = http.ok("/timeline", **query)
        assert page["position"] == HEAD
        seen += [entry["position"] for entry in page["entries"]]
        for entry in page["entries"]:
            record = records[entry["position"]]
            for name in ("id", "type", "recorded_at", "recorded_by", "decision", "data", "hash", "prev_hash"):
                assert entry[name] == record[name], (entry["position"], name)
            assert entry["recorded_by"] == RECORDER
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert cursor == page["entries"][-1]["position"]
    assert seen == list(range(HEAD, 0, -1))
    assert pages == 5
    retracted = {e["position"]: e["retracted_by"] for e in http.ok("/timeline", limit=500)["entries"]}
    adj1, same_b = http.answers["adj1"]["position"], http.answers["same_b"]["position"]
    assert retracted[adj1] == http.answers["retract_adj1"]["position"]
    assert retracted[same_b] == http.answers["retract_same_b"]["position"]
    assert all(by_ is None for position, by_ in retracted.items() if position not in (adj1, same_b))


def positions(page: dict) -> list[int]:
    return [entry["position"] for entry in page["entries"]]


def test_the_timeline_filters_by_body_type_subject_and_dates(http):
    p = {name: answer["position"] for name, answer in http.answers.items()}
    assert positions(http.ok("/timeline", type="FrameAdjusted")) == [p["adj2"], p["adj1"]]
    assert positions(http.ok("/timeline", type="EventRetracted")) == [p["retract_same_b"], p["retract_adj1"]]
    # A body's timeline: its own decisions and reports, and what others decided about it (not the målvärden).
    assert positions(http.ok("/timeline", body="BUN")) == [
        p["retract_adj1"], p["withdraw"], p["status"], p["adj2"], p["revise"], p["adj1"], p["realloc"], p["issue"],
        p["budget"], p["alloc_f"], p["alloc_g"], p["frame"], p["forskola"], p["grundskola"], p["bun"]]
    assert positions(http.ok("/timeline", body="KS")) == [2]
    # A subject is the thing an entry is about, as clients name it.
    assert positions(http.ok("/timeline", subject="goal:IM1")) == [
        p["retract_same_b"], p["same_b"], p["same_a"], p["t2025"], p["t87"], p["t90"], p["t85"], p["goal"]]
    assert positions(http.ok("/timeline", subject="assignment:U1")) == [
        p["withdraw"], p["status"], p["revise"], p["issue"]]
    assert positions(http.ok("/timeline", subject="body:BUN", type="FrameSet")) == [p["frame"]]
    assert positions(http.ok("/timeline", subject="assignment:U9")) == []
    # from/to bound the date an entry applies from (inclusive); all of these were decided in 2024.
    assert positions(http.ok("/timeline", **{"from": "2024-04-22", "to": "2024-06-30"})) == [
        p["status"], p["adj2"], p["revise"], p["same_b"], p["same_a"], p["adj1"]]
    assert positions(http.ok("/timeline", type="FrameAdjusted", **{"from": "2024-05-01"})) == [p["adj2"]]
    assert positions(http.ok("/timeline", body="BUN", to="2023-06-30")) == [p["forskola"], p["grundskola"], p["bun"]]
    # A retraction has no decision: it is dated by when it was recorded.
    recorded_on = http.answers["retract_adj1"]["recorded_at"][:10]
    assert positions(http.ok("/timeline", type="EventRetracted", **{"from": recorded_on, "to": recorded_on})) == [
        p["retract_same_b"], p["retract_adj1"]]
    assert positions(http.ok("/timeline", type="EventRetracted", to="2024-12-31")) == []
    paged = http.ok("/timeline", subject="goal:IM1", limit=5)
    rest = http.ok("/timeline", subject="goal:IM1", limit=5, cursor=paged["next_cursor"])
    assert positions(paged) + positions(rest) == [
        p["retract_same_b"], p["same_b"], p["same_a"], p["t2025"], p["t87"], p["t90"], p["t85"], p["goal"]]
    assert (len(positions(paged)), rest["next_cursor"]) == (5, None)


def test_the_timeline_subject_filter_matches_a_code_with_an_underscore_exactly(store_config):
    tenants = Tenants(store_config, inline_projections=True)
    try:
        tenants.create(SLUG, "Tidsresans kommun", "1234")
        app = tenants.get(SLUG)
        established = app.establish_body("B_N", "Nämnd ett", "committee", by("KF", "2023-06-12"))
        app.establish_body("BAN", "Nämnd två", "committee", by("KF", "2023-06-12"))
        app.draft_plan("MRP2024", 2024)
        framed = app.set_frame("MRP2024", "B_N", 2024, 100, [], by("KF", "2023-11-20"))
        app.set_frame("MRP2024", "BAN", 2024, 200, [], by("KF", "2023-11-20"))
        views = tenants.views(SLUG)
        views.catch_up()
        entries, _ = views.timeline(subject="body:B_N")
        assert [e["position"] for e in entries] == [framed["position"], established["position"]]
        assert views.timeline(subject="body:B%")[0] == []
    finally:
        tenants.close()


def test_a_body_timeline_follows_an_assignment_issued_again_to_another_body(store_config):
    tenants = Tenants(store_config, inline_projections=True)
    try:
        tenants.create(SLUG, "Tidsresans kommun", "1234")
        app = tenants.get(SLUG)
        app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", "2023-06-12"))
        app.establish_body("SBN", "Samhällsbyggnadsnämnden", "committee", by("KF", "2023-06-12"))
        wrong = app.issue_assignment("U1", "BUN", "Utred", "Redovisas.", dt.date(2024, 12, 31), by("KF", "2024-02-12"))
        app.retract(wrong["event_id"], "Fel nämnd.")
        issued = app.issue_assignment("U1", "SBN", "Utred", "Redovisas.", dt.date(2024, 12, 31), by("KF", "2024-02-19"))
        revised = app.revise_assignment("U1", by("KF", "2024-05-13"), due=dt.date(2025, 6, 30))
        views = tenants.views(SLUG)
        views.catch_up()
        sbn = [e["position"] for e in views.timeline(body="SBN")[0]]
        assert sbn[:2] == [revised["position"], issued["position"]]
        assert revised["position"] not in [e["position"] for e in views.timeline(body="BUN")[0]]
    finally:
        tenants.close()


def test_the_diff_lists_each_change_in_force_between_two_dates_with_its_decision(http):
    records = http.records()
    p = {name: answer["position"] for name, answer in http.answers.items()}
    diff = http.ok("/diff", **{"from": "2024-02-20", "to": "2024-06-30"})
    assert (diff["tenant"], diff["from"], diff["to"], diff["position"]) == (SLUG, "2024-02-20", "2024-06-30", HEAD)
    summary = [(c["key"], c["change"], c["positions"]) for c in diff["changes"]]
    assert summary == [
        ("target|goal|IM1|N00002|2024", "changed", [p["t90"]]),  # 87 gives way to 90 on 1 March
        ("reallocation|BUN|2024", "added", [p["realloc"]]),
        ("target|goal|IM1|N00002|2026", "added", [p["same_a"]]),  # the same-date 93 is retracted
        ("assignment|U1", "changed", [p["revise"]]),
        ("adjustment|BUN|2024", "added", [p["adj2"]]),  # the retracted +2 000 000 is not a change
        ("status|U1", "added", [p["status"]]),
    ]
    for change in diff["changes"]:
        assert change["decisions"] == [records[q]["decision"] for q in change["positions"]]
    [target_change] = [c for c in diff["changes"] if c["key"].endswith("2024") and c["kind"] == "target"]
    assert ([v["value"] for v in target_change["before"]], [v["value"] for v in target_change["after"]]) == (
        [87], [90])
    # Known before the January decision and the revision were recorded, nothing about the målvärde changed.
    earlier = http.ok("/diff", **{"from": "2024-02-20", "to": "2024-06-30", "known_at": http.known("issue")})
    assert earlier["position"] == p["issue"]
    assert [c["key"] for c in earlier["changes"]] == []


def test_a_tenant_created_over_http_is_not_recorded_by_the_user_of_the_previous_request(http, admin_token):
    viewer = http.tenants.platform.authenticate(http.headers["Authorization"].split()[1])
    http.ok("/state")  # a viewer of tidsresa reads
    created = http.client.post("/api/v1/tenants", headers={"Authorization": f"Bearer {admin_token}"},
                               json={"slug": "grannen", "name": "Grannkommunen", "municipality_code": "1488"})
    assert created.status_code == 201, created.get_json()
    founders = [entry.as_record()["recorded_by"] for entry in http.tenants.get("grannen").ledger_entries()]
    assert founders == [founders[0]] * 2
    assert founders[0] != str(viewer.id)
    assert founders[0] in (None, "platform-admin")


@pytest.mark.parametrize(("path", "query"), [
    ("/state", {"as_of": "2024-13-01"}),
    ("/state", {"as_of": "31/12/2024"}),
    ("/state", {"known_at": "2024-05-01T12:00:00"}),  # no offset
    ("/state", {"known_at": "igår"}),
    ("/bodies/BUN/state", {"as_of": "2024-02-30"}),
    ("/timeline", {"from": "2024-1-1x"}),
    ("/timeline", {"to": "tomorrow"}),
    ("/diff", {"from": "2024-06-30", "to": "2024-01-01"}),  # to before from
    ("/diff", {"from": "2024-01-01"}),  # to missing
    ("/diff", {"from": "2024-01-01", "to": "2024-06-31"}),
])
def test_a_malformed_date_answers_400_with_the_field_named(tmp_path, admin_token, path, query):
    tenants = Tenants(StoreConfig(data_dir=tmp_path / "store"))
    try:
        tenants.create(SLUG, "Tidsresans kommun", "1234")
        http = open_http(tmp_path, admin_token, tenants, {})
        answer = http.get(path, **query)
        assert answer.status_code == 400, answer.get_json()
        errors = answer.get_json()["errors"]
        assert set(errors) & {"as_of", "known_at", "from", "to"}, errors
    finally:
        tenants.close()


def test_a_query_for_a_position_the_read_models_have_not_reached_answers_503_then_200_after_catch_up(
        store_config, tmp_path, admin_token):
    tenants, answers = build(store_config, inline_projections=False)
    try:
        http = open_http(tmp_path, admin_token, tenants, answers)
        views = tenants.views(SLUG)
        assert views.head() < HEAD  # nothing runs the projections in this process
        started = time.monotonic()
        lagging = http.get("/state", as_of="2024-06-30", min_position=HEAD)
        waited = time.monotonic() - started
        assert lagging.status_code == 503, lagging.get_json()
        assert lagging.get_json()["error"]["code"] == "projection_lagging"
        assert 1.5 <= waited <= 4.0
        views.catch_up()
        answer = http.ok("/state", as_of="2024-06-30", min_position=HEAD)
        assert answer["position"] == HEAD
        assert target(answer, 2024) == 90
        started = time.monotonic()
        assert http.get("/diff", **{"from": "2024-01-01", "to": "2024-06-30", "min_position": HEAD}).status_code == 200
        assert time.monotonic() - started < 1.0
    finally:
        tenants.close()
