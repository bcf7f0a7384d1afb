"""Money (rules 3, 6, 7, 8 and 9): frames in the MRP, the detailed budget, its adoption, omdispositioner, measures."""

from __future__ import annotations

import datetime as dt

import pytest

FRAME = 1_000_000
EARMARK = {"purpose": "Lärarlyftet", "amount_sek": 100_000}
BUDGET_MEETING = dt.date(2023, 12, 12)
DURING_THE_YEAR = dt.date(2024, 3, 18)


def with_budget_plan(app, by):
    """MRP2024 (2024–2026) with BUN's frame for 2024, part of it earmarked."""
    app.draft_plan("MRP2024", 2024)
    app.set_frame("MRP2024", "BUN", 2024, FRAME, [EARMARK], by("KF"))
    app.adopt_plan("MRP2024", by("KF"))
    return app


def allocate_in_full(app, by, year=2024):
    """A detailed budget that adds up to the frame and puts the earmark on its purpose."""
    app.set_allocation("BUN", year, "GRUNDSKOLA", 600_000, by("BUN", BUDGET_MEETING), earmarks=[EARMARK])
    app.set_allocation("BUN", year, "FORSKOLA", 300_000, by("BUN", BUDGET_MEETING))
    app.set_allocation("BUN", year, "FRITIDS", 100_000, by("BUN", BUDGET_MEETING))


@pytest.fixture
def planned(org, by):
    return with_budget_plan(org, by)


@pytest.fixture
def allocated(planned, by):
    allocate_in_full(planned, by)
    return planned


@pytest.fixture
def adopted(allocated, by):
    allocated.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))
    return allocated


def allocations(app, body="BUN", year=2024) -> dict[str, int]:
    return {area: line["amount_sek"] for area, line in app.body_year(body, year).allocations.items()}


# --- rule 3: the MRP and its frames ---------------------------------------------------------------------


def test_the_council_sets_a_frame_with_an_earmark(planned):
    body_year = planned.body_year("BUN", 2024)
    assert body_year.frame_sek == FRAME
    assert body_year.frame_earmarks == {"Lärarlyftet": 100_000}


@pytest.mark.parametrize("year", [2025, 2026])
def test_years_two_and_three_of_the_plan_get_plan_figures(planned, by, year):
    planned.set_frame("MRP2024", "BUN", year, FRAME, [], by("KF"))
    assert planned.body_year("BUN", year).frame_sek == FRAME


@pytest.mark.parametrize("year", [2023, 2027])
def test_a_frame_outside_the_plans_three_years_is_refused(planned, refused, by, year):
    refused(planned, "invalid_command", planned.set_frame, "MRP2024", "BUN", year, FRAME, [], by("KF"))


def test_a_frame_in_an_unknown_plan_is_not_found(planned, refused, by):
    refused(planned, "not_found", planned.set_frame, "MRP2099", "BUN", 2024, FRAME, [], by("KF"))


def test_a_frame_for_an_unknown_body_is_refused(planned, refused, by):
    refused(planned, "unknown_reference", planned.set_frame, "MRP2024", "XYZ", 2024, FRAME, [], by("KF"))


def test_earmarks_may_not_exceed_the_frame(planned, refused, by):
    refused(planned, "earmark_violation", planned.set_frame, "MRP2024", "SBN", 2024, 100,
            [{"purpose": "A", "amount_sek": 60}, {"purpose": "B", "amount_sek": 41}], by("KF"))


def test_a_frame_may_not_earmark_the_same_purpose_twice(planned, refused, by):
    twice = [EARMARK, {"purpose": EARMARK["purpose"], "amount_sek": 50_000}]
    error = refused(planned, "invalid_command", planned.set_frame, "MRP2024", "BUN", 2025, FRAME, twice, by("KF"))
    assert error.field == "earmarks.1.purpose"
    assert planned.body_year("BUN", 2025).frame_sek is None


def test_a_frame_may_not_be_negative(planned, refused, by):
    refused(planned, "invalid_command", planned.set_frame, "MRP2024", "SBN", 2024, -1, [], by("KF"))


def test_a_plan_code_is_drafted_once(planned, refused):
    refused(planned, "already_exists", planned.draft_plan, "MRP2024", 2025)


def test_a_plan_may_be_adopted_again(planned, by, ledger_types):
    planned.adopt_plan("MRP2024", by("KF", dt.date(2023, 12, 4)))
    assert ledger_types(planned)[-1] == "ResourcePlanAdopted"


