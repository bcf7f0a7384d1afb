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


# A file is written under a temporary name that names its writer's process, then renamed into place.
TEMPORARY_PREFIX = ".tmp-"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMPORARY_PREFIX}{os.getpid()}-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def remove_abandoned_temporaries(folder: Path) -> list[str]:
    """Remove the temporaries of writers killed mid-write (kill -9 leaves them); a live writer's stay.

    A temporary without a pid in its name (written before names carried one) goes once it is an hour old.
    """
    removed = []
    for path in folder.glob(f"{TEMPORARY_PREFIX}*"):
        pid = path.name[len(TEMPORARY_PREFIX):].split("-", 1)[0]
        try:
            if pid.isdigit():
                if _writer_alive(int(pid)):
                    continue
            elif path.stat().st_mtime > dt.datetime.now().timestamp() - 3600:
                continue
            path.unlink()
        except FileNotFoundError:  # renamed into place or removed meanwhile
            continue
        removed.append(path.name)
    return removed


class ArtifactStore(ArtifactStorage):
    """Artifacts under <data dir>/artifacts/<tenant>/: <id>.json (manifest) and <id>.<ext> (the file)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _dir(self, tenant: str) -> Path:
        return self.root / tenant

    def check(self) -> None:
        # The folder takes a write: a full or read-only disk fails here, not at the next report.
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / f".readyz-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()

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
        # A retried job often follows a killed one: what that one was writing is tidied here.
        remove_abandoned_temporaries(path.parent)
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
