"""Rule 4: riktade uppdrag, issued by KF (or a nämnd to its own förvaltning), revised, withdrawn, reported on."""

from __future__ import annotations

import datetime as dt

import pytest

DUE = dt.date(2025, 6, 30)
MID_PERIOD = dt.date(2024, 6, 10)


@pytest.fixture
def uppdrag(org, by):
    """Uppdrag U2024-03 from KF to BUN under inriktningsmål IM1."""
    org.open_term("2023-2026", 2023, 2026)
    org.establish_goal("IM1", "2023-2026", "Alla barn lyckas i skolan", by("KF"))
    org.issue_assignment("U2024-03", "BUN", "Läsfrämjande", "Ta fram en plan för läsfrämjande", DUE, by("KF"),
                         goal="IM1")
    return org


def test_the_council_issues_an_uppdrag_with_a_horizon(uppdrag, last):
    record = last(uppdrag)
    assert record["type"] == "AssignmentIssued"
    assert record["data"]["assignment"] == "U2024-03"
    assert record["data"]["to_body"] == "BUN"
    assert record["data"]["goal"] == "IM1"
    assert record["data"]["due"] == "2025-06-30"
    assert record["decision"]["body"] == "KF"


@pytest.mark.parametrize("to_body", ["KS", "SBN", "BUF", "KLF"])
def test_the_council_may_issue_an_uppdrag_to_any_body(org, by, last, to_body):
    org.issue_assignment("U1", to_body, "Uppdrag", "Beskrivning", DUE, by("KF"))
    assert last(org)["data"]["to_body"] == to_body


def test_a_namnd_may_issue_an_uppdrag_to_its_own_forvaltning(org, by, last):
    org.issue_assignment("BUN-U1", "BUF", "Kartlägg lokalbehov", "Underlag till budget", DUE, by("BUN"))
    record = last(org)
    assert record["type"] == "AssignmentIssued"
    assert record["decision"]["body"] == "BUN"


def test_the_executive_board_may_issue_an_uppdrag_to_its_own_forvaltning(org, by, last):
    org.issue_assignment("KS-U1", "KLF", "Digitalisering", "Ta fram en strategi", DUE, by("KS"))
    assert last(org)["data"]["to_body"] == "KLF"


def test_a_namnd_may_not_issue_an_uppdrag_to_another_namnds_forvaltning(org, refused, by):
    refused(org, "not_competent", org.issue_assignment, "BUN-U1", "SBF", "Skolvägar", "Se över", DUE, by("BUN"))


@pytest.mark.parametrize("to_body", ["SBN", "KS", "BUN"])
def test_a_namnd_may_not_issue_an_uppdrag_to_a_namnd(org, refused, by, to_body):
    refused(org, "not_competent", org.issue_assignment, "BUN-U1", to_body, "Uppdrag", "Beskrivning", DUE, by("BUN"))


def test_the_executive_board_may_not_issue_an_uppdrag_to_a_namnd(org, refused, by):
    refused(org, "not_competent", org.issue_assignment, "KS-U1", "BUN", "Uppdrag", "Beskrivning", DUE, by("KS"))


@pytest.mark.parametrize(("issuer", "issuer_kind"), [("BUF", "administration"), ("BOLAG", "company")])
def test_only_a_namnd_issues_an_uppdrag_to_a_forvaltning_below_it(org, refused, by, issuer, issuer_kind):
    # Regression: the competence check once accepted any parent of an administration, not only a nämnd.
    if issuer_kind == "company":
        org.establish_body("BOLAG", "Kommunens fastighets AB", "company", by("KF"))
    org.establish_body("UNDER", "Enhet under " + issuer, "administration", by("KF"), parent=issuer)
    refused(org, "not_competent", org.issue_assignment, "X-U1", "UNDER", "Uppdrag", "Beskrivning", DUE, by(issuer))


def test_an_uppdrag_to_an_unknown_body_is_refused(org, refused, by):
    error = refused(org, "unknown_reference", org.issue_assignment, "U1", "XYZ", "Uppdrag", "Text", DUE, by("KF"))
    assert error.field == "to_body"


def test_an_uppdrag_under_an_unknown_goal_is_refused(org, refused, by):
    error = refused(org, "unknown_reference", org.issue_assignment, "U1", "BUN", "Uppdrag", "Text", DUE, by("KF"),
                    goal="IM9")
    assert error.field == "goal"


