"""Rules 2 and 5: inriktningsmål of a term, their revisions and målvärden; a nämnd's förväntade and egna resultat."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from domain.decisions import Decision


@pytest.fixture
def goals(org, by):
    org.open_term("2023-2026", 2023, 2026)
    org.define_indicator("N15", "Behöriga lärare", "%", "increase", kolada_kpi="N15813")
    org.establish_goal("IM1", "2023-2026", "Alla barn lyckas i skolan", by("KF"), description="Kunskap")
    return org


# --- rule 2: inriktningsmål belong to a term --------------------------------------------------------


def test_the_council_establishes_an_inriktningsmal_for_a_term(goals, last):
    goals.establish_goal("IM2", "2023-2026", "Trygg kommun", Decision("KF", dt.date(2023, 2, 27), paragraph="§12"))
    record = last(goals)
    assert record["type"] == "StrategicGoalEstablished"
    assert record["data"]["goal"] == "IM2"
    assert record["data"]["term"] == "2023-2026"


def test_an_inriktningsmal_needs_an_opened_term(goals, refused, by):
    error = refused(goals, "unknown_reference", goals.establish_goal, "IM2", "2019-2022", "Trygg kommun", by("KF"))
    assert error.field == "term"


def test_an_inriktningsmal_code_is_established_once(goals, refused, by):
    refused(goals, "already_exists", goals.establish_goal, "IM1", "2023-2026", "Igen", by("KF"))


def test_a_term_may_not_end_before_it_starts(app, refused):
    refused(app, "invalid_command", app.open_term, "2026-2023", 2026, 2023)


def test_a_term_code_is_opened_once(goals, refused):
    refused(goals, "already_exists", goals.open_term, "2023-2026", 2023, 2026)


def test_every_revision_of_an_inriktningsmal_is_kept(goals, by, ledger_types):
    goals.revise_goal("IM1", by("KF", dt.date(2024, 6, 10)), title="Alla barn och elever lyckas")
    goals.revise_goal("IM1", by("KF", dt.date(2025, 6, 9)), description="Kunskap och trygghet")
    entries = [e.as_record() for e in goals.ledger_entries() if e.as_record()["data"].get("goal") == "IM1"]
    assert [e["type"] for e in entries] == ["StrategicGoalEstablished", "StrategicGoalRevised", "StrategicGoalRevised"]
    assert entries[1]["data"]["title"] == "Alla barn och elever lyckas"
    assert entries[2]["decision"]["date"] == "2025-06-09"


def test_an_unknown_inriktningsmal_cannot_be_revised(goals, refused, by):
    refused(goals, "not_found", goals.revise_goal, "IM9", by("KF"), title="x")


def test_the_council_fixes_a_target_value_and_a_later_one_revises_it(goals, by):
    goals.fix_goal_target("IM1", "N15", 2024, Decimal("82.5"), by("KF"))
    goals.fix_goal_target("IM1", "N15", 2024, Decimal(85), by("KF", dt.date(2024, 6, 10)))
    fixed = [e.as_record() for e in goals.ledger_entries() if e.as_record()["type"] == "TargetValueFixed"]
    assert [(f["data"]["year"], f["data"]["value"]) for f in fixed] == [(2024, 82.5), (2024, 85)]


def test_a_target_value_needs_a_defined_indicator(goals, refused, by):
    error = refused(goals, "unknown_reference", goals.fix_goal_target, "IM1", "N99", 2024, Decimal(1), by("KF"))
    assert error.field == "indicator"


@pytest.mark.parametrize("decider", ["KS", "BUN", "BUF"])
def test_no_body_but_the_council_may_revise_an_inriktningsmal(goals, refused, by, decider):
    refused(goals, "not_competent", goals.revise_goal, "IM1", by(decider), title="Annat")


# --- rule 5: förväntade and egna resultat ------------------------------------------------------------


def test_a_namnd_defines_an_expected_result_under_a_council_goal(goals, by, last):
    goals.define_result("BUN", "BUN-R1", "expected", "Fler elever når målen", by("BUN"), goal="IM1")
    record = last(goals)
    assert record["type"] == "ResultDefined"
    assert record["data"]["goal"] == "IM1"
    assert record["data"]["body"] == "BUN"


def test_a_namnd_defines_an_own_result_for_its_grunduppdrag(goals, by, last):
    goals.define_result("BUN", "BUN-E1", "own", "God arbetsmiljö", by("BUN"))
    assert last(goals)["data"]["kind"] == "own"


def test_the_executive_board_counts_as_a_namnd_for_results(goals, by, last):
    goals.define_result("KS", "KS-R1", "expected", "Effektiv administration", by("KS"), goal="IM1")
    assert last(goals)["type"] == "ResultDefined"


def test_an_expected_result_must_name_its_inriktningsmal(goals, refused, by):
    error = refused(goals, "invalid_command", goals.define_result, "BUN", "BUN-R1", "expected", "Fler", by("BUN"))
    assert error.field == "goal"


def test_an_expected_result_under_an_unknown_goal_is_refused(goals, refused, by):
    refused(goals, "unknown_reference", goals.define_result, "BUN", "BUN-R1", "expected", "Fler", by("BUN"),
            goal="IM9")


def test_the_council_may_not_define_a_namnds_result(goals, refused, by):
    refused(goals, "not_competent", goals.define_result, "BUN", "BUN-R1", "expected", "Fler", by("KF"), goal="IM1")


def test_another_namnd_may_not_define_a_namnds_result(goals, refused, by):
    refused(goals, "not_competent", goals.define_result, "BUN", "BUN-R1", "own", "Fler", by("SBN"))


@pytest.mark.parametrize("body", ["KF", "BUF"])
def test_only_a_namnd_defines_results(goals, refused, by, body):
    refused(goals, "not_competent", goals.define_result, body, f"{body}-R1", "own", "Något", by(body))


def test_a_result_code_is_defined_once(goals, refused, by):
    goals.define_result("BUN", "BUN-E1", "own", "God arbetsmiljö", by("BUN"))
    refused(goals, "already_exists", goals.define_result, "SBN", "BUN-E1", "own", "Annat", by("SBN"))


def test_a_namnd_fixes_target_values_for_its_result(goals, by, last):
    goals.define_result("BUN", "BUN-R1", "expected", "Fler elever når målen", by("BUN"), goal="IM1")
    goals.fix_result_target("BUN", "BUN-R1", "N15", 2024, Decimal(80), by("BUN"))
    goals.fix_result_target("BUN", "BUN-R1", "N15", 2026, Decimal(90), by("BUN"))
    record = last(goals)
    assert record["type"] == "ResultTargetValueFixed"
    assert (record["data"]["year"], record["data"]["value"]) == (2026, 90)


def test_the_council_may_not_fix_a_target_value_for_a_namnds_result(goals, refused, by):
    goals.define_result("BUN", "BUN-R1", "expected", "Fler elever når målen", by("BUN"), goal="IM1")
    refused(goals, "not_competent", goals.fix_result_target, "BUN", "BUN-R1", "N15", 2024, Decimal(80), by("KF"))


def test_a_result_is_addressed_under_its_own_body(goals, refused, by):
    goals.define_result("BUN", "BUN-R1", "expected", "Fler elever når målen", by("BUN"), goal="IM1")
    refused(goals, "not_found", goals.fix_result_target, "SBN", "BUN-R1", "N15", 2024, Decimal(80), by("SBN"))