def test_the_council_adjusts_a_frame_during_the_year(adopted, by, last):
    adopted.adjust_frame("BUN", 2024, 25_000, "Fler barn i förskolan", by("KF", DURING_THE_YEAR))
    assert last(adopted)["type"] == "FrameAdjusted"
    assert adopted.body_year("BUN", 2024).frame_sek == FRAME + 25_000


@pytest.mark.parametrize("decider", ["BUN", "KS"])
def test_no_body_but_the_council_may_change_a_frame(adopted, refused, by, decider):
    refused(adopted, "not_competent", adopted.adjust_frame, "BUN", 2024, 25_000, "Mer", by(decider, DURING_THE_YEAR))


def test_a_frame_that_was_never_set_cannot_be_adjusted(planned, refused, by):
    refused(planned, "unknown_reference", planned.adjust_frame, "SBN", 2024, 25_000, "Mer", by("KF", DURING_THE_YEAR))


def test_an_adjustment_must_change_the_frame(adopted, refused, by):
    refused(adopted, "invalid_command", adopted.adjust_frame, "BUN", 2024, 0, "Inget", by("KF", DURING_THE_YEAR))


def test_a_frame_may_not_be_cut_below_its_earmarks(adopted, refused, by):
    refused(adopted, "earmark_violation", adopted.adjust_frame, "BUN", 2024, -(FRAME - 99_999), "Besparing",
            by("KF", DURING_THE_YEAR))


# --- rule 6: the detailed budget ----------------------------------------------------------------------


def test_a_namnd_distributes_its_frame_on_its_activity_areas(allocated, ledger_types):
    assert ledger_types(allocated)[-3:] == ["AllocationSet"] * 3
    assert allocations(allocated) == {"GRUNDSKOLA": 600_000, "FORSKOLA": 300_000, "FRITIDS": 100_000}


def test_setting_an_area_again_replaces_its_line(allocated, by):
    allocated.set_allocation("BUN", 2024, "FRITIDS", 90_000, by("BUN", BUDGET_MEETING))
    assert allocations(allocated)["FRITIDS"] == 90_000


@pytest.mark.parametrize("decider", ["KF", "KS", "SBN", "BUF"])
def test_no_other_body_sets_a_namnds_budget_line(planned, refused, by, decider):
    refused(planned, "not_competent", planned.set_allocation, "BUN", 2024, "FRITIDS", 100_000,
            by(decider, BUDGET_MEETING))


def test_a_budget_line_needs_one_of_the_bodys_activity_areas(planned, refused, by):
    error = refused(planned, "unknown_reference", planned.set_allocation, "BUN", 2024, "GATOR", 100_000,
                    by("BUN", BUDGET_MEETING))
    assert error.field == "area"


def test_a_budget_line_of_an_unknown_body_is_not_found(planned, refused, by):
    refused(planned, "not_found", planned.set_allocation, "XYZ", 2024, "FRITIDS", 100_000, by("BUN", BUDGET_MEETING))


def test_a_budget_line_may_not_be_negative(planned, refused, by):
    refused(planned, "invalid_command", planned.set_allocation, "BUN", 2024, "FRITIDS", -1, by("BUN", BUDGET_MEETING))


def test_a_budget_line_may_not_claim_an_earmark_the_frame_lacks(planned, refused, by):
    refused(planned, "earmark_violation", planned.set_allocation, "BUN", 2024, "FRITIDS", 100_000,
            by("BUN", BUDGET_MEETING), earmarks=[{"purpose": "Simskola", "amount_sek": 10_000}])


def test_a_budget_line_may_not_name_the_same_earmark_twice(planned, refused, by):
    half = {"purpose": EARMARK["purpose"], "amount_sek": 50_000}
    error = refused(planned, "invalid_command", planned.set_allocation, "BUN", 2024, "GRUNDSKOLA", 600_000,
                    by("BUN", BUDGET_MEETING), earmarks=[half, half])
    assert error.field == "earmarks.1.purpose"
    assert allocations(planned) == {}


def test_the_earmarked_part_of_a_line_may_not_exceed_the_line(planned, refused, by):
    refused(planned, "earmark_violation", planned.set_allocation, "BUN", 2024, "FRITIDS", 50_000,
            by("BUN", BUDGET_MEETING), earmarks=[EARMARK])


def test_a_budget_that_adds_up_to_the_frame_is_adopted_in_time(allocated, by, last):
    allocated.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))
    record = last(allocated)
    assert record["type"] == "OperationalPlanAdopted"
    assert record["data"] == {"body": "BUN", "year": 2024, "late": False}
    assert allocated.body_year("BUN", 2024).adopted


