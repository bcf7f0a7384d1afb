"""Idempotency keys: the first answer to a command, saved atomically with it, so a retry gets it again."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import event

from domain.base import GovernedAggregate


class IdempotencyKey(GovernedAggregate):
    id: UUID  # derived from the tenant and the code (Governance.id_for)
    @event("IdempotencyKeyUsed")
    def __init__(self, key: str, fingerprint: str, answer: dict) -> None:
        self.key = key
        self.fingerprint = fingerprint
        self.answer = answer
