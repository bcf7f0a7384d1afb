"""Retraction: an erroneous entry is never edited or deleted; a new entry points at it and takes it out of force."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid

import pytest

from domain.errors import DomainError
from domain.ledger import event_id

FRAME = 1_000_000
BUDGET_MEETING = dt.date(2023, 12, 12)
DURING_THE_YEAR = dt.date(2024, 3, 18)


@pytest.fixture
def budget(org, by):
    """BUN's frame for 2024 and a balanced detailed budget, not yet adopted."""
    org.draft_plan("MRP2024", 2024)
    org.set_frame("MRP2024", "BUN", 2024, FRAME, [], by("KF"))
    org.set_allocation("BUN", 2024, "GRUNDSKOLA", 600_000, by("BUN", BUDGET_MEETING))
    org.set_allocation("BUN", 2024, "FORSKOLA", 300_000, by("BUN", BUDGET_MEETING))
    org.set_allocation("BUN", 2024, "FRITIDS", 100_000, by("BUN", BUDGET_MEETING))
    return org


def entry_id(app, type_: str, **data) -> str:
    """The event id of the newest entry of a type whose data contains the given items."""
    for entry in reversed(app.ledger_entries()):
        record = entry.as_record()
        if record["type"] == type_ and all(record["data"].get(k) == v for k, v in data.items()):
            return record["id"]
    raise AssertionError(f"no {type_} entry with {data}")


def allocations(app) -> dict[str, int]:
    return {area: line["amount_sek"] for area, line in app.body_year("BUN", 2024).allocations.items()}


def test_retracting_a_budget_adoption_lets_allocations_be_set_again(budget, refused, by, last):
    adoption = budget.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))
    refused(budget, "budget_adopted", budget.set_allocation, "BUN", 2024, "FRITIDS", 90_000,
            by("BUN", DURING_THE_YEAR))

    budget.retract(adoption["event_id"], "Beslutet gällde fel år")

    assert not budget.body_year("BUN", 2024).adopted
    budget.set_allocation("BUN", 2024, "FRITIDS", 90_000, by("BUN", DURING_THE_YEAR))
    budget.set_allocation("BUN", 2024, "FORSKOLA", 310_000, by("BUN", DURING_THE_YEAR))
    budget.adopt_budget("BUN", 2024, by("BUN", DURING_THE_YEAR))
    assert last(budget)["data"]["late"] is True
    assert allocations(budget) == {"GRUNDSKOLA": 600_000, "FORSKOLA": 310_000, "FRITIDS": 90_000}


def test_a_retraction_is_a_new_entry_pointing_at_the_retracted_one(budget, by, last):
    adoption = budget.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))
    retracted_before = budget.entry_at(adoption["position"]).as_record()

    answer = budget.retract(adoption["event_id"], "Fel protokoll")

    assert answer["position"] == adoption["position"] + 1
    record = last(budget)
    assert record["type"] == "EventRetracted"
    assert record["decision"] is None
    assert record["data"]["retracted_event_id"] == adoption["event_id"]
    assert record["data"]["retracted_position"] == adoption["position"]
    assert record["data"]["reason"] == "Fel protokoll"
    assert (record["data"]["body"], record["data"]["year"]) == ("BUN", 2024)
    # The retracted entry itself is kept exactly as it was.
    assert budget.entry_at(adoption["position"]).as_record() == retracted_before
    assert budget.verify_ledger().ok


def test_a_retraction_cannot_be_retracted(budget, refused, by):
    adoption = budget.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))
    retraction = budget.retract(adoption["event_id"], "Fel protokoll")
    error = refused(budget, "invalid_command", budget.retract, retraction["event_id"], "Ångrar")
    assert error.field == "event_id"
    assert not budget.body_year("BUN", 2024).adopted


def test_an_entry_cannot_be_retracted_twice(budget, refused, by):
    adoption = budget.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))
    budget.retract(adoption["event_id"], "Fel protokoll")
    refused(budget, "already_retracted", budget.retract, adoption["event_id"], "Igen")


def test_an_event_that_is_not_in_the_ledger_cannot_be_retracted(budget, refused):
    head = budget.ledger_head()[0]
    refused(budget, "not_found", budget.retract, event_id("testkommun", head + 1), "Finns inte")
    refused(budget, "not_found", budget.retract, event_id("grannkommun", 3), "Annan kommun")
    refused(budget, "not_found", budget.retract, str(uuid.uuid4()), "Slumpat")
    refused(budget, "not_found", budget.retract, "inte-ett-id", "Trasigt")


def test_retracting_a_reallocation_restores_the_lines(budget, by):
    budget.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))
    moved = budget.reallocate("BUN", 2024, "FORSKOLA", "FRITIDS", 20_000, "Fritids", by("BUN", DURING_THE_YEAR))
    budget.retract(moved["event_id"], "Fel belopp")
    assert allocations(budget) == {"GRUNDSKOLA": 600_000, "FORSKOLA": 300_000, "FRITIDS": 100_000}


