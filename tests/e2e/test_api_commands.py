"""Every command of the HTTP API: recorded, refused for each reason docs/api.md names, and recorded once on retry."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from apisupport import MISSING_SLUG, SLUG, decision, error_code, field_errors, tomorrow

from domain.ledger import event_id
from web.api.commands import COMMANDS

DROP = object()  # an override that removes the key from the body

DECIDERS = ("admin", "registrar")
REPORTERS = ("admin", "registrar", "reporter")
AUDITORS = ("auditor",)
# The user of the built municipality holding each role (docs/api.md, "Roles").
USER_OF_ROLE = {"admin": "admin", "registrar": "registrar", "reporter": "reporter_bun", "auditor": "auditor",
                "viewer": "viewer"}


@dataclass(frozen=True)
class Refusal:
    label: str
    overrides: dict = field(default_factory=dict)
    code: str = ""
    path: str | None = None
    status: int = 422
    sender: str | None = None


@dataclass(frozen=True)
class Case:
    """One command: where it goes, a body that is recorded, and the ways it can be refused."""

    command: str  # the name in web/api/commands.py
    template: str  # the path as docs/api.md writes it
    path: str  # the concrete path in the built municipality ({target} etc. are event ids of the world)
    body: dict
    event: str
    sender: str = "registrar"
    roles: tuple[str, ...] = DECIDERS
    malformed: tuple[tuple[dict, tuple[str, ...]], ...] = ()
    refusals: tuple[Refusal, ...] = ()
    unknown: tuple[tuple[dict, str], ...] = ()  # a body code that does not exist, and the field named
    duplicate: dict | None = None  # overrides that take a code already taken
    missing_paths: tuple[str, ...] = ()  # paths naming a code that does not exist
    other: dict | None = None  # overrides making another, still valid body (idempotency)

    def url(self, api, path: str | None = None) -> str:
        return (path or self.path).format(**api.ids)

    def with_(self, overrides: dict) -> dict:
        body = {**self.body, **overrides}
        return {k: v for k, v in body.items() if v is not DROP}

    def other_body(self) -> dict:
        if self.other is not None:
            return self.with_(self.other)
        return self.with_({"decision": {**self.body["decision"], "paragraph": "§999"}})


KF, KS, BUN, SBN = decision("KF"), decision("KS"), decision("BUN"), decision("SBN")
DOCUMENT = {"code": "D2", "type": "policy", "name": "Riktlinjer för styrning och ledning", "owner": "Kommunstyrelsen",
            "responsible": "Kommundirektör", "validity": "Tills vidare", "follow_up": "Varje mandatperiod",
            "subject": "Styrning", "published": ["website"], "decision": KS}


def not_competent(overrides: dict, label: str = "decided_by_ks", **kw) -> Refusal:
    return Refusal(label, overrides, "not_competent", **kw)


CASES: list[Case] = [
    Case("establish_body", "/bodies", "/bodies",
         {"code": "SN", "name": "Socialnämnden", "kind": "committee", "decision": KF}, "BodyEstablished",
         malformed=(({"kind": "nämnd"}, ("kind",)), ({"code": "S N"}, ("code",)),
                    ({"decision": decision("KF", paragraph=None)}, ("decision", "paragraph"))),
         refusals=(not_competent({"decision": KS}),),
         unknown=(({"parent": "NOPE"}, "parent"),),
         duplicate={"code": "BUN"}),
    Case("add_area", "/bodies/{body}/areas", "/bodies/BUN/areas",
         {"code": "FRITIDS", "name": "Fritidshem", "decision": BUN}, "ActivityAreaAdded",
         malformed=(({"name": ""}, ("name",)), ({"decision": decision("BUN", "2023-13-45")}, ("decision", "date"))),
         refusals=(not_competent({"decision": KS}), not_competent({"decision": SBN}, "decided_by_another_committee")),
         duplicate={"code": "GRUNDSKOLA"}, missing_paths=("/bodies/NOPE/areas",)),
    Case("adopt_vision", "/vision", "/vision",
         {"text": "Vänersborg – där livet växer", "decision": KF}, "VisionAdopted",
         malformed=(({"text": ""}, ("text",)),
                    ({"decision": {**KF, "kind": "delegated"}}, ("decision", "delegation"))),
         refusals=(not_competent({"decision": KS}),
                   not_competent({"decision": decision("KF", kind="delegated", delegation="Delegationsordning")},
                                 "delegated_by_kf"),)),
    Case("adopt_document", "/documents", "/documents", DOCUMENT, "GoverningDocumentAdopted",
         malformed=(({"published": ["tidningen"]}, ("published", "0")), ({"type": "memo"}, ("type",))),
         duplicate={"code": "D1"}),
    Case("revise_document", "/documents/{code}/revisions", "/documents/D1/revisions",
         {"name": "Reviderad policy för informationssäkerhet", "decision": KS}, "GoverningDocumentRevised",
         malformed=(({"published": "website"}, ("published",)), ({"colour": "blå"}, ("colour",)),
                    ({"name": DROP}, ("name",))),
         refusals=(not_competent({"decision": SBN}, "decided_by_another_body"),
                   Refusal("repealed", code="invalid_command", path="/documents/D-OLD/revisions")),
         missing_paths=("/documents/NOPE/revisions",)),
    Case("repeal_document", "/documents/{code}/repeal", "/documents/D1/repeal",
         {"decision": KS}, "GoverningDocumentRepealed",
         malformed=(({"decision": DROP}, ("decision",)), ({"decision": decision("KS", "igår")}, ("decision", "date"))),
         refusals=(not_competent({"decision": SBN}, "decided_by_another_body"),
                   Refusal("already_repealed", code="invalid_command", path="/documents/D-OLD/repeal")),
         missing_paths=("/documents/NOPE/repeal",)),
    Case("open_term", "/terms", "/terms",
         {"code": "2027-2030", "first_year": 2027, "last_year": 2030}, "TermOpened",
         malformed=(({"last_year": 2026}, ("last_year",)), ({"first_year": "2027"}, ("first_year",))),
         duplicate={"code": "2023-2026"}, other={"code": "2027-2031", "last_year": 2031}),
    Case("define_indicator", "/indicators", "/indicators",
         {"code": "N00002", "name": "Andel elever med godkända betyg", "unit": "%", "direction": "increase",
          "kolada_kpi": "N15419"}, "IndicatorDefined",
         malformed=(({"direction": "up"}, ("direction",)), ({"kolada_kpi": "15419"}, ("kolada_kpi",))),
         duplicate={"code": "N15"}, other={"name": "Elever med godkända betyg"}),
    Case("establish_goal", "/goals", "/goals",
         {"code": "IM2", "term": "2023-2026", "title": "Hållbar samhällsutveckling", "decision": KF},
         "StrategicGoalEstablished",
         malformed=(({"title": DROP}, ("title",)), ({"term": 2023}, ("term",))),
         refusals=(not_competent({"decision": KS}),),
         unknown=(({"term": "2019-2022"}, "term"),),
         duplicate={"code": "IM1"}),
    Case("revise_goal", "/goals/{code}/revisions", "/goals/IM1/revisions",
         {"title": "Alla barn och elever lyckas", "decision": KF}, "StrategicGoalRevised",
         malformed=(({"title": DROP}, ("title",)),
                    ({"decision": {**KF, "effective_from": "2023-01-01"}}, ("decision", "effective_from"))),
         refusals=(not_competent({"decision": KS}),),
         missing_paths=("/goals/NOPE/revisions",)),
    Case("fix_goal_target", "/goals/{code}/targets", "/goals/IM1/targets",
         {"indicator": "N15", "year": 2026, "value": 92.5, "decision": KF}, "TargetValueFixed",
         malformed=(({"value": "många"}, ("value",)), ({"year": 3000}, ("year",))),
         refusals=(not_competent({"decision": KS}),),
         unknown=(({"indicator": "N99"}, "indicator"),),
         missing_paths=("/goals/NOPE/targets",)),
    Case("define_result", "/bodies/{body}/results", "/bodies/BUN/results",
         {"code": "BUN-R2", "kind": "own", "title": "Nöjda vårdnadshavare", "decision": BUN}, "ResultDefined",
         malformed=(({"kind": "expected"}, ("goal",)), ({"kind": "förväntat"}, ("kind",))),
         refusals=(not_competent({"decision": KS}),
                   not_competent({"decision": decision("BUF")}, "by_an_administration", path="/bodies/BUF/results")),
         unknown=(({"kind": "expected", "goal": "IM9"}, "goal"),),
         duplicate={"code": "BUN-R1"}, missing_paths=("/bodies/NOPE/results",)),
    Case("fix_result_target", "/bodies/{body}/results/{code}/targets", "/bodies/BUN/results/BUN-R1/targets",
         {"indicator": "N15", "year": 2024, "value": 90, "decision": BUN}, "ResultTargetValueFixed",
         malformed=(({"value": None}, ("value",)), ({"indicator": ""}, ("indicator",))),
         refusals=(not_competent({"decision": KS}),),
         unknown=(({"indicator": "N99"}, "indicator"),),
         missing_paths=("/bodies/BUN/results/NOPE/targets", "/bodies/SBN/results/BUN-R1/targets",
                        "/bodies/NOPE/results/BUN-R1/targets")),
    Case("issue_assignment", "/assignments", "/assignments",
         {"code": "U2", "to_body": "BUN", "goal": "IM1", "title": "Utred fler förskoleplatser",
          "description": "Utredningen redovisas till KF.", "due": "2025-06-30", "decision": KF}, "AssignmentIssued",
         malformed=(({"due": "snart"}, ("due",)), ({"description": DROP}, ("description",))),
         refusals=(not_competent({"decision": SBN}, "by_a_committee_to_another_committee"),
                   not_competent({"decision": BUN, "to_body": "SBN"}, "by_a_committee_to_another_body")),
         unknown=(({"to_body": "NOPE"}, "to_body"), ({"goal": "IM9"}, "goal")),
         duplicate={"code": "U1"}),
    Case("revise_assignment", "/assignments/{code}/revisions", "/assignments/U1/revisions",
         {"due": "2025-12-31", "decision": KF}, "AssignmentRevised",
         malformed=(({"due": DROP}, ("title",)), ({"due": "2025-02-30"}, ("due",))),
         refusals=(not_competent({"decision": KS}),
                   Refusal("withdrawn", code="assignment_withdrawn", path="/assignments/U-OLD/revisions")),
         missing_paths=("/assignments/NOPE/revisions",)),
    Case("withdraw_assignment", "/assignments/{code}/withdrawal", "/assignments/U1/withdrawal",
         {"reason": "Uppdraget genomförs på annat sätt.", "decision": KF}, "AssignmentWithdrawn",
         malformed=(({"reason": ""}, ("reason",)), ({"reason": DROP}, ("reason",))),
         refusals=(not_competent({"decision": KS}),
                   Refusal("already_withdrawn", code="assignment_withdrawn", path="/assignments/U-OLD/withdrawal")),
         missing_paths=("/assignments/NOPE/withdrawal",)),
    Case("report_assignment_status", "/assignments/{code}/status", "/assignments/U1/status",
         {"status": "ongoing", "period": "2024-T1", "comment": "Utredningen pågår.", "reported_on": "2024-05-10"},
         "AssignmentStatusReported", sender="reporter_bun", roles=REPORTERS,
         malformed=(({"status": "klar"}, ("status",)), ({"period": "2024-13"}, ("period",))),
         refusals=(Refusal("withdrawn", code="assignment_withdrawn", path="/assignments/U-OLD/status"),),
         missing_paths=("/assignments/NOPE/status",), other={"comment": "Utredningen är nästan klar."}),
    Case("draft_plan", "/plans", "/plans", {"code": "MRP2025", "first_year": 2025}, "ResourcePlanDrafted",
         malformed=(({"first_year": 1800}, ("first_year",)), ({"code": DROP}, ("code",))),
         duplicate={"code": "MRP2024"}, other={"first_year": 2026}),
    Case("set_frame", "/plans/{code}/frames", "/plans/MRP2024/frames",
         {"body": "SBN", "year": 2024, "amount_sek": 500_000_000,
          "earmarks": [{"purpose": "Vinterväghållning", "amount_sek": 20_000_000}], "decision": KF}, "FrameSet",
         malformed=(({"amount_sek": 1.5}, ("amount_sek",)),
                    ({"earmarks": [{"amount_sek": 1}]}, ("earmarks", "0", "purpose"))),
         refusals=(not_competent({"decision": KS}),
                   Refusal("earmarks_exceed_the_frame",
                           {"earmarks": [{"purpose": "Vinterväghållning", "amount_sek": 600_000_000}]},
                           "earmark_violation"),
                   Refusal("year_outside_the_plan", {"year": 2027}, "invalid_command")),
         unknown=(({"body": "NOPE"}, "body"),),
         missing_paths=("/plans/NOPE/frames",)),
    Case("adopt_plan", "/plans/{code}/adoption", "/plans/MRP2024/adoption",
         {"decision": decision("KF", "2023-11-21", "§160")}, "ResourcePlanAdopted",
         malformed=(({"decision": {"body": "KF", "paragraph": "§1"}}, ("decision", "date")),),
         refusals=(not_competent({"decision": KS}),),
         missing_paths=("/plans/NOPE/adoption",)),
    Case("adjust_frame", "/frames/adjustments", "/frames/adjustments",
         {"body": "BUN", "year": 2024, "delta_sek": 50_000, "reason": "Tilläggsanslag för fler elever.",
          "decision": decision("KF", "2024-06-17", "§80")}, "FrameAdjusted",
         malformed=(({"delta_sek": "50000"}, ("delta_sek",)), ({"reason": DROP}, ("reason",))),
         refusals=(not_competent({"decision": KS}),
                   Refusal("below_its_earmarks", {"delta_sek": -950_000}, "earmark_violation"),
                   Refusal("changes_nothing", {"delta_sek": 0}, "invalid_command")),
         unknown=(({"body": "NOPE"}, "body"), ({"body": "SBN"}, "year")),
         other={"reason": "Tilläggsanslag för lokaler."}),
    Case("set_allocation", "/bodies/{body}/budgets/{year}/allocations", "/bodies/BUN/budgets/2025/allocations",
         {"area": "GRUNDSKOLA", "amount_sek": 550_000, "decision": decision("BUN", "2024-11-25", "§90")},
         "AllocationSet",
         malformed=(({"amount_sek": -1}, ("amount_sek",)),
                    ({"earmarks": [{"purpose": "Lärarlöner", "amount_sek": "x"}]}, ("earmarks", "0", "amount_sek"))),
         refusals=(not_competent({"decision": KS}),
                   Refusal("budget_adopted", code="budget_adopted", path="/bodies/BUN/budgets/2024/allocations"),
                   Refusal("earmark_not_in_the_frame", {"earmarks": [{"purpose": "Okänt", "amount_sek": 1}]},
                           "earmark_violation")),
         unknown=(({"area": "GYMNASIUM"}, "area"),),
         missing_paths=("/bodies/NOPE/budgets/2025/allocations", "/bodies/BUN/budgets/tjugo/allocations")),
    Case("adopt_budget", "/bodies/{body}/budgets/{year}/adoption", "/bodies/BUN/budgets/2025/adoption",
         {"decision": decision("BUN", "2024-12-09", "§110")}, "OperationalPlanAdopted",
         malformed=(({"decision": decision("BUN", paragraph="")}, ("decision", "paragraph")),),
         refusals=(not_competent({"decision": KS}),
                   Refusal("already_adopted", code="budget_adopted", path="/bodies/BUN/budgets/2024/adoption"),
                   Refusal("not_balanced", {"decision": SBN}, "frame_not_balanced",
                           path="/bodies/SBN/budgets/2025/adoption"),
                   Refusal("earmark_not_allocated", code="earmark_violation",
                           path="/bodies/BUN/budgets/2026/adoption")),
         missing_paths=("/bodies/NOPE/budgets/2025/adoption", "/bodies/BUN/budgets/tjugo/adoption")),
    Case("reallocate", "/bodies/{body}/budgets/{year}/reallocations", "/bodies/BUN/budgets/2024/reallocations",
         {"from_area": "FORSKOLA", "to_area": "GRUNDSKOLA", "amount_sek": 40_000,
          "reason": "Fler elever i grundskolan.", "decision": decision("BUN", "2024-03-18", "§30")},
         "BudgetReallocated",
         malformed=(({"amount_sek": 0}, ("amount_sek",)), ({"to_area": DROP}, ("to_area",))),
         refusals=(not_competent({"decision": KS}),
                   Refusal("above_the_threshold", {"amount_sek": 60_000}, "needs_council_decision"),
                   Refusal("into_earmarked_money", {"from_area": "GRUNDSKOLA", "to_area": "FORSKOLA",
                                                    "amount_sek": 550_000}, "earmark_violation"),
                   Refusal("to_the_same_area", {"to_area": "FORSKOLA"}, "invalid_command"),
                   Refusal("budget_not_adopted", code="invalid_command",
                           path="/bodies/BUN/budgets/2025/reallocations")),
         unknown=(({"to_area": "GYMNASIUM"}, "to_area"), ({"from_area": "GYMNASIUM"}, "from_area")),
         missing_paths=("/bodies/NOPE/budgets/2024/reallocations",)),
    Case("report_financial", "/follow-ups/financial", "/follow-ups/financial",
         {"body": "BUN", "period": "2024-04", "area": "GRUNDSKOLA", "outcome_sek": 210_000, "forecast_sek": 640_000,
          "reported_on": "2024-05-10"}, "FinancialOutcomeReported", sender="reporter_bun", roles=REPORTERS,
         malformed=(({"period": "2024-13"}, ("period",)), ({"outcome_sek": 12.5}, ("outcome_sek",))),
         unknown=(({"area": "GYMNASIUM"}, "area"),),
         refusals=(Refusal("unknown_body", {"body": "NOPE"}, "unknown_reference", sender="registrar"),),
         other={"forecast_sek": 650_000}),
    Case("report_indicator", "/follow-ups/indicators", "/follow-ups/indicators",
         {"indicator": "N15", "period": "2024", "value": 87.5, "body": "BUN", "reported_on": "2025-02-10"},
         "IndicatorOutcomeReported", sender="reporter_bun", roles=REPORTERS,
         malformed=(({"value": "hög"}, ("value",)), ({"period": "2024-T3"}, ("period",))),
         unknown=(({"indicator": "N99"}, "indicator"),),
         other={"value": 88}),
    Case("assess", "/follow-ups/assessments", "/follow-ups/assessments",
         {"subject": "result:BUN-R1", "period": "2024-T1", "attainment": "partly_met",
          "analysis": "Resultaten förbättras men inte i alla skolor.", "internal_efficiency": "God.",
          "reported_on": "2024-05-10"}, "AttainmentAssessed", sender="reporter_bun", roles=REPORTERS,
         malformed=(({"subject": "plan:MRP2024"}, ("subject",)), ({"attainment": "great"}, ("attainment",))),
         unknown=(({"subject": "goal:IM9"}, "subject"), ({"subject": "assignment:U9"}, "subject")),
         other={"analysis": "En annan analys."}),
    Case("decide_measure", "/follow-ups/measures", "/follow-ups/measures",
         {"body": "BUN", "year": 2024, "description": "Anställningsstopp under hösten.", "amount_sek": -30_000,
          "decision": decision("BUN", "2024-09-16", "§70")}, "MeasureDecided",
         malformed=(({"amount_sek": "-30000"}, ("amount_sek",)), ({"year": DROP}, ("year",))),
         refusals=(not_competent({"decision": KS}),),
         unknown=(({"body": "NOPE"}, "body"),)),
    Case("adopt_report", "/reports/adoptions", "/reports/adoptions",
         {"kind": "interim_t1", "year": 2024, "decision": decision("KS", "2024-06-03", "§95")}, "ReportAdopted",
         malformed=(({"kind": "quarterly"}, ("kind",)), ({"year": "2024"}, ("year",))),
         refusals=(not_competent({"decision": BUN}, "decided_by_a_committee"),)),
    Case("submit_audit_report", "/discharge/audit-reports", "/discharge/audit-reports",
         {"body": "SBN", "year": 2024, "recommendation": "grant", "remarks": "Inga anmärkningar.",
          "submitted_on": "2025-03-14"}, "AuditReportSubmitted", sender="auditor", roles=AUDITORS,
         malformed=(({"recommendation": "maybe"}, ("recommendation",)), ({"submitted_on": "14/3/2025"},
                                                                          ("submitted_on",))),
         refusals=(Refusal("before_the_year_ended", {"submitted_on": "2024-12-31"}, "invalid_command"),),
         unknown=(({"body": "NOPE"}, "body"),),
         other={"remarks": "En anmärkning om internkontrollen."}),
    Case("decide_discharge", "/discharge/decisions", "/discharge/decisions",
         {"body": "BUN", "year": 2024, "granted": True, "decision": decision("KF", "2025-04-22", "§40")},
         "DischargeDecided",
         malformed=(({"granted": "kanske"}, ("granted",)), ({"body": DROP}, ("body",))),
         refusals=(not_competent({"decision": KS}),
                   Refusal("before_the_audit_report", {"year": 2025}, "invalid_command")),
         unknown=(({"body": "NOPE"}, "body"),)),
    Case("retract", "/events/{event_id}/retraction", "/events/{target}/retraction",
         {"reason": "Fel målvärde registrerades."}, "EventRetracted",
         malformed=(({"reason": ""}, ("reason",)), ({"reason": DROP}, ("reason",))),
         refusals=(Refusal("a_retraction", code="invalid_command", path="/events/{retraction}/retraction"),
                   Refusal("already_retracted", code="already_retracted", status=409,
                           path="/events/{retracted}/retraction")),
         missing_paths=("/events/not-an-id/retraction", f"/events/{uuid.UUID(int=0)}/retraction",
                        "/events/{foreign_event}/retraction", f"/events/{event_id(SLUG, 9999)}/retraction"),
         other={"reason": "Dubbelregistrering."}),
]


def ids_of(values) -> list[str]:
    return [value if isinstance(value, str) else value.command for value in values]


def flat(name: str, rows: list[tuple[Case, Any, str]]):
    """Parametrize a test over (case, item) pairs, each with a readable id."""
    return pytest.mark.parametrize(
        ("case", name), [pytest.param(case, item, id=f"{case.command}-{label}") for case, item, label in rows])


def forbidden_roles(case: Case) -> list[str]:
    return [role for role in USER_OF_ROLE if role not in case.roles]


all_cases = pytest.mark.parametrize("case", CASES, ids=ids_of(CASES))
DECIDED = [case for case in CASES if "decision" in case.body]


# --- the table itself ------------------------------------------------------------------------


def test_every_command_of_the_api_has_a_case_with_the_documented_path():
    served = {c.name: re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", c.path) for c in COMMANDS}
    assert {case.command: case.template for case in CASES} == served


def test_the_openapi_document_lists_every_command_path(shared_api):
    answer = shared_api.client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    paths = answer.get_json()["paths"]
    for case in CASES:
        operation = paths.get(f"/api/v1/t/{{tenant}}{case.template}", {}).get("post")
        assert operation is not None, f"{case.template} is not in the OpenAPI document"
        assert operation["operationId"] == case.command
        assert "requestBody" in operation and "201" in operation["responses"]


# --- recorded ----------------------------------------------------------------------------------


@all_cases
def test_a_command_is_recorded_and_then_appears_in_the_event_feed(api, case):
    before = api.head()
    answer = api.recorded(case.url(api), case.body, who=case.sender)
    assert set(answer) == {"event_id", "position", "recorded_at", "hash"}
    assert answer["position"] == before["head_position"] + 1
    assert api.head() == {"head_position": answer["position"], "head_hash": answer["hash"]}
    event = api.event_at(answer["position"])
    assert event["type"] == case.event
    assert (event["id"], event["hash"], event["recorded_at"]) == (answer["event_id"], answer["hash"],
                                                                 answer["recorded_at"])
    assert event["prev_hash"] == before["head_hash"]
    assert event["tenant"] == SLUG
    assert event["recorded_by"] == api.user_ids[case.sender]
    if "decision" in case.body:
        sent = case.body["decision"]
        assert {k: event["decision"][k] for k in sent} == sent
        assert event["decision"]["effective_from"] == sent["date"]
    else:
        assert event["decision"] is None


def test_every_command_can_be_sent_malformed_and_refused_by_a_rule():
    for case in CASES:
        assert case.malformed, case.command
        assert case.refusals or case.unknown or case.duplicate or case.missing_paths, case.command


# --- refused before the domain is asked --------------------------------------------------------


@flat("bad", [(case, bad, "-".join(bad[1])) for case in CASES for bad in case.malformed])
def test_malformed_input_answers_400_naming_the_field(shared_api, case, bad):
    overrides, field_path = bad
    payload = shared_api.refused(400, case.url(shared_api), case.with_(overrides), who=case.sender)
    field_errors(payload, *field_path)


@flat("missing", [(case, key, f"without_{key}") for case in DECIDED for key in ("body", "date")])
def test_a_decision_without_its_body_or_date_answers_400_naming_the_nested_field(shared_api, case, missing):
    sent = {k: v for k, v in case.body["decision"].items() if k != missing}
    payload = shared_api.refused(400, case.url(shared_api), case.with_({"decision": sent}), who=case.sender)
    field_errors(payload, "decision", missing)


@pytest.mark.parametrize("case", DECIDED, ids=ids_of(DECIDED))
def test_a_meeting_decision_without_its_paragraph_answers_400_naming_the_nested_field(shared_api, case):
    sent = {k: v for k, v in case.body["decision"].items() if k != "paragraph"}
    payload = shared_api.refused(400, case.url(shared_api), case.with_({"decision": sent}), who=case.sender)
    field_errors(payload, "decision", "paragraph")


@all_cases
def test_a_body_that_is_not_an_object_answers_400(shared_api, case):
    payload = shared_api.refused(400, case.url(shared_api), ["not", "an", "object"], who=case.sender)
    field_errors(payload, "_schema")


@flat("role", [(case, role, f"as_{role}") for case in CASES for role in forbidden_roles(case)])
def test_a_role_that_may_not_send_the_command_answers_403(shared_api, case, role):
    payload = shared_api.refused(403, case.url(shared_api), case.body, who=USER_OF_ROLE[role])
    assert error_code(payload) == "forbidden"


@all_cases
def test_a_role_check_comes_before_the_body_is_read(shared_api, case):
    """A viewer learns nothing about the schema: 403 even for an empty body."""
    payload = shared_api.refused(403, case.url(shared_api), {}, who="viewer")
    assert error_code(payload) == "forbidden"


@all_cases
def test_a_user_of_another_municipality_gets_the_same_404_as_for_one_that_does_not_exist(shared_api, case):
    foreign = shared_api.refused(404, case.url(shared_api), case.body, who="other_admin")
    missing = shared_api.refused(404, case.url(shared_api), case.body, who="other_admin", slug=MISSING_SLUG)
    assert error_code(foreign) == "not_found"
    assert foreign == missing


@all_cases
def test_a_municipality_that_does_not_exist_answers_404(shared_api, case):
    payload = shared_api.refused(404, case.url(shared_api), case.body, who=case.sender, slug=MISSING_SLUG)
    assert error_code(payload) == "not_found"


@all_cases
def test_a_command_without_a_token_answers_401(shared_api, case):
    payload = shared_api.refused(401, case.url(shared_api), case.body, who=None)
    assert error_code(payload) == "unauthenticated"


@all_cases
def test_a_command_with_a_forged_token_answers_401(shared_api, case):
    real = shared_api.tokens[case.sender]
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    payload = shared_api.refused(401, case.url(shared_api), case.body, who=forged)
    assert error_code(payload) == "invalid_token"


@all_cases
def test_a_token_of_another_scheme_answers_401(shared_api, case):
    payload = shared_api.refused(401, case.url(shared_api), case.body, who=None,
                                 headers={"Authorization": f"Basic {shared_api.tokens[case.sender]}"})
    assert error_code(payload) == "unauthenticated"


# --- refused by the rules ----------------------------------------------------------------------


@flat("refusal", [(case, refusal, refusal.label) for case in CASES for refusal in case.refusals])
def test_a_rule_violation_answers_with_its_error_code(shared_api, case, refusal):
    payload = shared_api.refused(refusal.status, case.url(shared_api, refusal.path), case.with_(refusal.overrides),
                                 who=refusal.sender or case.sender)
    assert error_code(payload) == refusal.code


@pytest.mark.parametrize("case", DECIDED, ids=ids_of(DECIDED))
def test_a_decision_dated_in_the_future_answers_422_invalid_command(shared_api, case):
    sent = {**case.body["decision"], "date": tomorrow()}
    payload = shared_api.refused(422, case.url(shared_api), case.with_({"decision": sent}), who=case.sender)
    assert error_code(payload) == "invalid_command"
    assert payload["error"]["field"] == "decision.date"


@pytest.mark.parametrize("case", DECIDED, ids=ids_of(DECIDED))
def test_a_decision_by_a_body_that_does_not_exist_answers_422_unknown_reference(shared_api, case):
    sent = {**case.body["decision"], "body": "XYZ"}
    payload = shared_api.refused(422, case.url(shared_api), case.with_({"decision": sent}), who=case.sender)
    assert error_code(payload) == "unknown_reference"
    assert payload["error"]["field"] == "decision.body"


@flat("unknown", [(case, unknown, unknown[1]) for case in CASES for unknown in case.unknown])
def test_a_code_in_the_body_that_does_not_exist_answers_422_unknown_reference(shared_api, case, unknown):
    overrides, field_name = unknown
    payload = shared_api.refused(422, case.url(shared_api), case.with_(overrides), who=case.sender)
    assert error_code(payload) == "unknown_reference"
    assert payload["error"]["field"] == field_name


@flat("path", [(case, path, path.strip("/").replace("/", "_")) for case in CASES for path in case.missing_paths])
def test_a_code_in_the_path_that_does_not_exist_answers_404(shared_api, case, path):
    payload = shared_api.refused(404, case.url(shared_api, path), case.body, who=case.sender)
    assert error_code(payload) == "not_found"


@flat("taken", [(case, case.duplicate, "taken") for case in CASES if case.duplicate])
def test_a_code_already_taken_answers_409(shared_api, case, taken):
    payload = shared_api.refused(409, case.url(shared_api), case.with_(taken), who=case.sender)
    assert error_code(payload) == "already_exists"
    assert payload["error"]["field"] == "code"


# --- users limited to some bodies --------------------------------------------------------------


DECIDED_BY_BUN = [case for case in CASES if case.body.get("decision", {}).get("body") == "BUN"]
DECIDED_BY_OTHERS = [case for case in CASES if case.body.get("decision", {}).get("body") not in (None, "BUN")]


@pytest.mark.parametrize("case", DECIDED_BY_OTHERS, ids=ids_of(DECIDED_BY_OTHERS))
def test_a_registrar_limited_to_bun_may_not_record_another_body_s_decision(shared_api, case):
    payload = shared_api.refused(403, case.url(shared_api), case.body, who="registrar_bun")
    assert error_code(payload) == "forbidden"


@pytest.mark.parametrize("case", DECIDED_BY_BUN, ids=ids_of(DECIDED_BY_BUN))
def test_a_registrar_limited_to_bun_records_bun_s_own_decisions(api, case):
    answer = api.recorded(case.url(api), case.body, who="registrar_bun")
    assert api.event_at(answer["position"])["type"] == case.event


def test_a_registrar_limited_to_bun_may_not_retract_a_decision_of_kf(shared_api):
    payload = shared_api.refused(403, f"/events/{shared_api.ids['target']}/retraction", {"reason": "Fel."},
                                 who="registrar_bun")
    assert error_code(payload) == "forbidden"


@pytest.mark.parametrize(("path", "body"), [
    ("/assignments/U-SBN/status", {"status": "ongoing", "period": "2024-T1", "comment": "Pågår.",
                                   "reported_on": "2024-05-10"}),
    ("/follow-ups/financial", {"body": "SBN", "period": "2024-04", "outcome_sek": 1, "forecast_sek": 2,
                               "reported_on": "2024-05-10"}),
    ("/follow-ups/indicators", {"indicator": "N15", "period": "2024", "value": 80, "body": "SBN",
                                "reported_on": "2025-02-10"}),
], ids=["uppdrag_status", "financial_outcome", "indicator_outcome"])
def test_a_reporter_limited_to_bun_may_not_report_for_another_body(shared_api, path, body):
    payload = shared_api.refused(403, path, body, who="reporter_bun")
    assert error_code(payload) == "forbidden"


# --- recorded once -----------------------------------------------------------------------------


@all_cases
def test_a_retry_with_the_same_idempotency_key_answers_the_first_answer_and_records_once(api, case):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    before = api.head()["head_position"]
    first = api.recorded(case.url(api), case.body, who=case.sender, headers=key)
    again = api.post(case.url(api), case.body, who=case.sender, headers=key)
    assert again.status_code == 201
    assert again.get_json() == first
    assert [e["position"] for e in api.events(after=before)] == [before + 1]


@all_cases
def test_the_same_idempotency_key_with_another_body_answers_422_and_records_nothing(api, case):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    api.recorded(case.url(api), case.body, who=case.sender, headers=key)
    payload = api.refused(422, case.url(api), case.other_body(), who=case.sender, headers=key)
    assert error_code(payload) == "idempotency_key_reused"


def test_an_idempotency_key_belongs_to_its_user(api):
    """Two users who happen to choose the same key each get their own command recorded."""
    key = {"Idempotency-Key": "nyckel-1"}
    first = api.recorded("/terms", {"code": "2027-2030", "first_year": 2027, "last_year": 2030}, headers=key)
    second = api.recorded("/indicators", {"code": "N1", "name": "n", "unit": "st", "direction": "increase"},
                          who="admin", headers=key)
    assert second["position"] == first["position"] + 1


def test_an_idempotency_key_reused_for_another_command_answers_422(api):
    key = {"Idempotency-Key": "nyckel-2"}
    api.recorded("/terms", {"code": "2027-2030", "first_year": 2027, "last_year": 2030}, headers=key)
    payload = api.refused(422, "/plans", {"code": "MRP2027", "first_year": 2027}, headers=key)
    assert error_code(payload) == "idempotency_key_reused"


# --- rules that let a decision through ---------------------------------------------------------


def test_kf_may_reallocate_more_than_the_threshold_of_a_committee(api):
    answer = api.recorded("/bodies/BUN/budgets/2024/reallocations", {
        "from_area": "FORSKOLA", "to_area": "GRUNDSKOLA", "amount_sek": 200_000, "reason": "Omprioritering.",
        "decision": decision("KF", "2024-04-22", "§50")})
    assert api.event_at(answer["position"])["data"]["amount_sek"] == 200_000


def test_a_committee_may_reallocate_exactly_its_threshold(api):
    api.recorded("/bodies/BUN/budgets/2024/reallocations", {
        "from_area": "FORSKOLA", "to_area": "GRUNDSKOLA", "amount_sek": 50_000, "reason": "Fem procent.",
        "decision": decision("BUN", "2024-03-18", "§30")})


def test_a_committee_may_issue_an_uppdrag_to_its_own_administration(api):
    answer = api.recorded("/assignments", {
        "code": "BUF-1", "to_body": "BUF", "title": "Ta fram en kompetensförsörjningsplan",
        "description": "Redovisas till nämnden.", "due": "2025-03-31", "decision": decision("BUN")})
    assert api.event_at(answer["position"])["data"]["to_body"] == "BUF"


def test_a_budget_adopted_in_december_before_the_year_is_on_time(api):
    answer = api.recorded("/bodies/BUN/budgets/2025/adoption", {"decision": decision("BUN", "2024-12-31", "§1")})
    assert api.event_at(answer["position"])["data"]["late"] is False


def test_a_budget_adopted_after_new_year_is_recorded_and_flagged_late(api):
    answer = api.recorded("/bodies/BUN/budgets/2025/adoption", {"decision": decision("BUN", "2025-01-02", "§1")})
    assert api.event_at(answer["position"])["data"]["late"] is True


def test_a_decision_dated_today_is_recorded(api):
    api.recorded("/vision", {"text": "Vision", "decision": decision("KF", dt.date.today().isoformat())})


def test_a_delegated_decision_of_a_committee_names_its_delegation(api):
    delegated = decision("BUN", "2024-03-18", None, kind="delegated", delegation="BUN 2023-01-30 §12 p. 4.2")
    answer = api.recorded("/follow-ups/measures", {"body": "BUN", "year": 2024, "description": "Vakanser hålls.",
                                                   "decision": delegated})
    recorded = api.event_at(answer["position"])["decision"]
    assert (recorded["kind"], recorded["delegation"], recorded["paragraph"]) == (
        "delegated", "BUN 2023-01-30 §12 p. 4.2", None)


def test_a_second_target_value_for_the_same_indicator_and_year_is_recorded_as_a_revision(api):
    answer = api.recorded("/goals/IM1/targets", {"indicator": "N15", "year": 2024, "value": 88, "decision": KF})
    assert api.event_at(answer["position"])["data"]["value"] == 88


def test_a_retracted_entry_is_kept_and_the_retraction_points_at_it(api):
    target = api.ids["target"]
    answer = api.recorded(f"/events/{target}/retraction", {"reason": "Fel värde."})
    retraction = api.event_at(answer["position"])
    assert retraction["data"]["retracted_event_id"] == target
    assert any(e["id"] == target for e in api.events())
    payload = api.refused(409, f"/events/{target}/retraction", {"reason": "Igen."})
    assert error_code(payload) == "already_retracted"


def test_a_refusal_inside_an_aggregate_leaves_it_usable(api):
    """The same body year first refuses a frame whose earmarks exceed it, then records a valid one."""
    path, body = "/plans/MRP2024/frames", {"body": "SBN", "year": 2025, "amount_sek": 100, "decision": KF}
    api.refused(422, path, {**body, "earmarks": [{"purpose": "X", "amount_sek": 101}]})
    answer = api.recorded(path, {**body, "earmarks": [{"purpose": "X", "amount_sek": 100}]})
    assert api.event_at(answer["position"])["data"]["earmarks"] == [{"purpose": "X", "amount_sek": 100}]
    assert api.get("/ledger/verify").get_json()["ok"] is True


def test_a_code_whose_establishment_was_retracted_can_be_established_again(api):
    first = api.recorded("/indicators", {"code": "N1", "name": "Fel namn", "unit": "%", "direction": "increase"})
    api.recorded(f"/events/{first['event_id']}/retraction", {"reason": "Fel namn."})
    again = api.recorded("/indicators", {"code": "N1", "name": "Rätt namn", "unit": "%", "direction": "increase"})
    assert api.event_at(again["position"])["data"]["name"] == "Rätt namn"
    payload = api.refused(409, "/indicators", {"code": "N1", "name": "Tredje", "unit": "%", "direction": "increase"})
    assert error_code(payload) == "already_exists"
