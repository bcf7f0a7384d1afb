"""Where report artifacts live: the interface both backends keep, its errors, and the choice by configuration."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

STORE_VARIABLE = "STYRKEDJA_ARTIFACT_STORE"


class StoreUnavailable(ConnectionError):
    """The artifact store cannot be reached or refuses us: answered 503, and a job raising it is retried by RQ.

    A ConnectionError, so the web's table of backing-service errors answers it without knowing this module.
    """


class ArtifactMissing(LookupError):
    """The manifest says finished but the file is not in the store (deleted or lost)."""


@dataclass(frozen=True)
class StoredFile:
    """An artifact ready to stream: a path on disk, or an open stream from object storage."""

    size: int
    last_modified: dt.datetime | None
    path: Path | None = None
    stream: BinaryIO | None = None

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()


class ArtifactStorage(ABC):
    """Manifests (<tenant>/<id>.json) and files (<tenant>/<id>.<ext>), the same names in every backend."""

    @abstractmethod
    def manifest(self, tenant: str, rid: str) -> dict | None:
        """The manifest, or None when there is none (or the id cannot be one)."""

    @abstractmethod
    def save_manifest(self, tenant: str, rid: str, manifest: dict) -> None:
        """Replace the manifest as a whole; readers never see half of one."""

    @abstractmethod
    def remove_manifest(self, tenant: str, rid: str) -> None:
        """Forget the manifest; no error when there is none."""

    @abstractmethod
    def write_file(self, tenant: str, rid: str, fmt: str, data: bytes) -> str:
        """Store the artifact once and answer its sha256; the same bytes again leave the stored one untouched."""

    @abstractmethod
    def open_file(self, tenant: str, rid: str, fmt: str) -> StoredFile:
        """The stored artifact, ready to stream; ArtifactMissing when it is not there."""

    @abstractmethod
    def has_file(self, tenant: str, rid: str, fmt: str) -> bool:
        """Whether the artifact is stored."""

    @abstractmethod
    def list_manifests(self, tenant: str) -> list[tuple[str, dict, dt.datetime]]:
        """Every manifest of the tenant with the time it last changed, in no particular order."""

    @abstractmethod
    def check(self) -> None:
        """Raise unless the store can be used now (for /readyz): reachable, and there."""

    def update(self, tenant: str, rid: str, **changes) -> dict:
        manifest = {**(self.manifest(tenant, rid) or {}), **changes}
        self.save_manifest(tenant, rid, manifest)
        return manifest


def valid_id(rid: str) -> bool:
    """Report ids are hex digests; anything else (a path, a dot) cannot name an artifact."""
    return rid.isascii() and rid.isalnum()


def artifact_store_from(data_dir: Path, url: str | None) -> ArtifactStorage:
    """The filesystem under <data dir>/artifacts when `url` is empty, else object storage at s3://bucket[/prefix]."""
    if not url or url.strip() in ("", "file"):
        from workers.artifacts import ArtifactStore

        return ArtifactStore(Path(data_dir) / "artifacts")
    url = url.strip()
    if not url.startswith("s3://") or not url[len("s3://"):].split("/", 1)[0]:
        raise ValueError(f"{STORE_VARIABLE} must be s3://bucket[/prefix] or unset (the data directory), "
                         f"not {url!r}")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    from workers.storage_s3 import S3ArtifactStore

    return S3ArtifactStore(bucket, prefix.strip("/"))
