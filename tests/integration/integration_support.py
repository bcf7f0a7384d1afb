"""Shared helpers of the integration tests: decisions, a realistic scenario and ledger normalisation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from domain.application import Governance
from domain.decisions import Decision


def by(body: str, date: dt.date, paragraph: str = "§1", **kwargs) -> Decision:
    return Decision(body, date, paragraph=paragraph, **kwargs)


AUTUMN = dt.date(2023, 11, 20)
BUDGET_MEETING = dt.date(2023, 12, 14)
SPRING = dt.date(2024, 3, 12)
AUDIT_DAY = dt.date(2025, 3, 20)
DISCHARGE_DAY = dt.date(2025, 4, 24)

# The entry types the scenario records after provisioning (KF and KS), in order.
SCENARIO_TYPES = [
    "BodyEstablished",  # KF (provisioning)
    "BodyEstablished",  # KS (provisioning)
    "BodyEstablished",  # BUN
    "BodyEstablished",  # BUF
    "ActivityAreaAdded",
    "ActivityAreaAdded",
    "TermOpened",
    "IndicatorDefined",
    "StrategicGoalEstablished",
    "TargetValueFixed",
    "ResourcePlanDrafted",
    "FrameSet",
    "ResourcePlanAdopted",
    "AllocationSet",
    "AllocationSet",
    "OperationalPlanAdopted",
    "BudgetReallocated",
    "AssignmentIssued",
    "AssignmentStatusReported",
    "AssignmentRevised",
    "AssignmentWithdrawn",
    "FinancialOutcomeReported",
    "IndicatorOutcomeReported",
    "AttainmentAssessed",
    "ReportAdopted",
    "ReportAdopted",
    "AuditReportSubmitted",
    "DischargeDecided",
    "EventRetracted",
]

# The position of the entry the scenario retracts (the financial follow-up).
RETRACTED_POSITION = SCENARIO_TYPES.index("FinancialOutcomeReported") + 1


def run_scenario(app: Governance) -> list[dict]:
    """A year of one nämnd, from its establishment to discharge, with a retraction at the end.

    Answers every command's acknowledgement, in order.
    """
    answers = [
        app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", AUTUMN, "§101")),
        app.establish_body("BUF", "Barn- och utbildningsförvaltningen", "administration",
                           by("KF", AUTUMN, "§102"), parent="BUN"),
        app.add_area("BUN", "GRUNDSKOLA", "Grundskola", by("BUN", AUTUMN, "§7")),
        app.add_area("BUN", "FORSKOLA", "Förskola", by("BUN", AUTUMN, "§8")),
        app.open_term("MP2023", 2023, 2026),
        app.define_indicator("BEHORIGHET", "Behörighet till gymnasiet", "percent", "increase", "N15419"),
        app.establish_goal("IM1", "MP2023", "Alla elever når målen", by("KF", AUTUMN, "§103"),
                           description="Skolan ska ge varje elev förutsättningar att nå kunskapskraven."),
        app.fix_goal_target("IM1", "BEHORIGHET", 2024, Decimal("92.5"), by("KF", AUTUMN, "§104")),
        app.draft_plan("MRP2024", 2024),
        app.set_frame("MRP2024", "BUN", 2024, 100_000_000,
                      [{"purpose": "Lovskola", "amount_sek": 2_000_000}], by("KF", AUTUMN, "§105")),
        app.adopt_plan("MRP2024", by("KF", AUTUMN, "§106")),
        app.set_allocation("BUN", 2024, "GRUNDSKOLA", 60_000_000, by("BUN", BUDGET_MEETING, "§20"),
                           earmarks=[{"purpose": "Lovskola", "amount_sek": 2_000_000}]),
        app.set_allocation("BUN", 2024, "FORSKOLA", 40_000_000, by("BUN", BUDGET_MEETING, "§21")),
        app.adopt_budget("BUN", 2024, by("BUN", BUDGET_MEETING, "§22")),
        app.reallocate("BUN", 2024, "GRUNDSKOLA", "FORSKOLA", 1_500_000, "Fler barn i förskolan",
                       by("BUN", SPRING, "§30")),
        app.issue_assignment("U1", "BUN", "Utred skolskjutsar", "Utred skolskjutsarnas kostnad.",
                             dt.date(2024, 12, 31), by("KF", SPRING, "§40"), goal="IM1"),
        app.report_assignment_status("U1", "ongoing", "2024-T1", "Utredningen har börjat.", dt.date(2024, 5, 2)),
        app.revise_assignment("U1", by("KF", dt.date(2024, 6, 10), "§60"), due=dt.date(2025, 6, 30)),
        app.withdraw_assignment("U1", "Frågan utreds regionalt.", by("KF", dt.date(2024, 9, 16), "§80")),
        app.report_financial("BUN", "2024-08", 62_300_000, 99_400_000, dt.date(2024, 9, 10), area="GRUNDSKOLA"),
        app.report_indicator("BEHORIGHET", "2024", Decimal("91.2"), dt.date(2025, 1, 15), body="BUN"),
        app.assess("goal:IM1", "2024", "partly_met", "Nära målvärdet.", dt.date(2025, 2, 1)),
        app.adopt_report("annual", 2024, by("KS", dt.date(2025, 3, 26), "§45")),
        app.adopt_report("annual", 2024, by("KF", DISCHARGE_DAY, "§50")),
        app.submit_audit_report("BUN", 2024, "grant", "Inga anmärkningar.", AUDIT_DAY),
        app.decide_discharge("BUN", 2024, True, by("KF", DISCHARGE_DAY, "§51")),
    ]
    # The financial follow-up was entered for the wrong area: it is retracted, not deleted.
    wrong = next(a for a in answers if a["position"] == RETRACTED_POSITION)
    answers.append(app.retract(wrong["event_id"], "Fel verksamhetsområde."))
    return answers


def normalised(app: Governance) -> list[tuple[str, dict, dict | None]]:
    """The ledger as (type, data, decision): what two stores recording the same commands must agree on."""
    return [(r["type"], r["data"], r["decision"]) for r in (e.as_record() for e in app.ledger_entries())]