def test_a_budget_below_the_frame_cannot_be_adopted(allocated, refused, by):
    allocated.set_allocation("BUN", 2024, "FRITIDS", 99_999, by("BUN", BUDGET_MEETING))
    refused(allocated, "frame_not_balanced", allocated.adopt_budget, "BUN", 2024, by("BUN", BUDGET_MEETING))


def test_a_budget_above_the_frame_cannot_be_adopted(allocated, refused, by):
    allocated.set_allocation("BUN", 2024, "FRITIDS", 100_001, by("BUN", BUDGET_MEETING))
    refused(allocated, "frame_not_balanced", allocated.adopt_budget, "BUN", 2024, by("BUN", BUDGET_MEETING))


def test_a_budget_without_a_frame_cannot_be_adopted(planned, refused, by):
    planned.add_area("SBN", "GATOR", "Gator och vägar", by("SBN"))
    planned.set_allocation("SBN", 2024, "GATOR", 100_000, by("SBN", BUDGET_MEETING))
    refused(planned, "frame_not_balanced", planned.adopt_budget, "SBN", 2024, by("SBN", BUDGET_MEETING))


def test_a_budget_that_leaves_earmarked_money_unallocated_cannot_be_adopted(allocated, refused, by):
    allocated.set_allocation("BUN", 2024, "GRUNDSKOLA", 600_000, by("BUN", BUDGET_MEETING),
                             earmarks=[{"purpose": "Lärarlyftet", "amount_sek": 60_000}])
    refused(allocated, "earmark_violation", allocated.adopt_budget, "BUN", 2024, by("BUN", BUDGET_MEETING))


def test_a_budget_that_puts_earmarked_money_nowhere_cannot_be_adopted(allocated, refused, by):
    allocated.set_allocation("BUN", 2024, "GRUNDSKOLA", 600_000, by("BUN", BUDGET_MEETING))
    refused(allocated, "earmark_violation", allocated.adopt_budget, "BUN", 2024, by("BUN", BUDGET_MEETING))


def test_earmarked_money_may_be_spread_over_several_lines(planned, by):
    half = {"purpose": "Lärarlyftet", "amount_sek": 50_000}
    planned.set_allocation("BUN", 2024, "GRUNDSKOLA", 600_000, by("BUN", BUDGET_MEETING), earmarks=[half])
    planned.set_allocation("BUN", 2024, "FORSKOLA", 400_000, by("BUN", BUDGET_MEETING), earmarks=[half])
    planned.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))
    assert planned.body_year("BUN", 2024).adopted


@pytest.mark.parametrize("decider", ["KF", "KS"])
def test_no_other_body_adopts_a_namnds_detailed_budget(allocated, refused, by, decider):
    refused(allocated, "not_competent", allocated.adopt_budget, "BUN", 2024, by(decider, BUDGET_MEETING))


def test_an_adopted_budget_line_is_changed_only_by_omdisposition(adopted, refused, by):
    refused(adopted, "budget_adopted", adopted.set_allocation, "BUN", 2024, "FRITIDS", 100_000,
            by("BUN", DURING_THE_YEAR))


def test_an_adopted_budget_is_not_adopted_twice(adopted, refused, by):
    refused(adopted, "budget_adopted", adopted.adopt_budget, "BUN", 2024, by("BUN", DURING_THE_YEAR))


# --- rule 7: adopted by December of the year before, or recorded as late ---------------------------------


def test_a_budget_adopted_on_new_years_eve_is_in_time(allocated, by, last):
    allocated.adopt_budget("BUN", 2024, by("BUN", dt.date(2023, 12, 31)))
    assert last(allocated)["data"]["late"] is False


def test_a_late_budget_adoption_is_recorded_and_flagged(allocated, by, last):
    answer = allocated.adopt_budget("BUN", 2024, by("BUN", dt.date(2024, 1, 1)))
    record = last(allocated)
    assert record["position"] == answer["position"]
    assert record["type"] == "OperationalPlanAdopted"
    assert record["data"]["late"] is True
    assert record["decision"]["date"] == "2024-01-01"
    assert allocated.body_year("BUN", 2024).adopted


def test_a_budget_adopted_far_into_its_year_is_still_recorded(allocated, by, last):
    allocated.adopt_budget("BUN", 2024, by("BUN", dt.date(2024, 9, 16)))
    assert last(allocated)["data"]["late"] is True


# --- rule 8: omdispositioner during the year ------------------------------------------------------------


