"""Commands for money: the MRP and its frames, frame adjustments, detailed budgets, omdispositioner, measures."""

from __future__ import annotations

from domain.body_years import BodyYear
from domain.decisions import Decision, Matter
from domain.errors import NotFoundError, UnknownReferenceError
from domain.periods import check_period
from domain.plans import ResourcePlan


class BudgetCommands:
    def body_year(self, body: str, year: int) -> BodyYear:
        """A body's year, opened on first use (the opening itself is no decision and gets no position).

        It belongs to the body as established now: a body established again after a retraction
        starts with years of its own.
        """
        owner = self.body(body)
        # The first establishment keeps the key by code (as recorded from the start); a later one
        # is told apart by its own id.
        key = body if owner.id == self.id_for("body", body) else owner.id
        existing = self.load_or_none("body_year", key, year)
        return existing or BodyYear(self.id_for("body_year", key, year), body, year)

    def draft_plan(self, code: str, first_year: int, **idem) -> dict:
        def build():
            self.check_new("plan", code)
            return [ResourcePlan(self.fresh_id("plan", code), code, first_year)]
        return self.execute(build, **idem)

    def set_frame(self, plan: str, body: str, year: int, amount_sek: int, earmarks: list[dict],
                  decision: Decision, **idem) -> dict:
        def build():
            resource_plan = self.load(ResourcePlan, "plan", plan, missing=NotFoundError)
            resource_plan.check_year(year)
            self.body(body)
            self.check_competence(Matter.SET_FRAME, decision)
            body_year = self.body_year(body, year)
            body_year.set_frame(plan, amount_sek, earmarks, decision)
            return [body_year]
        return self.execute(build, **idem)

    def adopt_plan(self, plan: str, decision: Decision, **idem) -> dict:
        def build():
            resource_plan = self.load(ResourcePlan, "plan", plan, missing=NotFoundError)
            self.check_competence(Matter.ADOPT_PLAN, decision)
            resource_plan.adopt(decision)
            return [resource_plan]
        return self.execute(build, **idem)

    def adjust_frame(self, body: str, year: int, delta_sek: int, reason: str, decision: Decision,
                     **idem) -> dict:
        def build():
            self.body(body)
            self.check_competence(Matter.ADJUST_FRAME, decision)
            body_year = self.body_year(body, year)
            if body_year.frame_sek is None:
                raise UnknownReferenceError(f"{body} has no frame for {year} to adjust.", "year")
            body_year.adjust_frame(delta_sek, reason, decision)
            return [body_year]
        return self.execute(build, **idem)

    def set_allocation(self, body: str, year: int, area: str, amount_sek: int, decision: Decision,
                       earmarks: list[dict] | None = None, **idem) -> dict:
        def build():
            owner = self.body(body, in_path=True)
            if area not in owner.areas:
                raise UnknownReferenceError(f"{body} has no activity area {area}.", "area")
            self.check_competence(Matter.OWN_MATTER, decision, concerned=body)
            body_year = self.body_year(body, year)
            body_year.set_allocation(area, amount_sek, list(earmarks or []), decision)
            return [body_year]
        return self.execute(build, **idem)

    def adopt_budget(self, body: str, year: int, decision: Decision, **idem) -> dict:
        def build():
            self.body(body, in_path=True)
            self.check_competence(Matter.OWN_MATTER, decision, concerned=body)
            body_year = self.body_year(body, year)
            body_year.adopt(decision)
            return [body_year]
        return self.execute(build, **idem)

    def reallocate(self, body: str, year: int, from_area: str, to_area: str, amount_sek: int, reason: str,
                   decision: Decision, **idem) -> dict:
        def build():
            owner = self.body(body, in_path=True)
            for field, area in (("from_area", from_area), ("to_area", to_area)):
                if area not in owner.areas:
                    raise UnknownReferenceError(f"{body} has no activity area {area}.", field)
            decider = self.body(decision.body, field="decision.body").ref()
            self.check_competence(Matter.OWN_MATTER, decision, concerned=body,
                                  extra_allowed=frozenset({"KF"}) if decider.kind == "council" else frozenset())
            body_year = self.body_year(body, year)
            threshold = int(self.settings["reallocation_council_threshold_percent"])
            body_year.reallocate(from_area, to_area, amount_sek, reason, decision, decider, threshold)
            return [body_year]
        return self.execute(build, **idem)

    def decide_measure(self, body: str, year: int, description: str, decision: Decision,
                       amount_sek: int | None = None, **idem) -> dict:
        def build():
            self.body(body)
            self.check_competence(Matter.OWN_MATTER, decision, concerned=body)
            body_year = self.body_year(body, year)
            body_year.decide_measure(description, amount_sek, decision)
            return [body_year]
        return self.execute(build, **idem)

    @staticmethod
    def year_of_period(period: str) -> int:
        return check_period(period)
