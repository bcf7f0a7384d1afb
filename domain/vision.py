"""The municipality's vision (§4.1): one per tenant, adopted and revised by KF."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from domain.base import GovernedAggregate
from domain.decisions import Decision


class Vision(GovernedAggregate):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    @event("VisionAdopted")
    def __init__(self, text: str, decision: Decision) -> None:
        self.text = text

    @event("VisionRevised")
    def revise(self, text: str, decision: Decision) -> None:
        self.text = text
