"""Rebuilding a tenant's stored events from its ledger export, so a restored ledger is the exported one exactly."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import types
import typing
from collections.abc import Iterable, Iterator
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import Aggregate, CanMutateAggregate, DomainEvent, decorated_funcs
from eventsourcing.utils import get_topic

from domain.application import Governance
from domain.assignments import Assignment
from domain.base import EVENT_PLUMBING, UNLEDGERED_EVENTS, GovernedAggregate
from domain.bodies import Body
from domain.body_years import BodyYear
from domain.decisions import Decision
from domain.documents import GoverningDocument
from domain.errors import DomainError
from domain.goals import StrategicGoal
from domain.ledger import LedgerEntry, canonical_json, to_plain, verify_export
from domain.plans import ResourcePlan
from domain.results import Result
from domain.terms import Indicator, Term
from domain.vision import Vision
from domain.years import Year

# The kind under which the commands derive each aggregate's id (Governance.id_for); the same table
# the commands in domain/commands use. An event type not found here refuses the restore.
KINDS: dict[type[GovernedAggregate], str] = {
    Body: "body", BodyYear: "body_year", Year: "year", Vision: "vision", GoverningDocument: "document",
    Term: "term", Indicator: "indicator", StrategicGoal: "goal", Result: "result", Assignment: "assignment",
    ResourcePlan: "plan",
}


class RestoreRefusedError(DomainError):
    """The export cannot be restored; nothing was written."""

    code = "restore_refused"

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


@functools.cache
def event_classes(cls: type[GovernedAggregate]) -> dict[str, type[CanMutateAggregate]]:
    """The event classes the aggregate's methods trigger, by their recorded type name.

    An event a base class declares (EventRetracted, AttainmentAssessed) is triggered, and stored,
    as the base class's; the copies subclasses inherit cannot be applied.
    """
    found: dict[str, type[CanMutateAggregate]] = {}
    for base in reversed(cls.__mro__):
        for name, value in vars(base).items():
            if (name in found or name in ("Event", "Created") or not isinstance(value, type)
                    or not issubclass(value, CanMutateAggregate)):
                continue
            if value in decorated_funcs or (base is cls and issubclass(value, Aggregate.Created)):
                found[name] = value
    return found


@functools.cache
def _hints(event_class: type) -> dict:
    return typing.get_type_hints(event_class)


def _owners() -> dict[str, list[type[GovernedAggregate]]]:
    owners: dict[str, list[type[GovernedAggregate]]] = {}
    for cls in KINDS:
        for name in event_classes(cls):
            owners.setdefault(name, []).append(cls)
    return owners


def _from_plain(value, hint):
    """The Python value a field held before the ledger wrote it as JSON (dates as text, decimals as numbers)."""
    if value is None:
        return None
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _from_plain(value, options[0]) if len(options) == 1 else value
    if hint is Decimal:
        return Decimal(str(value))
    if hint is dt.date:
        return dt.date.fromisoformat(value)
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if hint is UUID:
        return UUID(value)
    if hint is Decision:
        return Decision.from_dict(value)
    return value


@dataclasses.dataclass(frozen=True)
class Export:
    """An export read and verified: its header and its records (prev_hash and hash included)."""

    header: dict
    records: list[dict]

    @property
    def tenant(self) -> str | None:
        return self.header.get("tenant") or (self.records[0]["tenant"] if self.records else None)


def read_verified_export(lines: Iterable[str]) -> Export:
    """The export, if its chain verifies from the first line to the head its header states; else refused."""
    kept = [line for line in lines if line.strip()]
    verification = verify_export(kept)
    if not verification.ok:
        raise RestoreRefusedError(
            f"The export does not verify at position {verification.first_bad_position}: {verification.reason}.",
            verification.first_bad_position)
    return Export(json.loads(kept[0]), [json.loads(line) for line in kept[1:]])


class Rebuilder:
    """Turns ledger records, in order, back into the aggregates' events and the ledger entries that chain them.

    Each record is applied to the aggregate the command that wrote it used (found by code and generation,
    as the commands find it), and the record is then derived again from the rebuilt event: a record that
    does not come out the same refuses the restore, so what is written is what was exported.
    """

    def __init__(self, app: Governance) -> None:
        self.app = app
        self.owners = _owners()
        self.aggregates: dict[UUID, GovernedAggregate] = {}
        self.by_position: dict[int, tuple[UUID, int]] = {}

    def events(self, records: Iterable[dict]) -> Iterator[DomainEvent]:
        for record in records:
            try:
                yield from self._rebuild(record)
            except RestoreRefusedError:
                raise
            except Exception as error:  # a verified chain this version cannot rebuild (a newer event shape)
                position = record.get("position")
                raise RestoreRefusedError(
                    f"The entry at position {position} cannot be rebuilt: {type(error).__name__}: {error}.",
                    position) from error

    def _rebuild(self, record: dict) -> list[DomainEvent]:
        position = record["position"]
        if record.get("tenant") != self.app.tenant:
            raise RestoreRefusedError(
                f"The entry at position {position} belongs to {record.get('tenant')}, not {self.app.tenant}.", position)
        data = record.get("data") or {}
        timestamp = dt.datetime.fromisoformat(record["recorded_at"])
        written: list[DomainEvent] = []
        if record["type"] == "EventRetracted":
            target = self.by_position.get(data.get("retracted_position"))
            if target is None:
                raise RestoreRefusedError(f"The retraction at position {position} points at no earlier entry.",
                                          position)
            aggregate = self.aggregates[target[0]]
            cls = type(aggregate)
        else:
            cls = self._owner(record["type"], data, position)
            aggregate = self._in_force(cls, data)
            if aggregate is None and not issubclass(event_classes(cls)[record["type"]], Aggregate.Created):
                opened = self._open_container(cls, data, timestamp, position)
                written.append(opened)
                aggregate = self.aggregates[opened.originator_id]
        event_class = event_classes(cls)[record["type"]]
        hints = _hints(event_class)
        kwargs = {}
        for f in dataclasses.fields(event_class):
            if f.name in ("originator_id", "originator_version", "timestamp", "originator_topic"):
                continue
            if f.name == "decision":
                kwargs["decision"] = Decision.from_dict(record["decision"]) if record.get("decision") else None
            elif f.name in data:
                kwargs[f.name] = _from_plain(data[f.name], hints.get(f.name))
            elif f.default is dataclasses.MISSING:
                raise RestoreRefusedError(f"The entry at position {position} lacks {f.name}.", position)
        if issubclass(event_class, Aggregate.Created):
            aggregate_id = self._fresh_id(cls, data)
            event = event_class(originator_id=aggregate_id, originator_version=1, timestamp=timestamp,
                                originator_topic=get_topic(cls), **kwargs)
            aggregate = event.mutate(None)
        else:
            event = event_class(originator_id=aggregate.id, originator_version=aggregate.version + 1,
                                timestamp=timestamp, **kwargs)
            event.mutate(aggregate)
        self.aggregates[aggregate.id] = aggregate
        self._check_same(record, aggregate, event, position)
        self.by_position[position] = (aggregate.id, event.originator_version)
        content = {k: v for k, v in record.items() if k not in ("prev_hash", "hash")}
        written.append(event)
        written.append(LedgerEntry(
            originator_id=self.app.ledger_id, originator_version=position, timestamp=timestamp,
            canonical=canonical_json(content), prev_hash=record["prev_hash"], hash=record["hash"],
            aggregate_id=aggregate.id, aggregate_version=event.originator_version))
        return written

    def _owner(self, type_name: str, data: dict, position: int) -> type[GovernedAggregate]:
        candidates = [cls for cls in self.owners.get(type_name, [])
                      if all(key in data for key in cls.subject_fields)]
        if len(candidates) != 1:
            raise RestoreRefusedError(
                f"The entry at position {position} has the type {type_name}, which this version cannot restore.",
                position)
        return candidates[0]

    def _parts(self, cls: type[GovernedAggregate], data: dict) -> tuple:
        if cls is BodyYear:
            # As BudgetCommands.body_year: a body's first establishment keys its years by code, a later one by id.
            owner = self._in_force(Body, {"body": data["body"]})
            key = data["body"] if owner is None or owner.id == self.app.id_for("body", data["body"]) else owner.id
            return key, data["year"]
        return tuple(data[key] for key in cls.subject_fields)

    def _generation_ids(self, cls: type[GovernedAggregate], data: dict) -> Iterator[UUID]:
        parts = self._parts(cls, data)
        generation = 1
        while True:
            suffix = () if generation == 1 else (f"#{generation}",)
            yield self.app.id_for(KINDS[cls], *parts, *suffix)
            generation += 1

    def _in_force(self, cls: type[GovernedAggregate], data: dict) -> GovernedAggregate | None:
        """As Governance.load_or_none: the first generation not retracted, among those established."""
        for aggregate_id in self._generation_ids(cls, data):
            aggregate = self.aggregates.get(aggregate_id)
            if aggregate is None:
                return None
            if not aggregate.is_retracted:
                return aggregate
        raise AssertionError("unreachable")

    def _fresh_id(self, cls: type[GovernedAggregate], data: dict) -> UUID:
        for aggregate_id in self._generation_ids(cls, data):
            if aggregate_id not in self.aggregates:
                return aggregate_id
        raise AssertionError("unreachable")

    def _open_container(self, cls, data: dict, timestamp: dt.datetime, position: int) -> DomainEvent:
        """A body's year or a year is opened on first use by an event that has no ledger position."""
        opening = [c for name, c in event_classes(cls).items()
                   if name in UNLEDGERED_EVENTS and issubclass(c, Aggregate.Created)]
        if not opening:
            raise RestoreRefusedError(f"The entry at position {position} concerns something never established.",
                                      position)
        event_class = opening[0]
        hints = _hints(event_class)
        kwargs = {f.name: _from_plain(data[f.name], hints.get(f.name)) for f in dataclasses.fields(event_class)
                  if f.name not in ("originator_id", "originator_version", "timestamp", "originator_topic")}
        event = event_class(originator_id=self._fresh_id(cls, data), originator_version=1, timestamp=timestamp,
                            originator_topic=get_topic(cls), **kwargs)
        self.aggregates[event.originator_id] = event.mutate(None)
        return event

    @staticmethod
    def _check_same(record: dict, aggregate: GovernedAggregate, event, position: int) -> None:
        # The same derivation as Governance._chain: what the command would have recorded for this event.
        data = {**aggregate.subject(), **{k: v for k, v in event.__dict__.items() if k not in EVENT_PLUMBING}}
        decision = getattr(event, "decision", None)
        if (to_plain(data) != (record.get("data") or {})
                or (to_plain(decision) if decision is not None else None) != record.get("decision")):
            raise RestoreRefusedError(
                f"The entry at position {position} cannot be rebuilt to the same content.", position)


def rebuilt_events(app: Governance, export: Export) -> list[DomainEvent]:
    """Every event to store for the export, in ledger order: each decision's event, then its ledger entry."""
    return list(Rebuilder(app).events(export.records))
