"""Bodies (organ): KF, KS, nämnder, förvaltningar, bolag, and their activity areas."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from domain.base import GovernedAggregate
from domain.decisions import BodyRef, Decision
from domain.errors import AlreadyExistsError, InvalidCommandError

# The two bodies every municipality has by law (kommunallagen 3:3 and 6:1).
FOUNDING_BODIES = (
    ("KF", "Kommunfullmäktige", "council"),
    ("KS", "Kommunstyrelsen", "executive_board"),
)


class Body(GovernedAggregate):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    subject_fields = {"body": "code"}

    @event("BodyEstablished")
    def __init__(
        self, code: str, name: str, kind: str, parent: str | None, decision: Decision | None, basis: str | None = None
    ) -> None:
        self.code = code
        self.name = name
        self.kind = kind
        self.established_on = decision.date if decision else None
        self.parent = parent
        self.areas: dict[str, str] = {}
        self.area_versions: dict[int, str] = {}

    @event("ActivityAreaAdded")
    def add_area(self, code: str, name: str, decision: Decision) -> None:
        self.areas[code] = name
        self.area_versions[self.next_version] = code

    def check_new_area(self, code: str) -> None:
        if code in self.areas:
            raise AlreadyExistsError(f"{self.code} already has an activity area {code}.", "code")

    def check_retractable(self, version: int, event_type: str) -> None:
        if version == 1 and self.code in {code for code, _, _ in FOUNDING_BODIES}:
            raise InvalidCommandError(f"{self.code} exists by law; its entry cannot be retracted.", "event_id")
        super().check_retractable(version, event_type)

    def on_retracted(self, version: int) -> None:
        area = self.area_versions.pop(version, None)
        if area is not None:
            self.areas.pop(area, None)

    def ref(self) -> BodyRef:
        return BodyRef(code=self.code, kind=self.kind, parent=self.parent)
