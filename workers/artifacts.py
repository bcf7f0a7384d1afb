"""Report artifacts on disk (the default store): one folder per tenant, a manifest per report, atomic files."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path

from workers.storage import ArtifactMissing, ArtifactStorage, StoredFile, valid_id

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


class ArtifactStore(ArtifactStorage):
    """Artifacts under <data dir>/artifacts/<tenant>/: <id>.json (manifest) and <id>.<ext> (the file)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, tenant: str) -> Path:
        return self.root / tenant

    def manifest(self, tenant: str, rid: str) -> dict | None:
        if not valid_id(rid):
            return None
        try:
            return json.loads((self._dir(tenant) / f"{rid}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def save_manifest(self, tenant: str, rid: str, manifest: dict) -> None:
        _atomic_write(self._dir(tenant) / f"{rid}.json",
                      json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1).encode())

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

    def open_file(self, tenant: str, rid: str, fmt: str) -> StoredFile:
        path = self.file_path(tenant, rid, fmt)
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise ArtifactMissing(f"{tenant}/{path.name}") from None
        return StoredFile(size=stat.st_size, last_modified=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC),
                          path=path)

    def has_file(self, tenant: str, rid: str, fmt: str) -> bool:
        return self.file_path(tenant, rid, fmt).is_file()

    def list_manifests(self, tenant: str) -> list[tuple[str, dict, dt.datetime]]:
        folder = self._dir(tenant)
        if not folder.is_dir():
            return []
        found = []
        for path in folder.glob("*.json"):
            manifest = self.manifest(tenant, path.stem)
            try:
                changed = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            except FileNotFoundError:  # removed while we listed
                continue
            if manifest is not None:
                found.append((path.stem, manifest, changed))
        return found