def test_a_namnd_reallocates_between_its_areas_and_the_total_stays(adopted, by, last):
    adopted.reallocate("BUN", 2024, "FORSKOLA", "FRITIDS", 20_000, "Fler fritidsbarn", by("BUN", DURING_THE_YEAR))
    assert last(adopted)["type"] == "BudgetReallocated"
    lines = allocations(adopted)
    assert lines == {"GRUNDSKOLA": 600_000, "FORSKOLA": 280_000, "FRITIDS": 120_000}
    assert sum(lines.values()) == adopted.body_year("BUN", 2024).frame_sek


def test_a_namnd_may_move_exactly_the_default_threshold(adopted, by, last):
    adopted.reallocate("BUN", 2024, "FORSKOLA", "FRITIDS", FRAME * 5 // 100, "Fem procent", by("BUN", DURING_THE_YEAR))
    assert last(adopted)["data"]["amount_sek"] == 50_000


def test_a_namnd_may_not_move_more_than_the_default_threshold(adopted, refused, by):
    refused(adopted, "needs_council_decision", adopted.reallocate, "BUN", 2024, "FORSKOLA", "FRITIDS",
            50_001, "Mer än fem procent", by("BUN", DURING_THE_YEAR))


def test_a_namnd_may_not_split_a_larger_change_into_moves_under_the_threshold(adopted, refused, by, last):
    adopted.reallocate("BUN", 2024, "FORSKOLA", "FRITIDS", 30_000, "Tre procent", by("BUN", DURING_THE_YEAR))
    first = last(adopted)["id"]
    error = refused(adopted, "needs_council_decision", adopted.reallocate, "BUN", 2024, "FORSKOLA", "FRITIDS",
                    30_000, "Tre procent till", by("BUN", DURING_THE_YEAR))
    assert "to 60000 kr, over 5 % of the frame (50000 kr)" in error.message
    # Within what is left of the threshold, it may; and KF's own moves do not use it up.
    adopted.reallocate("BUN", 2024, "FORSKOLA", "FRITIDS", 20_000, "Två procent", by("BUN", DURING_THE_YEAR))
    adopted.reallocate("BUN", 2024, "FORSKOLA", "FRITIDS", 100_000, "KF:s beslut", by("KF", DURING_THE_YEAR))
    refused(adopted, "needs_council_decision", adopted.reallocate, "BUN", 2024, "GRUNDSKOLA", "FRITIDS", 1,
            "En krona till", by("BUN", DURING_THE_YEAR))
    # A retracted move no longer counts.
    adopted.retract(first, "Registrerades av misstag.")
    adopted.reallocate("BUN", 2024, "FORSKOLA", "FRITIDS", 30_000, "Tre procent igen", by("BUN", DURING_THE_YEAR))
    assert last(adopted)["data"]["amount_sek"] == 30_000


def test_the_council_may_reallocate_beyond_the_threshold(adopted, by):
    adopted.reallocate("BUN", 2024, "FORSKOLA", "FRITIDS", 200_000, "Stor omdisposition", by("KF", DURING_THE_YEAR))
    assert allocations(adopted)["FRITIDS"] == 300_000


def test_the_council_may_reallocate_earmarked_money(adopted, by):
    adopted.reallocate("BUN", 2024, "GRUNDSKOLA", "FORSKOLA", 600_000, "Allt till förskolan", by("KF", DURING_THE_YEAR))
    assert allocations(adopted)["GRUNDSKOLA"] == 0


@pytest.mark.parametrize(("threshold", "amount"), [(10, 100_000), (20, 200_000), (1, 10_000)])
def test_a_namnd_may_reallocate_up_to_the_tenants_threshold(make_app, refused, by, threshold, amount):
    app = make_app(settings={"reallocation_council_threshold_percent": threshold})
    app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF"))
    for area in ("GRUNDSKOLA", "FORSKOLA", "FRITIDS"):
        app.add_area("BUN", area, area.title(), by("BUN"))
    with_budget_plan(app, by)
    app.set_allocation("BUN", 2024, "GRUNDSKOLA", 400_000, by("BUN", BUDGET_MEETING), earmarks=[EARMARK])
    app.set_allocation("BUN", 2024, "FORSKOLA", 500_000, by("BUN", BUDGET_MEETING))
    app.set_allocation("BUN", 2024, "FRITIDS", 100_000, by("BUN", BUDGET_MEETING))
    app.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))
    app.reallocate("BUN", 2024, "FORSKOLA", "FRITIDS", amount, "Upp till gränsen", by("BUN", DURING_THE_YEAR))
    assert allocations(app)["FRITIDS"] == 100_000 + amount
    refused(app, "needs_council_decision", app.reallocate, "BUN", 2024, "FORSKOLA", "FRITIDS", amount + 1,
            "Över gränsen", by("BUN", DURING_THE_YEAR))


