"""The decision object and the competence table: which body may decide what (docs/spec/domain.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

from domain.errors import NotCompetentError

COUNCIL = "council"
COUNCIL_COMMITTEE = "council_committee"
EXECUTIVE_BOARD = "executive_board"
COMMITTEE = "committee"
ADMINISTRATION = "administration"
COMPANY = "company"
BODY_KINDS = (COUNCIL, COUNCIL_COMMITTEE, EXECUTIVE_BOARD, COMMITTEE, ADMINISTRATION, COMPANY)

# Bodies that are "nämnder" in the guideline's sense: KS counts as one (§3.3).
NAMND_KINDS = (EXECUTIVE_BOARD, COMMITTEE)


@dataclass(frozen=True)
class Decision:
    """Who decided (body code), when (meeting date), and where it is written."""

    body: str
    date: dt.date
    kind: str = "meeting"
    paragraph: str | None = None
    registry_number: str | None = None
    effective_from: dt.date | None = None
    delegation: str | None = None

    def __post_init__(self) -> None:
        if self.effective_from is None:
            object.__setattr__(self, "effective_from", self.date)

    def check_form(self) -> None:
        """A meeting decision names its paragraph; a delegated one the delegation it rests on."""
        from domain.errors import InvalidCommandError

        if self.kind not in ("meeting", "delegated"):
            raise InvalidCommandError("decision.kind is meeting or delegated.", "decision.kind")
        if self.kind == "meeting" and not self.paragraph:
            raise InvalidCommandError("A meeting decision names its paragraph.", "decision.paragraph")
        if self.kind == "delegated" and not self.delegation:
            raise InvalidCommandError("A delegated decision names its delegation decision.", "decision.delegation")
        if self.effective_from < self.date:
            raise InvalidCommandError("effective_from cannot be before the decision date.", "decision.effective_from")

    def as_dict(self) -> dict:
        return {
            "body": self.body,
            "date": self.date.isoformat(),
            "kind": self.kind,
            "paragraph": self.paragraph,
            "registry_number": self.registry_number,
            "effective_from": self.effective_from.isoformat(),
            "delegation": self.delegation,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Decision:
        return cls(
            body=data["body"],
            date=_as_date(data["date"]),
            kind=data.get("kind") or "meeting",
            paragraph=data.get("paragraph"),
            registry_number=data.get("registry_number"),
            effective_from=_as_date(data.get("effective_from") or data["date"]),
            delegation=data.get("delegation"),
        )


def _as_date(value: dt.date | str) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


class Matter(Enum):
    """What a decision is about, as the competence table distinguishes it."""

    ESTABLISH_BODY = "establish a body"
    ADOPT_VISION = "adopt or revise the vision"
    ESTABLISH_GOAL = "establish or revise an inriktningsmål"
    FIX_GOAL_TARGET = "fix or revise a målvärde for an inriktningsmål"
    SET_FRAME = "set a frame in the mål- och resursplan"
    ADOPT_PLAN = "adopt the mål- och resursplan"
    ADJUST_FRAME = "adjust a frame during the year"
    DECIDE_DISCHARGE = "decide ansvarsfrihet"
    ISSUE_ASSIGNMENT = "issue a riktat uppdrag"
    REVISE_ASSIGNMENT = "revise a riktat uppdrag"
    WITHDRAW_ASSIGNMENT = "withdraw a riktat uppdrag"
    OWN_MATTER = "a matter of the body's own operations"
    REPORT_ADOPTION = "adopt a delårsrapport or årsredovisning"
    GOVERNING_DOCUMENT = "adopt a governing document"


# Matters only Kommunfullmäktige decides (docs/spec/domain.md rule 1; kommunallagen 5:1).
COUNCIL_ONLY = frozenset(
    {
        Matter.ESTABLISH_BODY,
        Matter.ADOPT_VISION,
        Matter.ESTABLISH_GOAL,
        Matter.FIX_GOAL_TARGET,
        Matter.SET_FRAME,
        Matter.ADOPT_PLAN,
        Matter.ADJUST_FRAME,
        Matter.DECIDE_DISCHARGE,
    }
)


# The matters of riktade uppdrag, one competence rule for all three, and how a refusal names the act.
ASSIGNMENT_ACTS = {
    Matter.ISSUE_ASSIGNMENT: "issue an uppdrag to",
    Matter.REVISE_ASSIGNMENT: "revise an uppdrag given to",
    Matter.WITHDRAW_ASSIGNMENT: "withdraw an uppdrag given to",
}


@dataclass(frozen=True)
class BodyRef:
    """What the competence rules need to know of a body."""

    code: str
    kind: str
    parent: str | None = None


@dataclass(frozen=True)
class Competence:
    """The rule check for one decision: the matter, the deciding body and, if any, the body concerned."""

    matter: Matter
    decider: BodyRef
    concerned: BodyRef | None = None
    extra_allowed: frozenset[str] = field(default_factory=frozenset)

    def check(self, decision: Decision) -> None:
        who = self.decider
        if self.matter in COUNCIL_ONLY:
            if who.kind != COUNCIL:
                raise NotCompetentError(
                    f"Only Kommunfullmäktige may {self.matter.value}; {who.code} may not."
                )
            if decision.kind != "meeting":
                raise NotCompetentError(
                    f"Kommunfullmäktige may not delegate the decision to {self.matter.value}."
                )
            return
        if self.matter in ASSIGNMENT_ACTS:
            # KF gives riktade uppdrag to a body; a nämnd may give one to its own förvaltning (and revise or
            # withdraw it: which of them issued it, Assignment.check_may_change decides).
            concerned = self.concerned
            if who.kind == COUNCIL:
                return
            if (who.kind in NAMND_KINDS and concerned is not None and concerned.kind == ADMINISTRATION
                    and concerned.parent == who.code):
                return
            raise NotCompetentError(
                f"{who.code} may not {ASSIGNMENT_ACTS[self.matter]} {concerned.code if concerned else '?'}: "
                "only Kommunfullmäktige, or a nämnd for its own förvaltning, may."
            )
        if self.matter is Matter.REPORT_ADOPTION:
            if who.kind in (COUNCIL, EXECUTIVE_BOARD):
                return
            raise NotCompetentError(
                "Only Kommunstyrelsen or Kommunfullmäktige may adopt a delårsrapport or årsredovisning; "
                f"{who.code} may not."
            )
        if self.matter is Matter.GOVERNING_DOCUMENT:
            if who.code in self.extra_allowed or who.kind == COUNCIL or not self.extra_allowed:
                return
            raise NotCompetentError(
                f"Only the body that adopted the document, or Kommunfullmäktige, may change it; {who.code} may not."
            )
        if self.matter is Matter.OWN_MATTER:
            concerned = self.concerned
            if concerned is not None and who.code == concerned.code:
                return
            if who.code in self.extra_allowed:
                return
            raise NotCompetentError(
                f"This is {concerned.code if concerned else 'the body'}'s own matter; {who.code} may not decide it."
            )