def test_an_uppdrag_code_is_issued_once(uppdrag, refused, by):
    refused(uppdrag, "already_exists", uppdrag.issue_assignment, "U2024-03", "SBN", "Annat", "Text", DUE, by("KF"))


# --- revision and withdrawal --------------------------------------------------------------------------


def test_the_council_revises_an_uppdrag_mid_period(uppdrag, by, last):
    uppdrag.revise_assignment("U2024-03", by("KF", MID_PERIOD), due=dt.date(2025, 12, 31),
                              description="Planen ska omfatta förskolan")
    record = last(uppdrag)
    assert record["type"] == "AssignmentRevised"
    assert record["data"]["due"] == "2025-12-31"
    assert record["data"]["description"] == "Planen ska omfatta förskolan"


def test_a_revision_must_change_text_or_due_date(uppdrag, refused, by):
    refused(uppdrag, "invalid_command", uppdrag.revise_assignment, "U2024-03", by("KF", MID_PERIOD))


def test_the_receiving_namnd_may_not_revise_the_councils_uppdrag(uppdrag, refused, by):
    refused(uppdrag, "not_competent", uppdrag.revise_assignment, "U2024-03", by("BUN", MID_PERIOD),
            due=dt.date(2026, 6, 30))


def test_a_namnd_may_not_revise_a_council_uppdrag_to_its_own_forvaltning(org, refused, by):
    org.issue_assignment("U1", "BUF", "Uppdrag", "Text", DUE, by("KF"))
    refused(org, "not_competent", org.revise_assignment, "U1", by("BUN", MID_PERIOD), title="Nytt")
    refused(org, "not_competent", org.withdraw_assignment, "U1", "Behövs inte", by("BUN", MID_PERIOD))


CHANGES = {
    "revise": lambda app, code, decision: app.revise_assignment(code, decision, title="Nytt"),
    "withdraw": lambda app, code, decision: app.withdraw_assignment(code, "Behövs inte", decision),
}


@pytest.mark.parametrize("act", list(CHANGES))
@pytest.mark.parametrize("decider", ["BUN", "SBN"])
def test_a_refusal_to_change_an_uppdrag_names_the_act_attempted(uppdrag, refused, by, act, decider):
    error = refused(uppdrag, "not_competent", CHANGES[act], uppdrag, "U2024-03", by(decider, MID_PERIOD))
    assert error.message.startswith(f"{decider} may not {act} an uppdrag given to BUN:")


@pytest.mark.parametrize("act", list(CHANGES))
def test_a_refusal_to_change_another_bodys_uppdrag_names_the_act_attempted(org, refused, by, act):
    org.issue_assignment("U1", "BUF", "Uppdrag", "Text", DUE, by("KF"))
    error = refused(org, "not_competent", CHANGES[act], org, "U1", by("BUN", MID_PERIOD))
    assert error.message == f"Uppdrag U1 was issued by KF; BUN may not {act} it."


def test_the_namnd_revises_and_withdraws_its_own_uppdrag(org, by, ledger_types):
    org.issue_assignment("BUN-U1", "BUF", "Kartlägg lokalbehov", "Underlag", DUE, by("BUN"))
    org.revise_assignment("BUN-U1", by("BUN", MID_PERIOD), title="Kartlägg lokal- och personalbehov")
    org.withdraw_assignment("BUN-U1", "Ingår i annat uppdrag", by("BUN", dt.date(2024, 9, 9)))
    assert ledger_types(org)[-3:] == ["AssignmentIssued", "AssignmentRevised", "AssignmentWithdrawn"]


def test_the_council_may_revise_an_uppdrag_a_namnd_issued(org, by, last):
    org.issue_assignment("BUN-U1", "BUF", "Kartlägg lokalbehov", "Underlag", DUE, by("BUN"))
    org.revise_assignment("BUN-U1", by("KF", MID_PERIOD), due=dt.date(2024, 12, 31))
    assert last(org)["decision"]["body"] == "KF"


def test_the_council_withdraws_an_uppdrag(uppdrag, by, last):
    uppdrag.withdraw_assignment("U2024-03", "Ingår i skolplanen", by("KF", MID_PERIOD))
    record = last(uppdrag)
    assert record["type"] == "AssignmentWithdrawn"
    assert record["data"]["reason"] == "Ingår i skolplanen"