def test_retracting_a_replaced_budget_line_brings_back_the_earlier_line(budget, by):
    replaced = budget.set_allocation("BUN", 2024, "FRITIDS", 50_000, by("BUN", BUDGET_MEETING))
    budget.retract(replaced["event_id"], "Fel belopp")
    assert allocations(budget)["FRITIDS"] == 100_000
    budget.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))


def test_retracting_a_frame_adjustment_restores_the_frame(budget, by):
    budget.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))
    adjusted = budget.adjust_frame("BUN", 2024, 50_000, "Tillskott", by("KF", DURING_THE_YEAR))
    assert budget.body_year("BUN", 2024).frame_sek == FRAME + 50_000
    budget.retract(adjusted["event_id"], "Fel nämnd")
    assert budget.body_year("BUN", 2024).frame_sek == FRAME


def test_retracting_a_frame_brings_back_the_frame_it_replaced(budget, refused, by):
    revised = budget.set_frame("MRP2024", "BUN", 2024, 1_200_000, [], by("KF", dt.date(2023, 12, 4)))
    refused(budget, "frame_not_balanced", budget.adopt_budget, "BUN", 2024, by("BUN", BUDGET_MEETING))
    budget.retract(revised["event_id"], "Fel belopp")
    budget.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))


def test_retracting_an_activity_area_makes_it_unknown_to_the_budget(org, refused, by):
    added = org.add_area("BUN", "SARSKOLA", "Anpassad grundskola", by("BUN"))
    org.retract(added["event_id"], "Fel nämnd")
    assert "SARSKOLA" not in org.body("BUN").areas
    refused(org, "unknown_reference", org.set_allocation, "BUN", 2024, "SARSKOLA", 1_000, by("BUN", BUDGET_MEETING))


def test_retracting_a_withdrawal_makes_the_uppdrag_active_again(org, refused, by, last):
    org.issue_assignment("U1", "BUN", "Läsfrämjande", "Plan", dt.date(2025, 6, 30), by("KF"))
    withdrawal = org.withdraw_assignment("U1", "Fel uppdrag", by("KF", DURING_THE_YEAR))
    refused(org, "assignment_withdrawn", org.report_assignment_status, "U1", "ongoing", "2024-T1", "Pågår",
            dt.date(2024, 5, 2))
    org.retract(withdrawal["event_id"], "Det var ett annat uppdrag som drogs tillbaka")
    org.report_assignment_status("U1", "ongoing", "2024-T1", "Pågår", dt.date(2024, 5, 2))
    assert last(org)["type"] == "AssignmentStatusReported"


def test_retracting_an_establishment_takes_the_goal_out_of_force(org, refused, by):
    org.open_term("2023-2026", 2023, 2026)
    org.define_indicator("N15", "Behöriga lärare", "%", "increase")
    established = org.establish_goal("IM1", "2023-2026", "Alla barn lyckas", by("KF"))
    org.retract(established["event_id"], "Registrerat i fel kommun")
    refused(org, "not_found", org.fix_goal_target, "IM1", "N15", 2024, 85, by("KF"))
    refused(org, "unknown_reference", org.define_result, "BUN", "BUN-R1", "expected", "Fler", by("BUN"), goal="IM1")
    refused(org, "unknown_reference", org.issue_assignment, "U1", "BUN", "x", "y", dt.date(2025, 1, 1), by("KF"),
            goal="IM1")


def test_a_retracted_body_takes_no_decisions(org, refused, by):
    established = entry_id(org, "BodyEstablished", code="SBN")
    org.retract(established, "Nämnden inrättades aldrig")
    refused(org, "unknown_reference", org.add_area, "BUN", "GATOR", "Gator", by("SBN"))


def test_an_establishment_retracted_by_mistake_can_be_recorded_again(org, by, last):
    # Regression: a retracted aggregate once kept its code taken (already_exists) for ever, although a
    # retraction cannot be retracted and the refusal tells the registrar to record the decision again.
    org.open_term("2023-2026", 2023, 2026)
    established = org.establish_goal("IM1", "2023-2026", "Alla barn lyckas", by("KF"))
    org.retract(established["event_id"], "Fel: det var IM2 som skulle dras tillbaka")
    org.establish_goal("IM1", "2023-2026", "Alla barn lyckas", by("KF"))
    assert last(org)["type"] == "StrategicGoalEstablished"


def test_retracting_a_budget_line_money_was_moved_from_leaves_the_year_usable(budget, by):
    # Regression: BodyYear.allocations once crashed with KeyError on a reallocation whose from_area had lost
    # its AllocationSet to a retraction, so every later budget command on the year crashed.
    budget.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING))
    budget.reallocate("BUN", 2024, "FORSKOLA", "FRITIDS", 20_000, "Fritids", by("BUN", DURING_THE_YEAR))
    line = entry_id(budget, "AllocationSet", area="FORSKOLA")
    with contextlib.suppress(DomainError):  # refusing this retraction would be a fine answer too
        budget.retract(line, "Fel belopp")
    with contextlib.suppress(DomainError):  # so would a clear refusal of the next command; a crash is not
        budget.reallocate("BUN", 2024, "FRITIDS", "GRUNDSKOLA", 1_000, "Tillbaka", by("BUN", DURING_THE_YEAR))
    assert budget.verify_ledger().ok
