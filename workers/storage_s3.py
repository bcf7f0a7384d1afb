"""Report artifacts in S3-compatible object storage (AWS S3, MinIO, Ceph RGW...), named as on disk.

Keys are <prefix>/<tenant>/<id>.json (the manifest) and <prefix>/<tenant>/<id>.<ext> (the file). The file is
put with If-None-Match: * so a job that runs twice stores one object; its sha256 travels as object metadata
and as the S3 checksum, which the server verifies on upload. Credentials, region and endpoint come from
boto3's usual sources (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL...).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from workers.artifacts import EXTENSIONS, MEDIA_TYPES
from workers.storage import ArtifactMissing, ArtifactStorage, StoredFile, StoreUnavailable, valid_id

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError as missing:  # pragma: no cover - depends on the install
    raise ImportError("STYRKEDJA_ARTIFACT_STORE=s3://... needs boto3: pip install 'styrkedja[s3]'") from missing

NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
ALREADY_THERE = {"PreconditionFailed", "412"}
# A concurrent conditional put of the same key: S3 asks the loser to try again.
CONFLICT = {"ConditionalRequestConflict", "409"}
# Servers without conditional writes (older MinIO, some gateways): look before putting instead.
NO_CONDITIONS = {"NotImplemented", "501"}
# Short timeouts and few retries: a web request waiting on a dead store answers 503 within seconds.
CLIENT_CONFIG = dict(connect_timeout=2, read_timeout=15, retries={"max_attempts": 3, "mode": "standard"})


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3ArtifactStore(ArtifactStorage):
    """Artifacts in one bucket under a prefix; every failure to reach it is StoreUnavailable."""

    def __init__(self, bucket: str, prefix: str = "") -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = None
        self._client_pid = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3ArtifactStore(s3://{self.bucket}/{self.prefix})"

    @property
    def client(self):
        """One client per process: RQ forks a work horse per job, and a client must not cross a fork."""
        with self._lock:
            if self._client is None or self._client_pid != os.getpid():
                endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
                # MinIO and most self-hosted servers answer on one host name: address the bucket in the path.
                style = {"addressing_style": "path"} if endpoint else {}
                self._client = boto3.session.Session().client(
                    "s3", endpoint_url=endpoint or None, config=Config(s3=style, **CLIENT_CONFIG))
                self._client_pid = os.getpid()
            return self._client

    def key(self, tenant: str, name: str) -> str:
        return f"{self.prefix}/{tenant}/{name}" if self.prefix else f"{tenant}/{name}"

    def _call(self, operation: str, **kwargs):
        """One S3 call; unreachable, throttled, refused or misconfigured become StoreUnavailable."""
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as error:
            code = _code(error)
            if code in NOT_FOUND or code in ALREADY_THERE or code in CONFLICT or code in NO_CONDITIONS:
                raise
            raise StoreUnavailable(f"artifact store s3://{self.bucket}: {operation} failed: {code}") from error
        except BotoCoreError as error:
            raise StoreUnavailable(f"artifact store s3://{self.bucket} unreachable: {error}") from error

    def check(self) -> None:
        # The bucket itself: a missing one (never created, a typo in the setting) failed only at the first report.
        self._call("head_bucket")

    # --- manifests --------------------------------------------------------------------------------

    def manifest(self, tenant: str, rid: str) -> dict | None:
        if not valid_id(rid):
            return None
        try:
            answer = self._call("get_object", Key=self.key(tenant, f"{rid}.json"))
        except ClientError as error:
            if _code(error) in NOT_FOUND:
                return None
            raise StoreUnavailable(f"artifact store s3://{self.bucket}: {_code(error)}") from error
        try:
            return json.loads(answer["Body"].read().decode("utf-8"))
        except BotoCoreError as error:  # the connection broke mid-body
            raise StoreUnavailable(f"artifact store s3://{self.bucket}: {error}") from error

    def save_manifest(self, tenant: str, rid: str, manifest: dict) -> None:
        body = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=1).encode()
        self._call("put_object", Key=self.key(tenant, f"{rid}.json"), Body=body,
                   ContentType="application/json")

    def remove_manifest(self, tenant: str, rid: str) -> None:
        self._call("delete_object", Key=self.key(tenant, f"{rid}.json"))

    def list_manifests(self, tenant: str) -> list[tuple[str, dict, dt.datetime]]:
        folder = self.key(tenant, "")
        listed: list[tuple[str, dt.datetime]] = []
        token = None
        while True:
            page = self._call("list_objects_v2", Prefix=folder,
                              **({"ContinuationToken": token} if token else {}))
            for item in page.get("Contents", []):
                name = item["Key"][len(folder):]
                if name.endswith(".json") and "/" not in name:
                    listed.append((name[:-len(".json")], item["LastModified"]))
            if not page.get("IsTruncated"):
                break
            token = page["NextContinuationToken"]
        if not listed:
            return []
        # One GET per manifest; a few at a time, as a tenant's report list asks for all of them.
        with ThreadPoolExecutor(max_workers=min(8, len(listed))) as pool:
            manifests = list(pool.map(lambda found: self.manifest(tenant, found[0]), listed))
        return [(rid, manifest, changed) for (rid, changed), manifest in zip(listed, manifests, strict=True)
                if manifest is not None]

    # --- files ------------------------------------------------------------------------------------

    def write_file(self, tenant: str, rid: str, fmt: str, data: bytes) -> str:
        """Put once: when the key is there with the same sha256 it is left as it is (no new version, no rewrite)."""
        digest = hashlib.sha256(data).hexdigest()
        key = self.key(tenant, f"{rid}.{EXTENSIONS[fmt]}")
        put = dict(Key=key, Body=data, ContentType=MEDIA_TYPES[fmt], Metadata={"sha256": digest},
                   ChecksumSHA256=base64.b64encode(bytes.fromhex(digest)).decode())
        for _attempt in range(3):
            try:
                self._call("put_object", IfNoneMatch="*", **put)
                return digest
            except ClientError as error:
                if _code(error) in CONFLICT:
                    continue
                if _code(error) not in ALREADY_THERE and _code(error) not in NO_CONDITIONS:
                    raise StoreUnavailable(f"artifact store s3://{self.bucket}: {_code(error)}") from error
            stored = self._head(key)
            if stored is not None and stored.get("Metadata", {}).get("sha256") == digest:
                return digest
            # Other bytes under this report's key (a build by an older renderer): replace them, as on disk.
            self._call("put_object", **put)
            return digest
        raise StoreUnavailable(f"artifact store s3://{self.bucket}: {key} kept conflicting")

    def _head(self, key: str) -> dict | None:
        try:
            return self._call("head_object", Key=key)
        except ClientError as error:
            if _code(error) in NOT_FOUND:
                return None
            raise StoreUnavailable(f"artifact store s3://{self.bucket}: {_code(error)}") from error

    def has_file(self, tenant: str, rid: str, fmt: str) -> bool:
        return self._head(self.key(tenant, f"{rid}.{EXTENSIONS[fmt]}")) is not None

    def open_file(self, tenant: str, rid: str, fmt: str) -> StoredFile:
        key = self.key(tenant, f"{rid}.{EXTENSIONS[fmt]}")
        try:
            answer = self._call("get_object", Key=key)
        except ClientError as error:
            if _code(error) in NOT_FOUND:
                raise ArtifactMissing(key) from None
            raise StoreUnavailable(f"artifact store s3://{self.bucket}: {_code(error)}") from error
        return StoredFile(size=answer["ContentLength"], last_modified=answer.get("LastModified"),
                          stream=answer["Body"])
