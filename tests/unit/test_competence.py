"""Who decides what (docs/spec/domain.md): the competence table, the decision object, rules 1, 10, 11 and 12."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from domain.decisions import Decision

# --- the decision object ---------------------------------------------------------------------


def test_a_decision_dated_in_the_future_is_refused(app, refused):
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    error = refused(app, "invalid_command", app.adopt_vision, "Vision", Decision("KF", tomorrow, paragraph="§1"))
    assert error.field == "decision.date"


def test_a_decision_dated_today_is_accepted(app, ledger_types):
    app.adopt_vision("Vision", Decision("KF", dt.date.today(), paragraph="§1"))
    assert ledger_types(app)[-1] == "VisionAdopted"


def test_a_decision_by_an_unknown_body_is_refused(app, refused, by):
    error = refused(app, "unknown_reference", app.adopt_vision, "Vision", by("XYZ"))
    assert error.field == "decision.body"


def test_a_recorded_decision_carries_who_when_and_where(app, last):
    decided = Decision("KF", dt.date(2023, 11, 20), paragraph="§150", registry_number="KS 2023/201")
    app.adopt_vision("Vision", decided)
    assert last(app)["decision"] == {
        "body": "KF", "date": "2023-11-20", "kind": "meeting", "paragraph": "§150",
        "registry_number": "KS 2023/201", "effective_from": "2023-11-20", "delegation": None,
    }


def test_a_decision_may_take_effect_later_than_its_meeting(app, last):
    app.adopt_vision("Vision", Decision("KF", dt.date(2023, 11, 20), paragraph="§150",
                                        effective_from=dt.date(2024, 1, 1)))
    assert last(app)["decision"]["effective_from"] == "2024-01-01"


def test_a_meeting_decision_names_its_paragraph(app, refused):
    error = refused(app, "invalid_command", app.adopt_vision, "Vision", Decision("KF", dt.date(2023, 11, 20)))
    assert error.field == "decision.paragraph"


def test_a_delegated_decision_names_the_delegation_it_rests_on(org, refused):
    error = refused(org, "invalid_command", org.add_area, "BUN", "SARSKOLA", "Anpassad grundskola",
                    Decision("BUN", dt.date(2023, 11, 20), kind="delegated"))
    assert error.field == "decision.delegation"


def test_a_namnd_may_decide_its_own_matter_by_delegation(org, last):
    org.add_area("BUN", "SARSKOLA", "Anpassad grundskola",
                 Decision("BUN", dt.date(2023, 11, 20), kind="delegated", delegation="BUN 2023-01-30 §4"))
    assert last(org)["decision"]["delegation"] == "BUN 2023-01-30 §4"


def test_a_decision_may_not_take_effect_before_it_is_taken(app, refused):
    error = refused(app, "invalid_command", app.adopt_vision, "Vision",
                    Decision("KF", dt.date(2023, 11, 20), paragraph="§150", effective_from=dt.date(2023, 11, 19)))
    assert error.field == "decision.effective_from"


# --- rule 1: only KF --------------------------------------------------------------------------


def _council_only_commands(app, by):
    """Each council-only matter as a command taking the decision, on a tenant where it could otherwise succeed."""
    app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF"))
    app.open_term("2023-2026", 2023, 2026)
    app.define_indicator("N15", "Behöriga lärare", "%", "increase")
    app.establish_goal("IM1", "2023-2026", "Alla barn lyckas i skolan", by("KF"))
    app.draft_plan("MRP2024", 2024)
    app.set_frame("MRP2024", "BUN", 2024, 1_000_000, [], by("KF"))
    app.submit_audit_report("BUN", 2024, "grant", "Inga anmärkningar", dt.date(2025, 3, 15))
    return {
        "establish_body": lambda d: app.establish_body("SBN", "Samhällsbyggnadsnämnden", "committee", d),
        "adopt_vision": lambda d: app.adopt_vision("Vänersborg växer", d),
        "establish_goal": lambda d: app.establish_goal("IM2", "2023-2026", "Trygg kommun", d),
        "revise_goal": lambda d: app.revise_goal("IM1", d, title="Alla barn lyckas"),
        "fix_goal_target": lambda d: app.fix_goal_target("IM1", "N15", 2024, Decimal(85), d),
        "set_frame": lambda d: app.set_frame("MRP2024", "BUN", 2025, 1_100_000, [], d),
        "adopt_plan": lambda d: app.adopt_plan("MRP2024", d),
        "adjust_frame": lambda d: app.adjust_frame("BUN", 2024, 50_000, "Fler elever", d),
        "decide_discharge": lambda d: app.decide_discharge("BUN", 2024, True, d),
    }


COUNCIL_ONLY = ("establish_body", "adopt_vision", "establish_goal", "revise_goal", "fix_goal_target",
                "set_frame", "adopt_plan", "adjust_frame", "decide_discharge")


@pytest.mark.parametrize("matter", COUNCIL_ONLY)
@pytest.mark.parametrize("decider", ["KS", "BUN"])
def test_only_the_council_may_take_a_council_matter(app, refused, by, matter, decider):
    command = _council_only_commands(app, by)[matter]
    refused(app, "not_competent", command, by(decider, dt.date(2025, 4, 1)))


@pytest.mark.parametrize("matter", COUNCIL_ONLY)
def test_the_council_may_not_delegate_a_council_matter(app, refused, by, matter):
    command = _council_only_commands(app, by)[matter]
    delegated = Decision("KF", dt.date(2025, 4, 1), kind="delegated", delegation="KF 2023-01-30 §5")
    refused(app, "not_competent", command, delegated)


@pytest.mark.parametrize("matter", COUNCIL_ONLY)
def test_the_council_may_take_every_council_matter(app, by, matter):
    command = _council_only_commands(app, by)[matter]
    before = app.ledger_head()[0]
    answer = command(by("KF", dt.date(2025, 4, 1)))
    assert answer["position"] == before + 1


def test_committee_may_not_fix_a_council_target_value(app, refused, by):
    _council_only_commands(app, by)
    refused(app, "not_competent", app.fix_goal_target, "IM1", "N15", 2024, Decimal(85), by("BUN"))


def test_executive_board_may_not_adopt_the_vision(app, refused, by):
    error = refused(app, "not_competent", app.adopt_vision, "Vision", by("KS"))
    assert "KS" in error.message


def test_the_council_adopts_and_then_revises_the_vision(app, by, ledger_types):
    app.adopt_vision("Vänersborg växer", by("KF"))
    app.adopt_vision("Vänersborg växer hållbart", by("KF", dt.date(2024, 6, 10)))
    assert ledger_types(app)[-2:] == ["VisionAdopted", "VisionRevised"]


# --- bodies -------------------------------------------------------------------------------------


def test_a_new_tenant_has_the_council_and_the_executive_board(app):
    assert [entry.as_record()["data"]["code"] for entry in app.ledger_entries()] == ["KF", "KS"]
    assert app.body("KF").kind == "council"
    assert app.body("KS").kind == "executive_board"


def test_provisioning_twice_records_nothing_more(app):
    head = app.ledger_head()[:2]
    app.provision()
    assert app.ledger_head()[:2] == head


def test_the_council_establishes_a_forvaltning_under_a_namnd(app, by, last):
    app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF"))
    app.establish_body("BUF", "Barn- och utbildningsförvaltningen", "administration", by("KF"), parent="BUN")
    assert last(app)["data"]["parent"] == "BUN"


def test_a_body_code_can_only_be_established_once(app, refused, by):
    refused(app, "already_exists", app.establish_body, "KS", "Kommunstyrelsen", "executive_board", by("KF"))


def test_a_body_of_unknown_kind_is_refused(app, refused, by):
    refused(app, "invalid_command", app.establish_body, "BUN", "Barn- och utbildningsnämnden", "ministry", by("KF"))


def test_a_body_under_an_unknown_parent_is_refused(app, refused, by):
    error = refused(app, "unknown_reference", app.establish_body, "BUF", "Förvaltning", "administration",
                    by("KF"), parent="BUN")
    assert error.field == "parent"


def test_a_namnd_adds_its_own_activity_area(org, by, last):
    org.add_area("BUN", "SARSKOLA", "Anpassad grundskola", by("BUN"))
    assert last(org)["type"] == "ActivityAreaAdded"
    assert "SARSKOLA" in org.body("BUN").areas


def test_the_council_may_not_add_an_activity_area_to_a_namnd(org, refused, by):
    refused(org, "not_competent", org.add_area, "BUN", "SARSKOLA", "Anpassad grundskola", by("KF"))


def test_another_namnd_may_not_add_an_activity_area(org, refused, by):
    refused(org, "not_competent", org.add_area, "BUN", "SARSKOLA", "Anpassad grundskola", by("SBN"))


def test_an_activity_area_code_is_taken_once_per_body(org, refused, by):
    refused(org, "already_exists", org.add_area, "BUN", "GRUNDSKOLA", "Grundskola igen", by("BUN"))


def test_an_activity_area_of_an_unknown_body_is_not_found(org, refused, by):
    refused(org, "not_found", org.add_area, "XYZ", "A", "A", by("KF"))


# --- rule 10: delårsrapport and årsredovisning -----------------------------------------------------


@pytest.mark.parametrize("decider", ["KS", "KF"])
@pytest.mark.parametrize("kind", ["interim_t1", "interim_t2", "annual"])
def test_the_executive_board_and_the_council_adopt_the_reports(org, by, last, decider, kind):
    org.adopt_report(kind, 2024, by(decider, dt.date(2025, 4, 20)))
    record = last(org)
    assert record["type"] == "ReportAdopted"
    assert record["data"] == {"year": 2024, "kind": kind}
    assert record["decision"]["body"] == decider


def test_a_namnd_may_not_adopt_the_municipalitys_report(org, refused, by):
    refused(org, "not_competent", org.adopt_report, "interim_t1", 2024, by("BUN", dt.date(2024, 5, 20)))


def test_a_forvaltning_may_not_adopt_the_municipalitys_report(org, refused, by):
    refused(org, "not_competent", org.adopt_report, "annual", 2024, by("KLF", dt.date(2025, 3, 20)))


def test_an_unknown_kind_of_report_is_refused(org, refused, by):
    refused(org, "invalid_command", org.adopt_report, "interim_t3", 2024, by("KS", dt.date(2025, 3, 20)))


# --- rule 11: ansvarsprövning ---------------------------------------------------------------------


def test_the_auditors_report_only_after_the_year_has_ended(org, refused):
    refused(org, "invalid_command", org.submit_audit_report, "BUN", 2024, "grant", "", dt.date(2024, 12, 31))


def test_the_auditors_report_is_not_dated_in_the_future(org, refused):
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    refused(org, "invalid_command", org.submit_audit_report, "BUN", 2025, "grant", "", tomorrow)


def test_the_auditors_recommend_grant_or_refuse(org, refused):
    refused(org, "invalid_command", org.submit_audit_report, "BUN", 2024, "maybe", "", dt.date(2025, 3, 1))


def test_the_auditors_report_on_a_known_body_only(org, refused):
    refused(org, "unknown_reference", org.submit_audit_report, "XYZ", 2024, "grant", "", dt.date(2025, 3, 1))


def test_the_council_may_not_decide_discharge_before_the_auditors_report(org, refused, by):
    refused(org, "invalid_command", org.decide_discharge, "BUN", 2024, True, by("KF", dt.date(2025, 4, 20)))


def test_the_council_decides_discharge_after_the_auditors_report(org, by, ledger_types, last):
    org.submit_audit_report("BUN", 2024, "refuse", "Bristande intern kontroll", dt.date(2025, 3, 15))
    org.decide_discharge("BUN", 2024, False, by("KF", dt.date(2025, 4, 20)), remark="Anmärkning")
    assert ledger_types(org)[-2:] == ["AuditReportSubmitted", "DischargeDecided"]
    assert last(org)["data"] == {"body": "BUN", "year": 2024, "granted": False, "remark": "Anmärkning"}


def test_the_council_may_not_decide_discharge_at_a_meeting_before_the_auditors_report(org, refused, by):
    org.submit_audit_report("BUN", 2024, "grant", "", dt.date(2025, 3, 15))
    refused(org, "invalid_command", org.decide_discharge, "BUN", 2024, True, by("KF", dt.date(2025, 3, 14)))


def test_the_executive_board_may_not_decide_discharge_even_after_the_auditors_report(org, refused, by):
    org.submit_audit_report("BUN", 2024, "grant", "", dt.date(2025, 3, 15))
    refused(org, "not_competent", org.decide_discharge, "BUN", 2024, True, by("KS", dt.date(2025, 4, 20)))


# --- rule 12: governing documents ------------------------------------------------------------------

DOCUMENT = {
    "type": "policy", "name": "Policy för intern kontroll", "owner": "KS", "responsible": "Ekonomichef",
    "validity": "tills vidare", "follow_up": "yearly", "subject": "Ekonomi", "published": ["website", "intranet"],
    "related": ["D-2"],
}


def test_a_governing_document_records_its_metadata(org, by, last):
    org.adopt_document("D-1", Decision("KS", dt.date(2023, 11, 6), paragraph="§201", registry_number="KS 2023/88"),
                       **DOCUMENT)
    record = last(org)
    assert record["type"] == "GoverningDocumentAdopted"
    data = record["data"]
    assert {k: data[k] for k in DOCUMENT} == DOCUMENT
    assert data["code"] == "D-1"
    assert record["decision"]["paragraph"] == "§201"
    assert record["decision"]["registry_number"] == "KS 2023/88"


@pytest.mark.parametrize("published", [[], ["website", "website"], ["intranet", "website", "intranet"]])
def test_a_document_is_published_somewhere_and_names_each_place_once(org, refused, by, published):
    error = refused(org, "invalid_command", org.adopt_document, "D-1", by("KS"), **{**DOCUMENT, "published": published})
    assert error.field == "published"


def test_a_revision_may_move_a_document_to_the_intranet_only(org, by, last):
    org.adopt_document("D-1", by("KS"), **DOCUMENT)
    org.revise_document("D-1", by("KS", dt.date(2024, 5, 6)), {"published": ["intranet"]})
    assert last(org)["data"]["changes"] == {"published": ["intranet"]}


@pytest.mark.parametrize("published", [[], ["intranet", "intranet"]])
def test_a_revision_may_not_leave_a_document_unpublished_or_name_a_place_twice(org, refused, by, published):
    org.adopt_document("D-1", by("KS"), **DOCUMENT)
    error = refused(org, "invalid_command", org.revise_document, "D-1", by("KS", dt.date(2024, 5, 6)),
                    {"published": published})
    assert error.field == "published"


def test_a_document_code_can_only_be_adopted_once(org, refused, by):
    org.adopt_document("D-1", by("KS"), **DOCUMENT)
    refused(org, "already_exists", org.adopt_document, "D-1", by("KS"), **DOCUMENT)


def test_the_adopting_body_revises_its_document(org, by, last):
    org.adopt_document("D-1", by("KS"), **DOCUMENT)
    org.revise_document("D-1", by("KS", dt.date(2024, 5, 6)), {"name": "Riktlinje för intern kontroll"})
    assert last(org)["type"] == "GoverningDocumentRevised"


def test_the_council_may_revise_any_document(org, by, last):
    org.adopt_document("D-1", by("KS"), **DOCUMENT)
    org.revise_document("D-1", by("KF", dt.date(2024, 5, 6)), {"name": "Riktlinje för intern kontroll"})
    assert last(org)["type"] == "GoverningDocumentRevised"


def test_another_body_may_not_revise_a_document(org, refused, by):
    org.adopt_document("D-1", by("KS"), **DOCUMENT)
    refused(org, "not_competent", org.revise_document, "D-1", by("BUN", dt.date(2024, 5, 6)), {"name": "Ny"})


def test_another_body_may_not_repeal_a_document(org, refused, by):
    org.adopt_document("D-1", by("KS"), **DOCUMENT)
    refused(org, "not_competent", org.repeal_document, "D-1", by("BUN", dt.date(2024, 5, 6)))


def test_a_revision_must_change_something(org, refused, by):
    org.adopt_document("D-1", by("KS"), **DOCUMENT)
    refused(org, "invalid_command", org.revise_document, "D-1", by("KS", dt.date(2024, 5, 6)), {})


def test_a_repealed_document_can_be_neither_revised_nor_repealed_again(org, refused, by):
    org.adopt_document("D-1", by("KS"), **DOCUMENT)
    org.repeal_document("D-1", by("KS", dt.date(2024, 5, 6)))
    refused(org, "invalid_command", org.revise_document, "D-1", by("KS", dt.date(2024, 6, 6)), {"name": "Ny"})
    refused(org, "invalid_command", org.repeal_document, "D-1", by("KS", dt.date(2024, 6, 6)))


def test_an_unknown_document_is_not_found(org, refused, by):
    refused(org, "not_found", org.revise_document, "D-9", by("KS"), {"name": "Ny"})
