"""A body's year: its frame and adjustments, detailed budget, omdispositioner, follow-up and discharge (§5–§8)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import event

from domain.base import GovernedAggregate
from domain.decisions import COUNCIL, BodyRef, Decision
from domain.errors import (
    BudgetAdoptedError,
    EarmarkViolationError,
    FrameNotBalancedError,
    InvalidCommandError,
    NeedsCouncilDecisionError,
    NotCompetentError,
)
from domain.periods import check_period, check_reported_on

DEFAULT_REALLOCATION_THRESHOLD_PERCENT = 5


@dataclass(frozen=True)
class Entry:
    """One recorded fact of the year, kept with its version so a retraction can take it out of force."""

    version: int
    data: dict


def earmark_sums(earmarks: list[dict]) -> dict[str, int]:
    sums: dict[str, int] = {}
    for earmark in earmarks:
        sums[earmark["purpose"]] = sums.get(earmark["purpose"], 0) + earmark["amount_sek"]
    return sums


def check_distinct_purposes(earmarks: list[dict]) -> None:
    """Each earmark names its own purpose: the same purpose twice would make two earmarks of one."""
    seen: set[str] = set()
    for index, earmark in enumerate(earmarks):
        if earmark["purpose"] in seen:
            raise InvalidCommandError(
                f"The purpose '{earmark['purpose']}' is earmarked twice.", f"earmarks.{index}.purpose"
            )
        seen.add(earmark["purpose"])


class BodyYear(GovernedAggregate):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    subject_fields = {"body": "body", "year": "year"}

    @event("BodyYearOpened")
    def __init__(self, body: str, year: int) -> None:
        self.body = body
        self.year = year
        self.entries: dict[str, list[Entry]] = {}

    def _add(self, kind: str, data: dict) -> None:
        self.entries.setdefault(kind, []).append(Entry(self.next_version, data))

    def _in_force(self, kind: str) -> list[dict]:
        return [e.data for e in self.entries.get(kind, []) if self.is_in_force(e.version)]

    # --- derived state -------------------------------------------------------------------

    @property
    def frame_set(self) -> dict | None:
        frames = self._in_force("frame")
        return frames[-1] if frames else None

    @property
    def frame_sek(self) -> int | None:
        base = self.frame_set
        if base is None:
            return None
        return base["amount_sek"] + sum(a["delta_sek"] for a in self._in_force("adjustment"))

    @property
    def frame_earmarks(self) -> dict[str, int]:
        base = self.frame_set
        return earmark_sums(base["earmarks"]) if base else {}

    @property
    def adopted(self) -> bool:
        return bool(self._in_force("adoption"))

    @property
    def allocations(self) -> dict[str, dict]:
        """Area code to its line (amount_sek, earmarks), with omdispositioner applied."""
        lines: dict[str, dict] = {}
        for a in self._in_force("allocation"):
            lines[a["area"]] = {"amount_sek": a["amount_sek"], "earmarks": earmark_sums(a["earmarks"])}
        for r in self._in_force("reallocation"):
            # A line can lose its AllocationSet to a retraction while moves from it stay in force.
            lines.setdefault(r["from_area"], {"amount_sek": 0, "earmarks": {}})["amount_sek"] -= r["amount_sek"]
            lines.setdefault(r["to_area"], {"amount_sek": 0, "earmarks": {}})["amount_sek"] += r["amount_sek"]
        return lines

    @property
    def has_audit_report(self) -> bool:
        return bool(self._in_force("audit_report"))

    # --- frames (KF) ---------------------------------------------------------------------

    def check_frame(self, amount_sek: int, earmarks: list[dict]) -> None:
        if amount_sek < 0:
            raise InvalidCommandError("A frame cannot be negative.", "amount_sek")
        check_distinct_purposes(earmarks)
        if sum(e["amount_sek"] for e in earmarks) > amount_sek:
            raise EarmarkViolationError("The earmarks add up to more than the frame.", "earmarks")

    def set_frame(self, plan: str, amount_sek: int, earmarks: list[dict], decision: Decision) -> None:
        self.check_frame(amount_sek, earmarks)
        self._set_frame(plan, amount_sek, earmarks, decision)

    @event("FrameSet")
    def _set_frame(self, plan: str, amount_sek: int, earmarks: list[dict], decision: Decision) -> None:
        self._add("frame", {"plan": plan, "amount_sek": amount_sek, "earmarks": earmarks})

    def adjust_frame(self, delta_sek: int, reason: str, decision: Decision) -> None:
        if self.frame_sek is None:
            raise InvalidCommandError(f"{self.body} has no frame for {self.year} to adjust.", "year")
        if delta_sek == 0:
            raise InvalidCommandError("An adjustment must change the frame.", "delta_sek")
        if self.frame_sek + delta_sek < sum(self.frame_earmarks.values()):
            raise EarmarkViolationError("The adjusted frame would be smaller than its earmarks.", "delta_sek")
        self._adjust_frame(delta_sek, reason, decision)

    @event("FrameAdjusted")
    def _adjust_frame(self, delta_sek: int, reason: str, decision: Decision) -> None:
        self._add("adjustment", {"delta_sek": delta_sek})

    # --- detailed budget (the nämnd) -------------------------------------------------------

    def set_allocation(self, area: str, amount_sek: int, earmarks: list[dict], decision: Decision) -> None:
        if self.adopted:
            raise BudgetAdoptedError(
                f"The detailed budget {self.body} {self.year} is adopted; change it by omdisposition."
            )
        if amount_sek < 0:
            raise InvalidCommandError("An allocation cannot be negative.", "amount_sek")
        check_distinct_purposes(earmarks)
        unknown = set(earmark_sums(earmarks)) - set(self.frame_earmarks)
        if unknown:
            raise EarmarkViolationError(
                f"No earmark of the frame is called {', '.join(sorted(unknown))}.", "earmarks"
            )
        if sum(e["amount_sek"] for e in earmarks) > amount_sek:
            raise EarmarkViolationError("The earmarked parts exceed the line's amount.", "earmarks")
        self._set_allocation(area, amount_sek, earmarks, decision)

    @event("AllocationSet")
    def _set_allocation(self, area: str, amount_sek: int, earmarks: list[dict], decision: Decision) -> None:
        self._add("allocation", {"area": area, "amount_sek": amount_sek, "earmarks": earmarks})

    def check_adoptable(self) -> None:
        if self.adopted:
            raise BudgetAdoptedError(f"The detailed budget {self.body} {self.year} is already adopted.")
        frame = self.frame_sek
        if frame is None:
            raise FrameNotBalancedError(f"{self.body} has no frame for {self.year}.")
        total = sum(line["amount_sek"] for line in self.allocations.values())
        if total != frame:
            raise FrameNotBalancedError(
                f"The allocations add up to {total} kr but the frame is {frame} kr."
            )
        allocated: dict[str, int] = {}
        for line in self.allocations.values():
            for purpose, amount in line["earmarks"].items():
                allocated[purpose] = allocated.get(purpose, 0) + amount
        for purpose, amount in self.frame_earmarks.items():
            if allocated.get(purpose, 0) != amount:
                raise EarmarkViolationError(
                    f"The earmark '{purpose}' is {amount} kr but {allocated.get(purpose, 0)} kr is allocated to it."
                )

    def adopt(self, decision: Decision) -> None:
        self.check_adoptable()
        # Rule 7: adopted at the latest in December of the year before; later is recorded and flagged.
        self._adopt(decision, late=decision.date > dt.date(self.year - 1, 12, 31))

    @event("OperationalPlanAdopted")
    def _adopt(self, decision: Decision, late: bool) -> None:
        self._add("adoption", {"late": late})

    def check_reallocation(
        self, from_area: str, to_area: str, amount_sek: int, decider: BodyRef, threshold_percent: int
    ) -> None:
        if not self.adopted:
            raise InvalidCommandError(
                f"The detailed budget {self.body} {self.year} is not adopted yet; set allocations instead.",
                "year",
            )
        if from_area == to_area:
            raise InvalidCommandError("from_area and to_area must differ.", "to_area")
        if amount_sek <= 0:
            raise InvalidCommandError("The amount must be positive.", "amount_sek")
        lines = self.allocations
        if from_area not in lines:
            raise InvalidCommandError(f"{from_area} has no line in the budget.", "from_area")
        line = lines[from_area]
        if line["amount_sek"] < amount_sek:
            raise InvalidCommandError(
                f"{from_area} has {line['amount_sek']} kr; {amount_sek} kr cannot be moved from it.", "amount_sek"
            )
        if decider.kind == COUNCIL:
            return
        if decider.code != self.body:
            raise NotCompetentError(f"Only {self.body} or Kommunfullmäktige may reallocate {self.body}'s budget.")
        earmarked = sum(line["earmarks"].values())
        if line["amount_sek"] - amount_sek < earmarked:
            raise EarmarkViolationError(
                f"{from_area} may not drop below its earmarked {earmarked} kr without a decision of Kommunfullmäktige."
            )
        limit = (self.frame_sek or 0) * threshold_percent // 100
        if amount_sek > limit:
            raise NeedsCouncilDecisionError(
                f"Moving {amount_sek} kr exceeds {threshold_percent} % of the frame ({limit} kr): "
                "a larger change needs a decision of Kommunfullmäktige."
            )
        # The threshold holds for the year, not for each move: a larger change split into smaller ones is still
        # a larger change (guideline: "större förändringar ... ska behandlas av kommunfullmäktige").
        moved = sum(r["amount_sek"] for r in self._in_force("reallocation") if r.get("by_body"))
        if moved + amount_sek > limit:
            raise NeedsCouncilDecisionError(
                f"Moving {amount_sek} kr brings {self.body}'s own reallocations in {self.year} to "
                f"{moved + amount_sek} kr, over {threshold_percent} % of the frame ({limit} kr): "
                "a larger change needs a decision of Kommunfullmäktige."
            )

    def reallocate(
        self, from_area: str, to_area: str, amount_sek: int, reason: str, decision: Decision,
        decider: BodyRef, threshold_percent: int,
    ) -> None:
        self.check_reallocation(from_area, to_area, amount_sek, decider, threshold_percent)
        self._reallocate(from_area, to_area, amount_sek, reason, decision)

    @event("BudgetReallocated")
    def _reallocate(self, from_area: str, to_area: str, amount_sek: int, reason: str, decision: Decision) -> None:
        # by_body: decided by the body itself, which counts against its yearly threshold (KF's moves do not).
        self._add("reallocation", {"from_area": from_area, "to_area": to_area, "amount_sek": amount_sek,
                                   "by_body": decision.body == self.body})

    # --- follow-up -----------------------------------------------------------------------

    def report_financial(
        self, period: str, area: str | None, outcome_sek: int, forecast_sek: int, reported_on: dt.date
    ) -> None:
        if check_period(period) != self.year:
            raise InvalidCommandError(f"period {period} is not in {self.year}.", "period")
        check_reported_on(reported_on, period)
        self._report_financial(period, area, outcome_sek, forecast_sek, reported_on)

    @event("FinancialOutcomeReported")
    def _report_financial(
        self, period: str, area: str | None, outcome_sek: int, forecast_sek: int, reported_on: dt.date
    ) -> None:
        """Outcomes are for the read side; no rule reads them, so the aggregate keeps none (it stays small)."""

    @event("MeasureDecided")
    def decide_measure(self, description: str, amount_sek: int | None, decision: Decision) -> None:
        self._add("measure", {})

    # --- ansvarsprövning -----------------------------------------------------------------

    def submit_audit_report(self, recommendation: str, remarks: str, submitted_on: dt.date) -> None:
        if recommendation not in ("grant", "refuse"):
            raise InvalidCommandError("recommendation is grant or refuse.", "recommendation")
        if submitted_on > dt.date.today():
            raise InvalidCommandError("An audit report cannot be submitted in the future.", "submitted_on")
        if submitted_on <= dt.date(self.year, 12, 31):
            raise InvalidCommandError(
                f"The audit report for {self.year} can be submitted only after the year has ended.", "submitted_on"
            )
        self._submit_audit_report(recommendation, remarks, submitted_on)

    @event("AuditReportSubmitted")
    def _submit_audit_report(self, recommendation: str, remarks: str, submitted_on: dt.date) -> None:
        self._add("audit_report", {"recommendation": recommendation, "submitted_on": submitted_on})

    def decide_discharge(self, granted: bool, remark: str | None, decision: Decision) -> None:
        if not self.has_audit_report:
            raise InvalidCommandError(
                f"The auditors have not submitted their report on {self.body} {self.year}; KF decides after it.",
                "body",
            )
        submitted = max(a["submitted_on"] for a in self._in_force("audit_report"))
        if decision.date < submitted:
            raise InvalidCommandError(
                f"KF decides on ansvarsfrihet after the auditors' report of {submitted.isoformat()}.", "decision.date"
            )
        self._decide_discharge(granted, remark, decision)

    @event("DischargeDecided")
    def _decide_discharge(self, granted: bool, remark: str | None, decision: Decision) -> None:
        self._add("discharge", {"granted": granted})
