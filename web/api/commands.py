"""The command table of docs/api.md: path, schema, roles, the body concerned, and the application call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.routing import IntegerConverter

from domain.application import Governance
from domain.decisions import Decision
from web.api import schemas as s
from web.auth import AUDIT, DECIDE, REPORT


class YearConverter(IntegerConverter):
    """A budget year in a path, within the bounds a year has in a body (schemas.YEAR): any other is no such budget."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1900, max=2200)


Run = Callable[[Governance, dict, dict, dict], dict]
Scope = Callable[[Governance, dict, dict], "str | None"]


@dataclass(frozen=True)
class Command:
    name: str
    path: str
    schema: type
    run: Run
    roles: tuple[str, ...] = DECIDE
    # The body a user limited to some bodies must hold to send this command.
    scope: Scope | None = None
    summary: str = ""


def decided_by(app: Governance, data: dict, path: dict) -> str | None:
    return data["decision"]["body"] if "decision" in data else None


def with_decision(data: dict) -> dict:
    out = dict(data)
    if "decision" in out:
        out["decision"] = Decision(**out["decision"])
    return out


def call(method: str, **renames: str) -> Run:
    """Call Governance.<method> with the validated body and path values, renaming keys where they differ."""
    def run(app: Governance, data: dict, path: dict, idem: dict) -> dict:
        kwargs = {**with_decision(data), **path}
        for old, new in renames.items():
            kwargs[new] = kwargs.pop(old)
        return getattr(app, method)(**kwargs, **idem)
    return run


def revise_document(app: Governance, data: dict, path: dict, idem: dict) -> dict:
    body = with_decision(data)
    decision = body.pop("decision")
    return app.revise_document(path["code"], decision, changes=body, **idem)


