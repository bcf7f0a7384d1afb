"""The ledger: gap-free positions and a hash chain over every recorded event (docs/api.md, "The ledger format")."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, is_dataclass
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import DomainEvent

GENESIS_HASH = "0" * 64
FORMAT = "styrkedja-ledger/1"


@dataclass(frozen=True)
class LedgerEntry(DomainEvent):
    """One position of a tenant's ledger; its originator version is the position."""

    canonical: str
    prev_hash: str
    hash: str
    # Where the recorded event itself is stored (for retraction); not part of the hashed content.
    aggregate_id: UUID
    aggregate_version: int

    @property
    def position(self) -> int:
        return self.originator_version

    def as_record(self) -> dict:
        record = json.loads(self.canonical)
        record["prev_hash"] = self.prev_hash
        record["hash"] = self.hash
        return record


def canonical_json(obj: dict) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256((prev_hash + "\n" + canonical).encode("utf-8")).hexdigest()


def to_plain(value):
    """Turn event attribute values into the JSON the ledger carries: dates as ISO, money as integers."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if hasattr(value, "as_dict"):
        return to_plain(value.as_dict())
    if is_dataclass(value):
        return {f.name: to_plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(v) for v in value]
    raise TypeError(f"cannot put {type(value).__name__} into the ledger")


# --- event ids: a tenant prefix and the position, so an id alone finds its entry ------------


def _tenant_prefix(tenant: str) -> bytes:
    return hashlib.sha256(f"styrkedja/{tenant}".encode()).digest()[:8]


def event_id(tenant: str, position: int) -> str:
    raw = bytearray(_tenant_prefix(tenant) + position.to_bytes(8, "big"))
    raw[6] = (raw[6] & 0x0F) | 0x80  # UUID version 8 (custom)
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return str(uuid.UUID(bytes=bytes(raw)))


def position_of(tenant: str, event_id_text: str) -> int | None:
    """The position an event id names in this tenant's ledger, or None if it is not one of its ids."""
    try:
        raw = uuid.UUID(event_id_text).bytes
    except (ValueError, AttributeError, TypeError):
        return None
    prefix = bytearray(_tenant_prefix(tenant))
    prefix[6] = (prefix[6] & 0x0F) | 0x80
    if raw[:8] != bytes(prefix):
        return None
    position = int.from_bytes(raw[8:], "big") & ((1 << 62) - 1)
    return position if event_id(tenant, position) == event_id_text.lower() else None


# --- verification, shared by the store check, the CLI and the export check -------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_bad_position: int | None
    reason: str | None = None
    head_hash: str = GENESIS_HASH

    def as_dict(self) -> dict:
        return {"ok": self.ok, "checked": self.checked, "first_bad_position": self.first_bad_position}


def verify_records(records: Iterable[tuple[int, str | None, str | None, str | None]]) -> Verification:
    """Check (expected position, canonical, prev_hash, hash) tuples in order.

    A record that could not be read has canonical None. Any break names the first bad position.
    """
    prev = GENESIS_HASH
    checked = 0
    for expected, canonical, prev_hash, hash_ in records:
        bad = _check_one(expected, canonical, prev_hash, hash_, prev)
        if bad:
            return Verification(False, checked, expected, bad, prev)
        prev = hash_
        checked += 1
    return Verification(True, checked, None, None, prev)


def _check_one(expected: int, canonical: str | None, prev_hash, hash_, prev: str) -> str | None:
    if canonical is None:
        return "the entry cannot be read"
    try:
        obj = json.loads(canonical)
    except ValueError:
        return "the entry is not valid JSON"
    if not isinstance(obj, dict) or obj.get("position") != expected:
        return "the position is out of sequence"
    if prev_hash != prev:
        return "prev_hash does not match the previous entry"
    if chain_hash(prev, canonical) != hash_:
        return "the hash does not match the content"
    return None


def records_from_export(lines: Iterable[str]) -> Iterator[tuple[int, str | None, str | None, str | None]]:
    """Turn an export's event lines (header already read) into records for verify_records."""
    for expected, line in enumerate(lines, start=1):
        try:
            obj = json.loads(line)
            prev_hash = obj.pop("prev_hash")
            hash_ = obj.pop("hash")
        except (ValueError, KeyError, AttributeError):
            yield expected, None, None, None
            continue
        yield expected, canonical_json(obj), prev_hash, hash_


def verify_export(lines: Iterable[str]) -> Verification:
    """Verify an export file's lines: the header, then every event, then that the header's head matches."""
    iterator = iter(lines)
    try:
        header = json.loads(next(iterator))
    except (StopIteration, ValueError):
        return Verification(False, 0, 1, "the export has no header line")
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return Verification(False, 0, 1, f"the header does not name the format {FORMAT}")
    result = verify_records(records_from_export(line for line in iterator if line.strip()))
    if not result.ok:
        return result
    if result.checked != header.get("head_position") or result.head_hash != header.get("head_hash"):
        return Verification(False, result.checked, result.checked + 1, "the export ends before its stated head")
    return result
