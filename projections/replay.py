"""Offline replay: the state document from a ledger export alone, with no database and no server."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from domain.ledger import Verification, verify_export
from projections.facts import facts_of, retractions_in
from projections.queries import utc_text
from projections.state import assemble, in_force


class BrokenExportError(ValueError):
    def __init__(self, verification: Verification):
        super().__init__(f"the export's chain breaks at position {verification.first_bad_position}: "
                         f"{verification.reason}")
        self.verification = verification


def read_export(lines: Iterable[str]) -> tuple[dict, list[dict]]:
    """Verify an export's chain, then return its header and records; a broken export is refused."""
    lines = [line for line in lines if line.strip()]
    verification = verify_export(lines)
    if not verification.ok:
        raise BrokenExportError(verification)
    header = json.loads(lines[0])
    records = [json.loads(line) for line in lines[1:]]
    for record in records:
        record.pop("prev_hash", None)
        record.pop("hash", None)
    return header, records


def replay_state(header: dict, records: list[dict], as_of: dt.date, known_at: dt.datetime | None) -> dict:
    """The same document GET /state answers, folded with the same code the projections use."""
    known = utc_text(known_at) if known_at else None
    upto = max((r["position"] for r in records if known is None or r["recorded_at"] <= known), default=0)
    facts = [fact for record in records for fact in facts_of(record)]
    live = in_force(facts, as_of, upto, retractions_in(records))
    live = {key: group for key, group in live.items() if group[0].key.split("|", 1)[0] in _state_kinds()}
    return {"tenant": header["tenant"], "as_of": as_of.isoformat(), "known_at": known, "position": upto,
            **assemble(live)}


def _state_kinds():
    from projections.facts import STATE_KINDS

    return STATE_KINDS