def test_the_threshold_follows_the_adjusted_frame(adopted, by):
    adopted.adjust_frame("BUN", 2024, 200_000, "Tillskott", by("KF", DURING_THE_YEAR))
    adopted.reallocate("BUN", 2024, "FORSKOLA", "FRITIDS", 60_000, "Fem procent av 1,2 mnkr",
                       by("BUN", DURING_THE_YEAR))
    assert allocations(adopted)["FRITIDS"] == 160_000


def test_a_namnd_may_not_touch_earmarked_money(adopted, refused, by):
    # KF leaves GRUNDSKOLA 120 000 kr, of which 100 000 kr is earmarked; 30 000 kr is within BUN's threshold
    # but would cut into the earmark.
    adopted.reallocate("BUN", 2024, "GRUNDSKOLA", "FORSKOLA", 480_000, "Till förskolan", by("KF", DURING_THE_YEAR))
    adopted.reallocate("BUN", 2024, "GRUNDSKOLA", "FORSKOLA", 20_000, "Ovanför öronmärkningen",
                       by("BUN", DURING_THE_YEAR))
    refused(adopted, "earmark_violation", adopted.reallocate, "BUN", 2024, "GRUNDSKOLA", "FORSKOLA", 1,
            "In i öronmärkt", by("BUN", DURING_THE_YEAR))


@pytest.mark.parametrize("decider", ["KS", "SBN", "BUF"])
def test_no_other_body_but_the_council_reallocates_a_namnds_budget(adopted, refused, by, decider):
    refused(adopted, "not_competent", adopted.reallocate, "BUN", 2024, "FORSKOLA", "FRITIDS", 1_000, "Flytt",
            by(decider, DURING_THE_YEAR))


def test_a_budget_not_yet_adopted_is_changed_by_allocations_not_reallocations(allocated, refused, by):
    refused(allocated, "invalid_command", allocated.reallocate, "BUN", 2024, "FORSKOLA", "FRITIDS", 1_000, "Flytt",
            by("BUN", DURING_THE_YEAR))


def test_a_reallocation_needs_two_different_areas(adopted, refused, by):
    refused(adopted, "invalid_command", adopted.reallocate, "BUN", 2024, "FORSKOLA", "FORSKOLA", 1_000, "Flytt",
            by("BUN", DURING_THE_YEAR))


@pytest.mark.parametrize("amount", [0, -1_000])
def test_a_reallocation_moves_a_positive_amount(adopted, refused, by, amount):
    refused(adopted, "invalid_command", adopted.reallocate, "BUN", 2024, "FORSKOLA", "FRITIDS", amount, "Flytt",
            by("BUN", DURING_THE_YEAR))


def test_a_reallocation_may_not_move_more_than_the_line_has(adopted, refused, by):
    refused(adopted, "invalid_command", adopted.reallocate, "BUN", 2024, "FRITIDS", "FORSKOLA", 100_001, "Flytt",
            by("KF", DURING_THE_YEAR))


def test_a_reallocation_between_unknown_areas_is_refused(adopted, refused, by):
    error = refused(adopted, "unknown_reference", adopted.reallocate, "BUN", 2024, "FORSKOLA", "GATOR", 1_000,
                    "Flytt", by("BUN", DURING_THE_YEAR))
    assert error.field == "to_area"


# --- rule 9: measures when the forecast does not hold ------------------------------------------------


def test_a_namnd_reports_a_forecast_and_decides_a_measure(adopted, by, ledger_types):
    adopted.report_financial("BUN", "2024-04", 350_000, 1_040_000, dt.date(2024, 5, 10))
    adopted.decide_measure("BUN", 2024, "Vakanser tillsätts inte", by("BUN", dt.date(2024, 5, 20)), amount_sek=40_000)
    assert ledger_types(adopted)[-2:] == ["FinancialOutcomeReported", "MeasureDecided"]


@pytest.mark.parametrize("decider", ["KF", "KS", "SBN"])
def test_no_other_body_decides_a_namnds_measure(adopted, refused, by, decider):
    refused(adopted, "not_competent", adopted.decide_measure, "BUN", 2024, "Anställningsstopp",
            by(decider, dt.date(2024, 5, 20)))


def test_a_financial_outcome_for_an_unknown_area_is_refused(adopted, refused):
    refused(adopted, "unknown_reference", adopted.report_financial, "BUN", "2024-04", 1, 1, dt.date(2024, 5, 10),
            area="GATOR")


def test_a_financial_outcome_needs_a_period(adopted, refused):
    refused(adopted, "invalid_command", adopted.report_financial, "BUN", "april", 1, 1, dt.date(2024, 5, 10))
