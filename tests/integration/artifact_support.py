"""Artifact stores for tests: the filesystem and a real S3-compatible server (moto's standalone server)."""

from __future__ import annotations

import hashlib
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

from web import create_app
from web.demo import build_demo

PREFIX = "/api/v1"
SLUG = "vanersborg"
S3_PREFIX = "styrkedja/artifacts"
AWS_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE")


def free_port() -> int:
    """A port the kernel just handed out and nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def point_at_s3(monkeypatch, endpoint: str) -> None:
    """boto3's usual variables, exactly as an operator sets them for MinIO and friends."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "styrkedja-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "styrkedja-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)


@dataclass
class Backend:
    """One artifact store under test, with a way to see whether a stored file was written again."""

    name: str
    url: str | None  # STYRKEDJA_ARTIFACT_STORE; None is the data directory
    data_dir: Path
    s3: object | None = None  # a boto3 client on the test bucket
    bucket: str | None = None

    def key(self, tenant: str, name: str) -> str:
        return f"{S3_PREFIX}/{tenant}/{name}"

    def writes(self, tenant: str, name: str) -> tuple:
        """What changes when the stored file is written again: inode and mtime on disk, versions in the bucket."""
        if self.s3 is None:
            stat = (self.data_dir / "artifacts" / tenant / name).stat()
            return (stat.st_ino, stat.st_mtime_ns)
        listed = self.s3.list_object_versions(Bucket=self.bucket, Prefix=self.key(tenant, name))
        return tuple(v["VersionId"] for v in listed.get("Versions", []) if v["Key"] == self.key(tenant, name))

    def names(self, tenant: str) -> list[str]:
        """Every stored name of the tenant (manifests and files, and any temporary left behind)."""
        if self.s3 is None:
            folder = self.data_dir / "artifacts" / tenant
            return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=f"{S3_PREFIX}/{tenant}/")
        return sorted(item["Key"].rsplit("/", 1)[1] for item in listed.get("Contents", []))

    def delete(self, tenant: str, name: str) -> None:
        if self.s3 is None:
            (self.data_dir / "artifacts" / tenant / name).unlink()
        else:
            versions = self.s3.list_object_versions(Bucket=self.bucket, Prefix=self.key(tenant, name))
            for version in versions.get("Versions", []):
                self.s3.delete_object(Bucket=self.bucket, Key=version["Key"], VersionId=version["VersionId"])


def new_bucket(endpoint: str) -> tuple[object, str]:
    """A fresh versioned bucket (versions show every write of a key)."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    bucket = f"styrkedja-{secrets.token_hex(6)}"
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return client, bucket


def open_app(data_dir: Path, admin_token: str, backend: Backend | None = None, redis_url: str | None = None,
             database_url: str | None = None):
    return create_app({"DATA_DIR": str(data_dir), "ADMIN_TOKEN": admin_token, "REDIS_URL": redis_url,
                       "DATABASE_URL": database_url, "ARTIFACT_STORE": backend.url if backend else None})


def close(flask_app) -> None:
    flask_app.extensions["styrkedja_reports"]["queue"].wait_idle()
    flask_app.extensions["styrkedja"].close()


USER_NAMES = {"auditor": "Revisor", "admin": "Administratör"}


def provision_demo(flask_app, admin_token: str, roles: tuple[str, ...] = ("auditor",)) -> dict[str, str]:
    """Vänersborg over the API with the demo recorded (read models caught up) and a user of each role;
    answers their tokens by role."""
    client = flask_app.test_client()
    platform = {"Authorization": f"Bearer {admin_token}"}
    answer = client.post(f"{PREFIX}/tenants", headers=platform,
                         json={"slug": SLUG, "name": "Vänersborgs kommun", "municipality_code": "1487"})
    assert answer.status_code == 201, answer.get_json()
    assert build_demo(flask_app.extensions["styrkedja"].get(SLUG)) > 0
    flask_app.extensions["styrkedja"].views(SLUG).catch_up()  # as the projection runner would have
    tokens = {}
    for role in roles:
        answer = client.post(f"{PREFIX}/t/{SLUG}/users", headers=platform,
                             json={"email": f"{role}@{SLUG}.se", "name": USER_NAMES[role], "role": role, "bodies": []})
        assert answer.status_code == 201, answer.get_json()
        tokens[role] = answer.get_json()["token"]
    return tokens


class Auditor:
    """The demo tenant's auditor over the test client."""

    def __init__(self, flask_app, token: str) -> None:
        self.app = flask_app
        self.client = flask_app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str):
        url = path if path.startswith(PREFIX) else f"{PREFIX}/t/{SLUG}{path}"
        return self.client.get(url, headers=self.headers)

    def post(self, body: dict):
        return self.client.post(f"{PREFIX}/t/{SLUG}/reports", json=body, headers=self.headers)

    def request(self, body: dict) -> str:
        answer = self.post(body)
        assert answer.status_code == 202, answer.get_json()
        return answer.get_json()["id"]

    def status(self, rid: str) -> dict:
        answer = self.get(f"/reports/{rid}")
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def finished(self, rid: str) -> dict:
        self.app.extensions["styrkedja_reports"]["queue"].wait_idle()
        status = self.status(rid)
        assert status["status"] == "finished", status
        return status

    def download(self, rid: str):
        """The file response, checked against the manifest's sha256."""
        status = self.status(rid)
        assert status["status"] == "finished", status
        answer = self.get(status["file_url"])
        assert answer.status_code == 200, answer.get_data()[:300]
        data = answer.get_data()
        assert answer.headers["X-Content-SHA256"] == hashlib.sha256(data).hexdigest() == status["sha256"]
        assert int(answer.headers["Content-Length"]) == len(data)
        return answer

