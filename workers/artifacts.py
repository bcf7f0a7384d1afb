"""Report artifacts on disk: one folder per tenant, a manifest per report, files written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

EXTENSIONS = {"pdf": "pdf", "html": "html", "csv": "zip", "jsonl": "jsonl"}
MEDIA_TYPES = {"pdf": "application/pdf", "html": "text/html", "csv": "application/zip",
               "jsonl": "application/x-ndjson"}


def report_id(tenant: str, request: dict) -> str:
    """The same request on the same ledger position is the same report: its id derives from both."""
    canonical = json.dumps({"tenant": tenant, **request}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class ArtifactStore:
    """Artifacts under <data dir>/artifacts/<tenant>/: <id>.json (manifest) and <id>.<ext> (the file)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, tenant: str) -> Path:
        return self.root / tenant

    def manifest(self, tenant: str, rid: str) -> dict | None:
        if not rid.isalnum():
            return None
        try:
            return json.loads((self._dir(tenant) / f"{rid}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def save_manifest(self, tenant: str, rid: str, manifest: dict) -> None:
        _atomic_write(self._dir(tenant) / f"{rid}.json",
                      json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1).encode())

    def update(self, tenant: str, rid: str, **changes) -> dict:
        manifest = {**(self.manifest(tenant, rid) or {}), **changes}
        self.save_manifest(tenant, rid, manifest)
        return manifest

    def remove_manifest(self, tenant: str, rid: str) -> None:
        (self._dir(tenant) / f"{rid}.json").unlink(missing_ok=True)

    def file_path(self, tenant: str, rid: str, fmt: str) -> Path:
        return self._dir(tenant) / f"{rid}.{EXTENSIONS[fmt]}"

    def write_file(self, tenant: str, rid: str, fmt: str, data: bytes) -> str:
        """Write the artifact once; a retried job that built the same bytes leaves the file as it was."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.file_path(tenant, rid, fmt)
        if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == digest:
            return digest
        _atomic_write(path, data)
        return digest
