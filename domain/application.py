"""The tenant's application service: every command is get, call, save, with its ledger entry in the same save."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application, LRUCache, Repository
from eventsourcing.persistence import IntegrityError, JSONTranscoder, PersistenceError, Transcoding

from domain.base import EVENT_PLUMBING, UNLEDGERED_EVENTS, GovernedAggregate
from domain.bodies import FOUNDING_BODIES, Body
from domain.commands.budgets import BudgetCommands
from domain.commands.follow_up import FollowUpCommands
from domain.commands.goals import GoalCommands
from domain.commands.organisation import OrganisationCommands
from domain.context import current_actor, recorded_commands
from domain.decisions import Competence, Decision, Matter
from domain.errors import ConcurrencyError, DomainError, InvalidCommandError, NotFoundError, UnknownReferenceError
from domain.idempotency import IdempotencyKey
from domain.ledger import (
    GENESIS_HASH,
    LedgerEntry,
    Verification,
    canonical_json,
    chain_hash,
    event_id,
    to_plain,
    verify_records,
)
from domain.stores import StoreConfig, app_name, schema_name

A = TypeVar("A", bound=GovernedAggregate)
Head = tuple[int, str, dt.datetime | None]  # the ledger head: position, hash, recorded_at

MAX_ATTEMPTS = 60
COMMAND_WAIT_SECONDS = 30.0
DEFAULT_SETTINGS = {"reallocation_council_threshold_percent": 5}
# Ledger entries read to bring the aggregate cache up to date; further behind, the cache starts afresh.
SYNC_LIMIT = 200


@dataclass
class _ProvenView:
    """One attempt of a command: the cache is fresh up to the ledger head the attempt chains on.

    Either a read of the ledger showed it, or (optimistic) this process saved or read that head last
    and the attempt's own save will show it: the save takes the next position, so it fails if anyone
    recorded after that head. An optimistic attempt also takes a code's id to be unused without
    reading the store, where the command creates it (`assumed_absent`): the save inserts version 1
    of that aggregate, which fails if it exists.
    """

    repository: LedgerCheckedRepository
    absent: set[UUID] = field(default_factory=set)
    optimistic: bool = False
    assumed_absent: set[UUID] = field(default_factory=set)


_view: ContextVar[_ProvenView | None] = ContextVar("styrkedja_proven_view", default=None)


class LedgerCheckedRepository(Repository):
    """An aggregate cache kept fresh by the ledger instead of a fast-forward query on every hit.

    Every recorded change of an aggregate comes with a ledger entry naming the aggregate and its
    version, and positions are committed in order. So once a command has read the entries after the
    position the cache was last known fresh at, each cached aggregate either is fresh or is marked
    stale (and fast-forwarded on its next read). Anything recorded after that read takes the next
    ledger position, so the command's own save then fails and the command runs again: a stale view
    can cost a retry but never records on old state.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Ids to fast-forward on their next read, and a counter of syncs: a load that overlaps a
        # sync may have missed what that sync saw, so it is marked stale too.
        self.stale: set[UUID] = set()
        self.syncs = 0

    def get(self, aggregate_id, *, version=None, deepcopy_from_cache: bool = True, **kwargs):  # type: ignore[override]
        view = _view.get()
        proven = view is not None and view.repository is self and version is None and self.cache is not None
        if proven and aggregate_id not in self.stale:
            if aggregate_id in view.absent:
                raise AggregateNotFoundError(aggregate_id)
            try:
                aggregate = self.cache.get(aggregate_id)
            except KeyError:
                pass
            else:
                return copy.deepcopy(aggregate) if deepcopy_from_cache and self.deepcopy_from_cache else aggregate
        if version is not None:
            return super().get(aggregate_id, version=version, deepcopy_from_cache=deepcopy_from_cache, **kwargs)
        self.stale.discard(aggregate_id)
        syncs = self.syncs
        try:
            aggregate = super().get(aggregate_id, deepcopy_from_cache=deepcopy_from_cache, **kwargs)
        except AggregateNotFoundError:
            if proven:
                view.absent.add(aggregate_id)
            raise
        if self.syncs != syncs:
            self.stale.add(aggregate_id)
        return aggregate