COMMANDS: list[Command] = [
    Command("establish_body", "/bodies", s.BodySchema, call("establish_body"),
            summary="Establish a body (KF)"),
    Command("add_area", "/bodies/<body>/areas", s.AreaSchema, call("add_area"),
            summary="Add an activity area (verksamhetsområde) to a body (the body)"),
    Command("adopt_vision", "/vision", s.VisionSchema, call("adopt_vision"),
            summary="Adopt or revise the vision (KF)"),
    Command("adopt_document", "/documents", s.DocumentSchema, call("adopt_document"),
            summary="Adopt a governing document (styrdokument)"),
    Command("revise_document", "/documents/<code>/revisions", s.DocumentRevisionSchema, revise_document,
            summary="Revise a governing document (as adopted, or KF)"),
    Command("repeal_document", "/documents/<code>/repeal", s.AdoptionSchema, call("repeal_document"),
            summary="Repeal a governing document (as adopted, or KF)"),
    Command("open_term", "/terms", s.TermSchema, call("open_term"), summary="Open a term (mandatperiod)"),
    Command("define_indicator", "/indicators", s.IndicatorSchema, call("define_indicator"),
            summary="Define an indicator (nyckeltal)"),
    Command("establish_goal", "/goals", s.GoalSchema, call("establish_goal"),
            summary="Establish an inriktningsmål (KF)"),
    Command("revise_goal", "/goals/<code>/revisions", s.GoalRevisionSchema, call("revise_goal"),
            summary="Revise an inriktningsmål (KF)"),
    Command("fix_goal_target", "/goals/<code>/targets", s.TargetSchema, call("fix_goal_target", code="goal"),
            summary="Fix or revise a målvärde of an inriktningsmål (KF)"),
    Command("define_result", "/bodies/<body>/results", s.ResultSchema, call("define_result"),
            summary="Define a förväntat or eget resultat (the body)"),
    Command("fix_result_target", "/bodies/<body>/results/<code>/targets", s.TargetSchema,
            call("fix_result_target", code="result"), summary="Fix a målvärde of a resultat (the body)"),
    Command("issue_assignment", "/assignments", s.AssignmentSchema, call("issue_assignment"),
            summary="Issue a riktat uppdrag (KF, or a nämnd to its förvaltning)"),
    Command("revise_assignment", "/assignments/<code>/revisions", s.AssignmentRevisionSchema,
            call("revise_assignment"), summary="Revise an uppdrag mid-period (as issued)"),
    Command("withdraw_assignment", "/assignments/<code>/withdrawal", s.WithdrawalSchema,
            call("withdraw_assignment"), summary="Withdraw an uppdrag (as issued)"),
    Command("report_assignment_status", "/assignments/<code>/status", s.StatusSchema,
            call("report_assignment_status"), roles=REPORT,
            scope=lambda app, data, path: app.assignment_body(path["code"]),
            summary="Report the status of an uppdrag (reporter of the body given it)"),
    Command("draft_plan", "/plans", s.PlanSchema, call("draft_plan"),
            summary="Draft a mål- och resursplan for three years"),
    Command("set_frame", "/plans/<code>/frames", s.FrameSchema, call("set_frame", code="plan"),
            summary="Set a body's frame (ekonomisk ram) in the MRP (KF)"),
    Command("adopt_plan", "/plans/<code>/adoption", s.AdoptionSchema, call("adopt_plan", code="plan"),
            summary="Adopt the MRP (KF)"),
    Command("adjust_frame", "/frames/adjustments", s.FrameAdjustmentSchema, call("adjust_frame"),
            summary="Adjust a frame during the year (tilläggsanslag, KF)"),
    Command("set_allocation", "/bodies/<body>/budgets/<year:year>/allocations", s.AllocationSchema,
            call("set_allocation"), summary="Set a line of the detailed budget (the body)"),
    Command("adopt_budget", "/bodies/<body>/budgets/<year:year>/adoption", s.AdoptionSchema,
            call("adopt_budget"), summary="Adopt the verksamhetsplan with detailed budget (the body)"),
    Command("reallocate", "/bodies/<body>/budgets/<year:year>/reallocations", s.ReallocationSchema,
            call("reallocate"), summary="Omdisposition between activity areas (the body, or KF)"),
    Command("report_financial", "/follow-ups/financial", s.FinancialSchema, call("report_financial"),
            roles=REPORT, scope=lambda app, data, path: data["body"],
            summary="Report economic outcome and forecast"),
    Command("report_indicator", "/follow-ups/indicators", s.IndicatorOutcomeSchema, call("report_indicator"),
            roles=REPORT, scope=lambda app, data, path: data.get("body"), summary="Report an indicator outcome"),
    Command("assess", "/follow-ups/assessments", s.AssessmentSchema, call("assess"), roles=REPORT,
            scope=lambda app, data, path: app.subject_body(data["subject"]),
            summary="Assess attainment (måluppfyllelse) of a goal, result or uppdrag"),
    Command("decide_measure", "/follow-ups/measures", s.MeasureSchema, call("decide_measure"),
            summary="Record a measure (åtgärd) the body decided"),
    Command("adopt_report", "/reports/adoptions", s.ReportAdoptionSchema, call("adopt_report"),
            summary="Adopt a delårsrapport or the årsredovisning (KS, KF)"),
    Command("submit_audit_report", "/discharge/audit-reports", s.AuditReportSchema, call("submit_audit_report"),
            roles=AUDIT, scope=lambda app, data, path: None, summary="Submit the auditors' report (auditor)"),
    Command("decide_discharge", "/discharge/decisions", s.DischargeSchema, call("decide_discharge"),
            summary="Decide ansvarsfrihet (KF)"),
    Command("retract", "/events/<event_id>/retraction", s.RetractionSchema, call("retract"),
            scope=lambda app, data, path: app.entry_body(path["event_id"]),
            summary="Retract an erroneous entry (registrar)"),
]


def scope_of(command: Command, app: Governance, data: dict, path: dict) -> str | None:
    return (command.scope or decided_by)(app, data, path)
