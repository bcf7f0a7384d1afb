"""Governing documents (styrdokument) in the statute book, with the guideline's metadata table (§4.1, §9)."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from domain.base import GovernedAggregate
from domain.decisions import Decision
from domain.errors import InvalidCommandError

DOCUMENT_TYPES = ("plan", "policy", "programme", "charter", "rules", "guidelines", "strategy")
PUBLICATION_CHANNELS = ("website", "intranet")


def check_published(published: list[str]) -> None:
    """Every adopted document is published: on the website, or only on the intranet (docs/spec/domain.md, §9)."""
    if not set(published) <= set(PUBLICATION_CHANNELS):
        raise InvalidCommandError("published lists website and/or intranet.", "published")
    if not published:
        raise InvalidCommandError("A document is published on the website, the intranet or both.", "published")
    if len(set(published)) < len(published):
        raise InvalidCommandError("published names a channel twice.", "published")


class GoverningDocument(GovernedAggregate):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    subject_fields = {"document": "code"}

    @classmethod
    def adopt(cls, id: UUID, **fields) -> GoverningDocument:
        if fields["type"] not in DOCUMENT_TYPES:
            raise InvalidCommandError(f"type is one of {', '.join(DOCUMENT_TYPES)}.", "type")
        check_published(fields["published"])
        return cls(id, **fields)

    @event("GoverningDocumentAdopted")
    def __init__(
        self,
        code: str,
        type: str,
        name: str,
        owner: str,
        responsible: str,
        validity: str,
        follow_up: str,
        subject: str,
        published: list[str],
        description: str | None,
        related: list[str],
        decision: Decision,
    ) -> None:
        self.code = code
        self.type = type
        self.established_on = decision.date
        self.name = name
        self.adopted_by = decision.body
        self.repealed = False

    def revise(self, changes: dict, decision: Decision) -> None:
        if "published" in changes:
            check_published(changes["published"])
        self._revise(changes, decision)

    @event("GoverningDocumentRevised")
    def _revise(self, changes: dict, decision: Decision) -> None:
        self.name = changes.get("name", self.name)

    @event("GoverningDocumentRepealed")
    def repeal(self, decision: Decision) -> None:
        self.repealed = True

    def check_in_force(self) -> None:
        if self.repealed:
            raise InvalidCommandError(f"Document {self.code} is repealed.", "code")
