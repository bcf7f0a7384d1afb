"""Commands for what is to be achieved and done: inriktningsmål, målvärden, resultat and riktade uppdrag."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from domain.assignments import Assignment
from domain.decisions import Decision, Matter
from domain.errors import NotFoundError
from domain.goals import StrategicGoal
from domain.results import Result
from domain.terms import Indicator, Term


class GoalCommands:
    def establish_goal(self, code: str, term: str, title: str, decision: Decision,
                       description: str | None = None, **idem) -> dict:
        def build():
            self.check_new("goal", code)
            self.reference(Term, "term", term, "term")
            self.check_competence(Matter.ESTABLISH_GOAL, decision)
            return [StrategicGoal(self.fresh_id("goal", code), code, term, title, description, decision)]
        return self.execute(build, **idem)

    def revise_goal(self, code: str, decision: Decision, title: str | None = None,
                    description: str | None = None, **idem) -> dict:
        def build():
            goal = self.load(StrategicGoal, "goal", code, missing=NotFoundError)
            self.check_competence(Matter.ESTABLISH_GOAL, decision)
            goal.check_after_establishment(decision)
            goal.revise(title, description, decision)
            return [goal]
        return self.execute(build, **idem)

    def fix_goal_target(self, goal: str, indicator: str, year: int, value: Decimal, decision: Decision,
                        **idem) -> dict:
        def build():
            target_goal = self.load(StrategicGoal, "goal", goal, missing=NotFoundError)
            self.reference(Indicator, "indicator", indicator, "indicator")
            self.check_competence(Matter.FIX_GOAL_TARGET, decision)
            target_goal.check_after_establishment(decision)
            target_goal.fix_target(indicator, year, value, decision)
            return [target_goal]
        return self.execute(build, **idem)

    def define_result(self, body: str, code: str, kind: str, title: str, decision: Decision,
                      goal: str | None = None, **idem) -> dict:
        def build():
            owner = self.body(body, in_path=True)
            self.check_new("result", code)
            Result.check_definable(kind, goal, owner.kind)
            self.reference(StrategicGoal, "goal", goal, "goal")
            self.check_competence(Matter.OWN_MATTER, decision, concerned=body)
            return [Result(self.fresh_id("result", code), code, body, kind, title, goal, decision)]
        return self.execute(build, **idem)

    def fix_result_target(self, body: str, result: str, indicator: str, year: int, value: Decimal,
                          decision: Decision, **idem) -> dict:
        def build():
            self.body(body, in_path=True)
            target_result = self.load(Result, "result", result, missing=NotFoundError)
            if target_result.body != body:
                raise NotFoundError(f"{body} has no result {result}.")
            self.reference(Indicator, "indicator", indicator, "indicator")
            self.check_competence(Matter.OWN_MATTER, decision, concerned=body)
            target_result.check_after_establishment(decision)
            target_result.fix_target(indicator, year, value, decision)
            return [target_result]
        return self.execute(build, **idem)

    def issue_assignment(self, code: str, to_body: str, title: str, description: str, due: dt.date,
                         decision: Decision, goal: str | None = None, **idem) -> dict:
        def build():
            self.check_new("assignment", code)
            self.body(to_body, field="to_body")
            self.reference(StrategicGoal, "goal", goal, "goal")
            self.check_competence(Matter.ISSUE_ASSIGNMENT, decision, concerned=to_body)
            return [Assignment.issue(self.fresh_id("assignment", code), code, to_body, goal, title, description, due,
                               decision)]
        return self.execute(build, **idem)

    def _changeable_assignment(self, code: str, decision: Decision, matter: Matter) -> Assignment:
        """The uppdrag a decision revises or withdraws (matter), once the deciding body is found competent."""
        assignment = self.load(Assignment, "assignment", code, missing=NotFoundError)
        self.check_competence(matter, decision, concerned=assignment.to_body)
        act = "revise" if matter is Matter.REVISE_ASSIGNMENT else "withdraw"
        assignment.check_may_change(self.body(decision.body, field="decision.body").ref(), act)
        assignment.check_after_establishment(decision)
        return assignment

    def revise_assignment(self, code: str, decision: Decision, title: str | None = None,
                          description: str | None = None, due: dt.date | None = None, **idem) -> dict:
        def build():
            assignment = self._changeable_assignment(code, decision, Matter.REVISE_ASSIGNMENT)
            assignment.revise(title, description, due, decision)
            return [assignment]
        return self.execute(build, **idem)

    def withdraw_assignment(self, code: str, reason: str, decision: Decision, **idem) -> dict:
        def build():
            assignment = self._changeable_assignment(code, decision, Matter.WITHDRAW_ASSIGNMENT)
            assignment.withdraw(reason, decision)
            return [assignment]
        return self.execute(build, **idem)

    def report_assignment_status(self, code: str, status: str, period: str, comment: str,
                                 reported_on: dt.date, **idem) -> dict:
        def build():
            assignment = self.load(Assignment, "assignment", code, missing=NotFoundError)
            assignment.check_active()
            assignment.report_status(status, period, comment, reported_on)
            return [assignment]
        return self.execute(build, **idem)

    def assignment_body(self, code: str) -> str:
        """The body an uppdrag is given to (reporters may report only for their bodies)."""
        return self.load(Assignment, "assignment", code, missing=NotFoundError).to_body