def test_a_withdrawn_uppdrag_cannot_be_revised(uppdrag, refused, by):
    uppdrag.withdraw_assignment("U2024-03", "Ingår i skolplanen", by("KF", MID_PERIOD))
    refused(uppdrag, "assignment_withdrawn", uppdrag.revise_assignment, "U2024-03", by("KF", MID_PERIOD),
            title="Nytt")


def test_a_withdrawn_uppdrag_cannot_be_withdrawn_again(uppdrag, refused, by):
    uppdrag.withdraw_assignment("U2024-03", "Ingår i skolplanen", by("KF", MID_PERIOD))
    refused(uppdrag, "assignment_withdrawn", uppdrag.withdraw_assignment, "U2024-03", "Igen", by("KF", MID_PERIOD))


def test_a_withdrawn_uppdrag_gets_no_status_reports(uppdrag, refused, by):
    uppdrag.withdraw_assignment("U2024-03", "Ingår i skolplanen", by("KF", MID_PERIOD))
    refused(uppdrag, "assignment_withdrawn", uppdrag.report_assignment_status, "U2024-03", "ongoing", "2024-T2",
            "Pågår", dt.date(2024, 9, 20))


def test_an_unknown_uppdrag_is_not_found(uppdrag, refused, by):
    refused(uppdrag, "not_found", uppdrag.revise_assignment, "U9", by("KF", MID_PERIOD), title="x")
    refused(uppdrag, "not_found", uppdrag.withdraw_assignment, "U9", "x", by("KF", MID_PERIOD))
    refused(uppdrag, "not_found", uppdrag.report_assignment_status, "U9", "ongoing", "2024-T1", "x",
            dt.date(2024, 5, 2))


# --- status at follow-ups -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["not_started", "ongoing", "completed", "will_not_complete"])
def test_the_body_reports_the_status_of_its_uppdrag(uppdrag, last, status):
    uppdrag.report_assignment_status("U2024-03", status, "2024-T1", "Kommentar", dt.date(2024, 5, 2))
    record = last(uppdrag)
    assert record["type"] == "AssignmentStatusReported"
    assert record["data"]["status"] == status
    assert record["decision"] is None
    assert uppdrag.assignment_body("U2024-03") == "BUN"


def test_attainment_of_an_uppdrag_is_assessed_at_a_follow_up(uppdrag, last):
    uppdrag.assess("assignment:U2024-03", "2024", "partly_met", "Planen är framtagen men inte införd",
                   dt.date(2025, 2, 10), internal_efficiency="God", external_efficiency="Oklar")
    record = last(uppdrag)
    assert record["type"] == "AttainmentAssessed"
    assert record["data"]["assignment"] == "U2024-03"


def test_an_assessment_of_an_unknown_subject_is_refused(uppdrag, refused):
    refused(uppdrag, "unknown_reference", uppdrag.assess, "assignment:U9", "2024", "met", "x", dt.date(2025, 2, 10))
    refused(uppdrag, "invalid_command", uppdrag.assess, "plan:MRP2024", "2024", "met", "x", dt.date(2025, 2, 10))


def test_an_uppdrag_cannot_be_due_before_it_is_issued(org, refused, by):
    error = refused(org, "invalid_command", org.issue_assignment, "U1", "BUN", "Uppdrag", "Text",
                    dt.date(2023, 11, 19), by("KF"))
    assert error.field == "due"


def test_a_revision_cannot_set_a_due_date_before_the_revising_decision(uppdrag, refused, by):
    refused(uppdrag, "invalid_command", uppdrag.revise_assignment, "U2024-03", by("KF", MID_PERIOD),
            due=dt.date(2024, 6, 9))


def test_a_status_outside_the_four_is_refused(uppdrag, refused):
    error = refused(uppdrag, "invalid_command", uppdrag.report_assignment_status, "U2024-03", "almost_done",
                    "2024-T1", "Nästan klart", dt.date(2024, 5, 2))
    assert error.field == "status"


def test_a_status_is_reported_for_a_follow_up_period(uppdrag, refused):
    error = refused(uppdrag, "invalid_command", uppdrag.report_assignment_status, "U2024-03", "ongoing", "våren",
                    "Pågår", dt.date(2024, 5, 2))
    assert error.field == "period"
