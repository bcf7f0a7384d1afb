"""The ledger export: a header line, then every event in the ledger format, one JSON object per line."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

from domain.application import Governance
from domain.ledger import FORMAT, GENESIS_HASH
from domain.platform import Tenant


def export_lines(app: Governance, upto: int | None = None, exported_at: dt.datetime | None = None,
                 about: Tenant | None = None) -> Iterator[str]:
    """Lines of an export up to a position (default: the head). Built twice at one position, identical
    but for exported_at, which the caller fixes to make the bytes reproducible.

    With `about`, the header also names the municipality and its settings, so `styrkedja restore`
    needs nothing but the file (they are not part of the chain)."""
    head_position, head_hash, _ = app.ledger_head()
    if upto is not None and upto < head_position:
        entry = app.entry_at(upto) if upto > 0 else None
        head_position, head_hash = upto, entry.hash if entry else GENESIS_HASH
    moment = exported_at or dt.datetime.now(dt.UTC)
    header = {"format": FORMAT, "tenant": app.tenant, "exported_at": moment.isoformat(timespec="seconds"),
              "head_position": head_position, "head_hash": head_hash}
    if about is not None:
        header.update(name=about.name, municipality_code=about.municipality_code, settings=about.settings)
    yield json.dumps(header, ensure_ascii=False, sort_keys=True)
    for entry in app.iter_ledger(upto=head_position):
        yield json.dumps(entry.as_record(), ensure_ascii=False, sort_keys=True)