class DateAsISO(Transcoding):
    type = dt.date
    name = "date_iso"

    def encode(self, obj: dt.date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> dt.date:
        return dt.date.fromisoformat(data)


class DecisionAsDict(Transcoding):
    type = Decision
    name = "decision"

    def encode(self, obj: Decision) -> dict:
        return obj.as_dict()

    def decode(self, data: dict) -> Decision:
        return Decision.from_dict(data)


class Governance(OrganisationCommands, GoalCommands, BudgetCommands, FollowUpCommands, Application):
    """One municipality's decisions: commands that check the rules and record, and the ledger."""

    def __init__(self, tenant: str, config: StoreConfig, settings: dict | None = None, create_table=False):
        self.tenant = tenant
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.config = config
        self.name = app_name(tenant)
        self.ledger_id = self.id_for("ledger")
        # The ledger head as last read or written, and the position up to which every cached
        # aggregate is known fresh (see LedgerCheckedRepository); both move under _sync_lock.
        self._head: Head = (0, GENESIS_HASH, None)
        self._fresh_at = -1
        self._sync_lock = threading.Lock()
        # Commands of one process queue for the tenant instead of racing for the same ledger position:
        # only one of them could win it, and every loser would do its whole command again.
        self._command_lock = threading.RLock()
        env = config.env_for(schema_name(tenant), f"{tenant}.sqlite", create_table)
        super().__init__(env)

    def construct_repository(self) -> LedgerCheckedRepository:
        plain = super().construct_repository()
        return LedgerCheckedRepository(
            event_store=plain.event_store, snapshot_store=plain.snapshot_store,
            cache_maxsize=plain.cache.maxsize if isinstance(plain.cache, LRUCache) else None,
            fastforward=True, deepcopy_from_cache=plain.deepcopy_from_cache,
        )

    def construct_factory(self, env):
        factory = super().construct_factory(env)
        self.config.prepare(factory)
        return factory

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(DecisionAsDict())

    # --- identities ----------------------------------------------------------------------

    def id_for(self, kind: str, *parts: Any) -> UUID:
        """Codes are unique per tenant and kind: the aggregate id is derived from them."""
        return uuid5(NAMESPACE_URL, f"styrkedja:{self.tenant}/{kind}/" + "/".join(str(p) for p in parts))

    def _generations(self, kind: str, *parts: Any, creating: bool = False
                     ) -> Iterator[tuple[UUID, GovernedAggregate | None]]:
        """Ids for a code: the first, then one more each time an establishment was retracted.

        `creating`: the caller establishes the code if it is free, so an optimistic attempt may take
        an id it has not cached as unused (see _ProvenView).
        """
        generation = 1
        while True:
            suffix = () if generation == 1 else (f"#{generation}",)
            aggregate_id = self.id_for(kind, *parts, *suffix)
            if creating and self._assume_absent(aggregate_id):
                aggregate = None
            else:
                try:
                    # Read-only: the cached aggregate itself; callers that change it take a copy.
                    aggregate = self.repository.get(aggregate_id, deepcopy_from_cache=False)
                except AggregateNotFoundError:
                    aggregate = None
            yield aggregate_id, aggregate
            if aggregate is None:
                return
            generation += 1

    def _assume_absent(self, aggregate_id: UUID) -> bool:
        """In an optimistic attempt, take an id this process has not cached as unused (the save checks)."""
        view = _view.get()
        repository: LedgerCheckedRepository = self.repository
        if view is None or not view.optimistic or view.repository is not repository:
            return False
        if aggregate_id in repository.stale or self._cached(aggregate_id) is not None:
            return False
        view.assumed_absent.add(aggregate_id)
        return True

    def fresh_id(self, kind: str, *parts: Any) -> UUID:
        """The id under which a code is established now (a retracted establishment leaves its id behind)."""
        for aggregate_id, aggregate in self._generations(kind, *parts, creating=True):
            if aggregate is None:
                return aggregate_id
        raise AssertionError("unreachable")

    def load(self, cls: type[A], kind: str, *parts: Any, missing: type[DomainError] = UnknownReferenceError,
             field: str | None = None, mutable: bool = True) -> A:
        aggregate = self.load_or_none(kind, *parts, mutable=mutable)
        if aggregate is None:
            label = "/".join(str(p) for p in parts)
            raise missing(f"There is no {kind.replace('_', ' ')} {label}.", field)
        assert isinstance(aggregate, cls)
        return aggregate

    def load_or_none(self, kind: str, *parts: Any, mutable: bool = True, creating: bool = False
                     ) -> GovernedAggregate | None:
        """The aggregate in force for a code: None if never established, or if every establishment was retracted.

        A command that will change the aggregate gets its own copy (mutable); checks read the cached one.
        """
        for _, aggregate in self._generations(kind, *parts, creating=creating):
            if aggregate is not None and not aggregate.is_retracted:
                return copy.deepcopy(aggregate) if mutable else aggregate
        return None

    def exists(self, kind: str, *parts: Any, creating: bool = False) -> bool:
        """Whether a code is in force; `creating` when the command establishes it if not (see _generations)."""
        return self.load_or_none(kind, *parts, mutable=False, creating=creating) is not None

    def body(self, code: str, field: str = "body", in_path: bool = False, mutable: bool = False) -> Body:
        return self.load(Body, "body", code, missing=NotFoundError if in_path else UnknownReferenceError,
                         field=field, mutable=mutable)

    def check_competence(self, matter: Matter, decision: Decision, concerned: str | None = None,
                         extra_allowed: frozenset[str] = frozenset()) -> None:
        decision.check_form()
        if decision.date > dt.date.today():
            raise InvalidCommandError("A decision cannot be dated in the future.", "decision.date")
        decider = self.body(decision.body, field="decision.body").ref()
        concerned_ref = self.body(concerned).ref() if concerned else None
        Competence(matter, decider, concerned_ref, extra_allowed).check(decision)

    # --- recording -----------------------------------------------------------------------

    def provision(self) -> None:
        """Create the tenant's first entries: the bodies every municipality has by law."""
        def build():
            return [Body(self.id_for("body", code), code, name, kind, None, None, basis="kommunallagen")
                    for code, name, kind in FOUNDING_BODIES if not self.exists("body", code)]
        if not self.exists("body", "KF"):
            self.execute(build)

    def execute(self, build: Callable[[], list[GovernedAggregate]],
                idempotency: tuple[str, str] | None = None) -> dict:
        """Run a command: build its aggregates (rules may refuse), chain its ledger entries, save atomically.

        A concurrent writer (another command on the same aggregate, or any command taking the
        same ledger position) makes the save fail; the whole command then runs again on fresh state.
        """
        if not self._command_lock.acquire(timeout=COMMAND_WAIT_SECONDS):
            raise ConcurrencyError("Too many concurrent changes; please retry.")
        try:
            return self._execute(build, idempotency)
        finally:
            self._command_lock.release()

    def _execute(self, build: Callable[[], list[GovernedAggregate]], idempotency: tuple[str, str] | None) -> dict:
        for attempt in range(MAX_ATTEMPTS):
            with self._proven_view(optimistic=attempt == 0) as (view, syncs, head):
                try:
                    if idempotency:
                        earlier = self._earlier_answer(*idempotency)
                        if earlier is not None:
                            return earlier
                    aggregates = [a for a in build() if a is not None]
                except Exception as error:
                    if view.optimistic and not isinstance(error, (ConnectionError, PersistenceError)):
                        # Refused (or failed) on a view no read has confirmed: answer only on one that has.
                        continue
                    raise
                head_position, head_hash, head_time = head
                entries, answer = self._chain(aggregates, head_position, head_hash, head_time)
                extra: list[Any] = []
                if idempotency:
                    key, fingerprint = idempotency
                    extra.append(IdempotencyKey(self._idempotency_id(key), key, fingerprint, answer))
                if view.optimistic and not self._save_proves(view, [*aggregates, *extra], entries):
                    continue
                try:
                    self.save(*aggregates, *entries, *extra)
                except IntegrityError:
                    # Another writer took the position (or changed an aggregate, or a code taken to be
                    # free was not): the next attempt reads the ledger afresh, and what this one meant to
                    # change is read from the store again.
                    self.repository.stale.update(a.id for a in aggregates)
                    if not view.optimistic:
                        time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
                    continue
                self._saved(aggregates, entries, answer, head_position, syncs)
                recorded_commands.set(recorded_commands.get() + 1)
                return answer
        raise ConcurrencyError("Too many concurrent changes; please retry.")

    @staticmethod
    def _save_proves(view: _ProvenView, aggregates: list[GovernedAggregate], entries: list[LedgerEntry]) -> bool:
        """Whether saving these shows the optimistic view was right: a ledger position is taken, and
        every id taken to be unused gets its first event (which the store refuses if it exists)."""
        created = {a.id for a in aggregates if a.pending_events and a.pending_events[0].originator_version == 1}
        return bool(entries) and view.assumed_absent <= created

    @contextmanager
    def _proven_view(self, optimistic: bool = False) -> Iterator[tuple[_ProvenView, int, Head]]:
        """Bring the aggregate cache up to the ledger head (one indexed read), then read from it alone.

        `optimistic`: skip the read when this process knows the cache fresh at the head it saved or
        read last; the command's save then proves (or disproves) that nothing was recorded since.
        """
        with self._sync_lock:
            known = self._fresh_at >= 0 and self._fresh_at == self._head[0]
            syncs, head = self.repository.syncs, self._head
        optimistic = optimistic and known
        if not optimistic:
            syncs, head = self._sync()
        view = _ProvenView(self.repository, optimistic=optimistic)
        token = _view.set(view)
        try:
            yield view, syncs, head
        finally:
            _view.reset(token)

    def _sync(self) -> tuple[int, Head]:
        repository: LedgerCheckedRepository = self.repository
        with self._sync_lock:
            rows = self.recorder.select_events(self.ledger_id, gt=max(self._fresh_at, 0), limit=SYNC_LIMIT + 1)
            if self._fresh_at < 0 or len(rows) > SYNC_LIMIT:
                # First use, or far behind: start the cache afresh rather than read the whole ledger.
                if isinstance(repository.cache, LRUCache):
                    repository.cache = LRUCache(maxsize=repository.cache.maxsize)
                repository.stale.clear()
                repository.syncs += 1
                self._head = self.ledger_head()
            elif rows:
                repository.syncs += 1
                for row in rows:
                    entry: LedgerEntry = self.mapper.to_domain_event(row)
                    cached = self._cached(entry.aggregate_id)
                    if cached is not None and cached.version < entry.aggregate_version:
                        repository.stale.add(entry.aggregate_id)
                recorded_at = dt.datetime.fromisoformat(json.loads(entry.canonical)["recorded_at"])
                self._head = (entry.originator_version, entry.hash, recorded_at)
            self._fresh_at = self._head[0]
            return repository.syncs, self._head

    def _cached(self, aggregate_id: UUID) -> GovernedAggregate | None:
        cache = self.repository.cache
        if cache is None:
            return None
        try:
            return cache.get(aggregate_id)
        except KeyError:
            return None

    def _saved(self, aggregates: list[GovernedAggregate], entries: list[LedgerEntry], answer: dict,
               head_position: int, syncs: int) -> None:
        """Keep what this command recorded: the changed aggregates in the cache, and the new head."""
        repository: LedgerCheckedRepository = self.repository
        with self._sync_lock:
            if repository.cache is not None:
                for aggregate in aggregates:
                    repository.cache.put(aggregate.id, aggregate)
            if repository.syncs != syncs:
                # A sync ran while this command saved and may have seen its entries before these copies
                # were cached, or later entries about the same aggregates.
                repository.stale.update(a.id for a in aggregates)
            if entries and self._fresh_at == head_position:
                last = entries[-1]
                self._head = (last.position, last.hash, dt.datetime.fromisoformat(answer["recorded_at"]))
                self._fresh_at = last.position

    def _chain(self, aggregates, head_position: int, head_hash: str, head_time: dt.datetime | None):
        actor = current_actor.get()
        now = dt.datetime.now(dt.UTC)
        # Record time never runs backwards along the ledger, so "known at T" is a prefix of positions.
        recorded_at = max(now, head_time) if head_time else now
        entries: list[LedgerEntry] = []
        answer: dict = {}
        position, prev = head_position, head_hash
        for aggregate in aggregates:
            subject = aggregate.subject()
            for event in aggregate.pending_events:
                type_name = type(event).__name__
                if type_name in UNLEDGERED_EVENTS:
                    continue
                position += 1
                data = {**subject, **{k: v for k, v in event.__dict__.items() if k not in EVENT_PLUMBING}}
                decision = getattr(event, "decision", None)
                record = {
                    "position": position,
                    "id": event_id(self.tenant, position),
                    "type": type_name,
                    "tenant": self.tenant,
                    "recorded_at": recorded_at.isoformat(timespec="microseconds"),
                    "recorded_by": actor,
                    "decision": to_plain(decision) if decision is not None else None,
                    "data": to_plain(data),
                }
                canonical = canonical_json(record)
                digest = chain_hash(prev, canonical)
                entries.append(LedgerEntry(
                    originator_id=self.ledger_id, originator_version=position, timestamp=now,
                    canonical=canonical, prev_hash=prev, hash=digest,
                    aggregate_id=aggregate.id, aggregate_version=event.originator_version,
                ))
                prev = digest
                answer = {"event_id": record["id"], "position": position,
                          "recorded_at": record["recorded_at"], "hash": digest}
        return entries, answer

    def _idempotency_id(self, key: str) -> UUID:
        return self.id_for("idempotency", current_actor.get() or "-", key)

    def _earlier_answer(self, key: str, fingerprint: str) -> dict | None:
        if self._assume_absent(self._idempotency_id(key)):
            return None  # the attempt saves this key's first event, which the store refuses if it exists
        try:
            record = self.repository.get(self._idempotency_id(key))
        except AggregateNotFoundError:
            return None
        if record.fingerprint != fingerprint:
            raise IdempotencyKeyReusedError("This Idempotency-Key was used for a different request.")
        return record.answer

    @staticmethod
    def fingerprint(*parts: Any) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()

    # --- the ledger ----------------------------------------------------------------------

    def ledger_head(self) -> Head:
        stored = self.recorder.select_events(self.ledger_id, desc=True, limit=1)
        if not stored:
            return 0, GENESIS_HASH, None
        entry = self.mapper.to_domain_event(stored[0])
        recorded_at = dt.datetime.fromisoformat(json.loads(entry.canonical)["recorded_at"])
        return entry.originator_version, entry.hash, recorded_at

    def ledger_entries(self, after: int = 0, limit: int | None = None, upto: int | None = None
                       ) -> list[LedgerEntry]:
        stored = self.recorder.select_events(self.ledger_id, gt=after, lte=upto, limit=limit)
        return [self.mapper.to_domain_event(s) for s in stored]

    def iter_ledger(self, batch: int = 1000, upto: int | None = None) -> Iterator[LedgerEntry]:
        after = 0
        while True:
            entries = self.ledger_entries(after=after, limit=batch, upto=upto)
            yield from entries
            if len(entries) < batch:
                return
            after = entries[-1].position

    def entry_at(self, position: int) -> LedgerEntry | None:
        entries = self.ledger_entries(after=position - 1, limit=1)
        return entries[0] if entries and entries[0].position == position else None

    def verify_ledger(self) -> Verification:
        """Recompute the chain from the stored rows; an edited, removed or reordered row names its position.

        The chain alone cannot show that its newest entries were removed, so every recorded event
        must also still have its ledger entry: an orphan means the ledger was cut short.
        """
        referenced: set[tuple[UUID, int]] = set()
        result = verify_records(self._stored_ledger_records(referenced))
        if result.ok and self._has_orphaned_event(referenced):
            return Verification(False, result.checked, result.checked + 1,
                                "a recorded event has no ledger entry: entries after the head were removed",
                                result.head_hash)
        return result

    def _has_orphaned_event(self, referenced: set[tuple[UUID, int]]) -> bool:
        ledger_topic = f"{LedgerEntry.__module__}:{LedgerEntry.__qualname__}"
        start = 1
        while True:
            notifications = self.recorder.select_notifications(start=start, limit=1000)
            for n in notifications:
                if n.topic == ledger_topic or n.topic.rsplit(".", 1)[-1] in UNLEDGERED_EVENTS:
                    continue
                if (n.originator_id, n.originator_version) not in referenced:
                    return True
            if len(notifications) < 1000:
                return False
            start = notifications[-1].id + 1

    def _stored_ledger_records(self, referenced: set[tuple[UUID, int]]):
        expected = 0
        after = 0
        while True:
            rows = self.recorder.select_events(self.ledger_id, gt=after, limit=1000)
            for row in rows:
                expected += 1
                if row.originator_version != expected:
                    # A missing row: the chain breaks at the first position that is not there.
                    yield expected, None, None, None
                    return
                try:
                    entry = self.mapper.to_domain_event(row)
                    referenced.add((entry.aggregate_id, entry.aggregate_version))
                    yield expected, entry.canonical, entry.prev_hash, entry.hash
                except Exception:  # a row that no longer decodes has been tampered with
                    yield expected, None, None, None
                    return
            if len(rows) < 1000:
                return
            after = rows[-1].originator_version


class IdempotencyKeyReusedError(DomainError):
    code = "idempotency_key_reused"
