"""The base of every governance aggregate: its ledger subject and retraction of its events."""

from __future__ import annotations

from typing import ClassVar

from eventsourcing.domain import Aggregate, event

from domain.errors import AlreadyRetractedError, InvalidCommandError

# Events that only open a container aggregate; they carry nothing of a decision and get no ledger position.
UNLEDGERED_EVENTS = frozenset({"BodyYearOpened", "YearOpened", "IdempotencyKeyUsed"})

# Attributes of a stored event that are plumbing, not the decision's content.
EVENT_PLUMBING = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic", "decision"})


class GovernedAggregate(Aggregate):
    """An aggregate whose events are decisions or reports of one municipality."""

    # Ledger `data` keys naming the aggregate, and the attribute each is read from
    # (e.g. {"goal": "code"} puts {"goal": "IM1"} into every entry of a goal).
    subject_fields: ClassVar[dict[str, str]] = {}
    # Versions of this aggregate's events that a later EventRetracted took out of force.
    retracted_versions = frozenset()

    def subject(self) -> dict:
        return {key: getattr(self, attr) for key, attr in self.subject_fields.items()}

    @property
    def is_retracted(self) -> bool:
        """The entry that created this aggregate was retracted: it no longer exists in force."""
        return 1 in self.retracted_versions

    def is_in_force(self, version: int) -> bool:
        return version not in self.retracted_versions

    def check_retractable(self, version: int, event_type: str) -> None:
        if event_type == "EventRetracted":
            raise InvalidCommandError(
                "A retraction cannot itself be retracted; record the decision again instead.", "event_id"
            )
        if version in self.retracted_versions:
            raise AlreadyRetractedError("That entry has already been retracted.", "event_id")

    @event("EventRetracted")
    def retract(self, retracted_event_id: str, retracted_position: int, retracted_version: int, reason: str) -> None:
        self.retracted_versions = self.retracted_versions | {retracted_version}
        self.on_retracted(retracted_version)

    def on_retracted(self, version: int) -> None:
        """Hook for aggregates whose rule-relevant state depends on which entries are in force."""

    # The decision date of the entry that established the aggregate, where one did.
    established_on = None

    def check_after_establishment(self, decision) -> None:
        """A decision about a thing cannot be dated before the decision that established it."""
        if self.established_on is not None and decision.date < self.established_on:
            raise InvalidCommandError(
                f"The decision of {decision.date.isoformat()} is dated before {self.established_on.isoformat()}, "
                "when this was established.", "decision.date")

    @property
    def next_version(self) -> int:
        """The version the event being applied gets, inside an @event method body other than __init__."""
        return self.version + 1
