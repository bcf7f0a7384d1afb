"""Report artifacts on disk and in S3-compatible object storage: the same tests, the same bytes, the same answers.

Object storage is moto's standalone S3 server on a free loopback port (real HTTP, real boto3 underneath), with
a fresh versioned bucket per test so that every write of a key is visible as a version.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from artifact_support import (
    SLUG,
    Auditor,
    Backend,
    close,
    free_port,
    new_bucket,
    open_app,
    point_at_s3,
    provision_demo,
)
from moto.server import ThreadedMotoServer

from workers.requests import recent_reports
from workers.storage import STORE_VARIABLE, ArtifactMissing, StoreUnavailable, artifact_store_from

ROOT = Path(__file__).resolve().parents[2]
STYRKEDJA = Path(sys.executable).with_name("styrkedja")

REQUESTS: dict[str, dict] = {
    "discharge_basis-pdf": {"kind": "discharge_basis", "body": "BUN", "year": 2023, "format": "pdf"},
    "discharge_basis-html": {"kind": "discharge_basis", "body": "BUN", "year": 2023, "format": "html"},
    "annual-csv": {"kind": "annual", "year": 2023, "format": "csv"},
    "ledger_export-jsonl": {"kind": "ledger_export", "format": "jsonl"},
}
EXT = {"pdf": "pdf", "html": "html", "csv": "zip", "jsonl": "jsonl"}
CONTENT_TYPES = {"pdf": "application/pdf", "html": "text/html; charset=utf-8", "csv": "application/zip",
                 "jsonl": "application/x-ndjson"}


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["filesystem", "s3"])
def backend(request, tmp_path, monkeypatch) -> Backend:
    data_dir = tmp_path / "data"
    if request.param == "filesystem":
        return Backend("filesystem", None, data_dir)
    endpoint = request.getfixturevalue("s3_endpoint")
    point_at_s3(monkeypatch, endpoint)
    client, bucket = new_bucket(endpoint)
    return Backend("s3", f"s3://{bucket}/styrkedja/artifacts/", data_dir, client, bucket)


@pytest.fixture
def dead_s3(tmp_path, monkeypatch) -> Backend:
    """Object storage configured at a port where nothing listens."""
    point_at_s3(monkeypatch, f"http://127.0.0.1:{free_port()}")
    return Backend("s3-down", "s3://styrkedja-down/artifacts", tmp_path / "data")


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    """A closed data directory with the demo tenant, ready to copy; the admin token and the auditor's."""
    data = tmp_path_factory.mktemp("artifacts-demo") / "data"
    token = "artifacts-admin-" + secrets.token_hex(8)
    flask_app = open_app(data, token)
    try:
        tokens = provision_demo(flask_app, token)
    finally:
        close(flask_app)
    return data, token, tokens["auditor"]


@pytest.fixture(scope="module")
def on_disk(demo_data, tmp_path_factory) -> dict[str, tuple[str, bytes]]:
    """Every request built on the data directory (the default, as before object storage): label -> (id, bytes)."""
    source, token, auditor_token = demo_data
    data = tmp_path_factory.mktemp("on-disk") / "data"
    shutil.copytree(source, data)
    flask_app = open_app(data, token)
    try:
        auditor = Auditor(flask_app, auditor_token)
        ids = {label: auditor.request(body) for label, body in REQUESTS.items()}
        built = {}
        for label, rid in ids.items():
            auditor.finished(rid)
            built[label] = (rid, auditor.download(rid).get_data())
        return built
    finally:
        close(flask_app)


def store_of(backend: Backend):
    return artifact_store_from(backend.data_dir, backend.url)


def demo_copy(demo_data, backend: Backend) -> Path:
    shutil.copytree(demo_data[0], backend.data_dir)
    return backend.data_dir


# --- the store itself ---------------------------------------------------------------------------


def test_an_artifact_written_twice_is_stored_once_and_left_untouched_the_second_time(backend):
    store, data = store_of(backend), b"%PDF-1.7 the same bytes every time"
    digest = store.write_file("kommun", "a1b2c3", "pdf", data)
    assert digest == hashlib.sha256(data).hexdigest()
    first = backend.writes("kommun", "a1b2c3.pdf")
    assert store.write_file("kommun", "a1b2c3", "pdf", data) == digest
    assert backend.writes("kommun", "a1b2c3.pdf") == first
    assert backend.names("kommun") == ["a1b2c3.pdf"]
    stored = store.open_file("kommun", "a1b2c3", "pdf")
    try:
        assert stored.size == len(data)
        assert (stored.path.read_bytes() if stored.path else stored.stream.read()) == data
    finally:
        stored.close()


def test_other_bytes_under_the_same_report_replace_the_stored_file(backend):
    store = store_of(backend)
    store.write_file("kommun", "a1b2c3", "html", b"<html>old renderer</html>")
    digest = store.write_file("kommun", "a1b2c3", "html", b"<html>new renderer</html>")
    stored = store.open_file("kommun", "a1b2c3", "html")
    try:
        data = stored.path.read_bytes() if stored.path else stored.stream.read()
    finally:
        stored.close()
    assert data == b"<html>new renderer</html>"
    assert digest == hashlib.sha256(data).hexdigest()


def test_a_manifest_is_saved_read_updated_listed_and_removed(backend):
    store = store_of(backend)
    assert store.manifest("kommun", "abc123") is None
    store.save_manifest("kommun", "abc123", {"id": "abc123", "status": "queued", "kind": "annual",
                                            "title": "Årsredovisning"})
    assert store.update("kommun", "abc123", status="finished", progress=100)["kind"] == "annual"
    assert store.manifest("kommun", "abc123") == {"id": "abc123", "status": "finished", "progress": 100,
                                                  "kind": "annual", "title": "Årsredovisning"}
    store.save_manifest("grannkommun", "def456", {"id": "def456", "status": "queued"})
    [(rid, manifest, changed)] = store.list_manifests("kommun")
    assert (rid, manifest["status"]) == ("abc123", "finished")
    assert changed.tzinfo is not None
    store.remove_manifest("kommun", "abc123")
    store.remove_manifest("kommun", "abc123")
    assert store.manifest("kommun", "abc123") is None
    assert store.list_manifests("kommun") == []
    assert [rid for rid, _, _ in store.list_manifests("grannkommun")] == ["def456"]


@pytest.mark.parametrize("rid", ["../platform", "a.b", "", "åäö"])
def test_a_string_that_is_not_a_report_id_names_no_manifest(backend, rid):
    assert store_of(backend).manifest("kommun", rid) is None


def test_a_file_that_is_not_stored_is_reported_missing(backend):
    store = store_of(backend)
    assert not store.has_file("kommun", "abc123", "pdf")
    with pytest.raises(ArtifactMissing):
        store.open_file("kommun", "abc123", "pdf")


def test_an_unreachable_object_store_is_a_service_error_within_seconds(dead_s3):
    store = store_of(dead_s3)
    for call in (lambda: store.manifest("kommun", "abc123"),
                 lambda: store.write_file("kommun", "abc123", "pdf", b"%PDF"),
                 lambda: store.list_manifests("kommun")):
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as raised:
            call()
        assert isinstance(raised.value, ConnectionError)  # the web answers every ConnectionError with 503
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("setting", ["ftp://host/x", "s3://", "/var/artifacts", "s3:/bucket"])
def test_a_store_setting_that_is_not_an_s3_url_is_refused_naming_the_variable(tmp_path, setting):
    with pytest.raises(ValueError, match=STORE_VARIABLE):
        artifact_store_from(tmp_path, setting)


def test_no_store_setting_keeps_the_data_directory_layout(tmp_path):
    store = artifact_store_from(tmp_path, None)
    store.write_file("kommun", "abc123", "csv", b"PK")
    store.save_manifest("kommun", "abc123", {"status": "finished"})
    assert sorted(p.name for p in (tmp_path / "artifacts" / "kommun").iterdir()) == ["abc123.json", "abc123.zip"]


# --- reports through the web app ----------------------------------------------------------------


def test_every_report_built_on_either_store_is_byte_identical_to_the_build_on_disk_and_served_alike(
        demo_data, on_disk, backend):
    flask_app = open_app(demo_copy(demo_data, backend), demo_data[1], backend)
    try:
        auditor = Auditor(flask_app, demo_data[2])
        ids = {label: auditor.request(body) for label, body in REQUESTS.items()}
        for label, rid in ids.items():
            status = auditor.finished(rid)
            answer = auditor.download(rid)
            fmt = REQUESTS[label]["format"]
            assert (rid, answer.get_data()) == on_disk[label], label
            assert answer.headers["Content-Type"] == CONTENT_TYPES[fmt]
            position = status["based_on"]["position"]
            # What the report covers is in the name: two bodies' or years' reports are not saved over each other.
            covers = "".join(f"-{REQUESTS[label][k]}" for k in ("body", "year", "period") if k in REQUESTS[label])
            assert answer.headers["Content-Disposition"] == (
                f"attachment; filename={SLUG}-{REQUESTS[label]['kind']}{covers}-{position}.{EXT[fmt]}")
            assert answer.headers["ETag"] == f'"{status["sha256"]}"'
        expected = sorted(name for rid, fmt in ((ids[lb], REQUESTS[lb]["format"]) for lb in REQUESTS)
                          for name in (f"{rid}.json", f"{rid}.{EXT[fmt]}"))
        assert backend.names(SLUG) == expected  # one manifest and one file each, no temporaries
        listed = recent_reports(flask_app.extensions["styrkedja_reports"]["store"], SLUG)
        assert sorted(m["id"] for m in listed) == sorted(ids.values())
        assert {m["status"] for m in listed} == {"finished"}
    finally:
        close(flask_app)


def test_the_same_request_again_leaves_the_stored_file_untouched_and_a_lost_file_is_rebuilt_to_the_byte(
        demo_data, on_disk, backend):
    label = "discharge_basis-pdf"
    flask_app = open_app(demo_copy(demo_data, backend), demo_data[1], backend)
    try:
        auditor = Auditor(flask_app, demo_data[2])
        rid = auditor.request(REQUESTS[label])
        first = auditor.finished(rid)
        written = backend.writes(SLUG, f"{rid}.pdf")

        assert auditor.request(REQUESTS[label]) == rid
        assert auditor.finished(rid) == first
        assert backend.writes(SLUG, f"{rid}.pdf") == written

        backend.delete(SLUG, f"{rid}.pdf")
        missing = auditor.get(first["file_url"])
        assert missing.status_code == 404
        assert missing.get_json()["error"]["code"] == "not_found"
        assert "missing" in missing.get_json()["error"]["message"]

        assert auditor.request(REQUESTS[label]) == rid
        again = auditor.finished(rid)
        assert again["sha256"] == first["sha256"] == hashlib.sha256(on_disk[label][1]).hexdigest()
        assert auditor.download(rid).get_data() == on_disk[label][1]
    finally:
        close(flask_app)


def test_with_the_object_store_down_reports_answer_503_and_commands_are_still_recorded(demo_data, dead_s3):
    flask_app = open_app(demo_copy(demo_data, dead_s3), demo_data[1], dead_s3)
    try:
        auditor = Auditor(flask_app, demo_data[2])
        before = auditor.get("/ledger").get_json()["head_position"]
        for answer in (auditor.post(REQUESTS["annual-csv"]), auditor.get("/reports/" + "a" * 32),
                       auditor.get("/reports/" + "a" * 32 + "/file")):
            assert answer.status_code == 503, answer.get_data()[:300]
            assert answer.get_json()["error"]["code"] == "service_unavailable"
        assert auditor.get("/ledger").get_json()["head_position"] == before
        assert auditor.get("/ledger/verify").status_code == 200
    finally:
        close(flask_app)


# --- a real RQ worker writing to object storage -------------------------------------------------


def worker_env(backend: Backend, redis_url: str, **overrides: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", STORE_VARIABLE)}
    env.update(STYRKEDJA_DATA_DIR=str(backend.data_dir), REDIS_URL=redis_url, **{STORE_VARIABLE: backend.url},
               **overrides)
    return env


def run_worker(env: dict) -> str:
    done = subprocess.run([str(STYRKEDJA), "worker", "--burst"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.mark.redis
def test_a_job_that_cannot_reach_the_object_store_is_retried_by_rq_and_then_stores_one_identical_file(
        demo_data, on_disk, s3_endpoint, tmp_path, monkeypatch, redis_url):
    from redis import Redis
    from rq import Queue
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    from workers.queue import QUEUE_NAME, RETRY_INTERVALS

    point_at_s3(monkeypatch, s3_endpoint)
    client, bucket = new_bucket(s3_endpoint)
    backend = Backend("s3", f"s3://{bucket}/styrkedja/artifacts", tmp_path / "data", client, bucket)
    label = "ledger_export-jsonl"
    flask_app = open_app(demo_copy(demo_data, backend), demo_data[1], backend, redis_url=redis_url)
    try:
        auditor = Auditor(flask_app, demo_data[2])
        rid = auditor.request(REQUESTS[label])
        assert auditor.status(rid)["status"] == "queued"

        # The worker's store is down: the job fails, RQ schedules its retry, nothing half-written is left.
        log = run_worker(worker_env(backend, redis_url, AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}"))
        queue = Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))
        job = Job.fetch(f"report-{SLUG}-{rid}", connection=queue.connection)
        assert job.get_status() == "scheduled", log
        assert job.retries_left == len(RETRY_INTERVALS) - 1
        assert "StoreUnavailable" in log
        assert backend.names(SLUG) == [f"{rid}.json"]
        assert auditor.status(rid)["status"] == "queued"

        # The store is back; the retry is made due now instead of in RETRY_INTERVALS[0] seconds.
        scheduled = ScheduledJobRegistry(queue=queue)
        queue.connection.zadd(scheduled.key, {job.id: time.time() - 1})
        log = run_worker(worker_env(backend, redis_url))
        status = auditor.status(rid)
        assert status["status"] == "finished", (status, log)
        assert backend.names(SLUG) == sorted([f"{rid}.json", f"{rid}.jsonl"])
        assert len(backend.writes(SLUG, f"{rid}.jsonl")) == 1
        assert auditor.download(rid).get_data() == on_disk[label][1]
        stored = client.head_object(Bucket=bucket, Key=backend.key(SLUG, f"{rid}.jsonl"))
        assert stored["Metadata"]["sha256"] == status["sha256"]
        assert stored["ContentType"] == "application/x-ndjson"
        manifest = json.loads(client.get_object(Bucket=bucket, Key=backend.key(SLUG, f"{rid}.json"))["Body"].read())
        assert manifest["sha256"] == status["sha256"] and manifest["status"] == "finished"
    finally:
        close(flask_app)


def test_what_a_killed_writer_left_half_written_is_removed_when_the_next_artifact_is_stored(tmp_path):
    from workers.artifacts import ArtifactStore

    store = ArtifactStore(tmp_path)
    folder = tmp_path / SLUG
    folder.mkdir()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    abandoned = folder / f".tmp-{gone.pid}-abc123"
    being_written = folder / f".tmp-{os.getpid()}-def456"
    old_style = folder / ".tmp-ghi789"
    for path in (abandoned, being_written, old_style):
        path.write_bytes(b"%PDF-1.7 half")
    two_hours_ago = time.time() - 7200
    os.utime(old_style, (two_hours_ago, two_hours_ago))

    store.write_file(SLUG, "a" * 32, "pdf", b"%PDF-1.7 whole")

    assert sorted(p.name for p in folder.iterdir()) == sorted([f"{'a' * 32}.pdf", being_written.name])


def test_readyz_checks_the_bucket_of_object_storage(demo_data, s3_endpoint, monkeypatch, tmp_path):
    # A bucket never created (or misspelt in the setting) passed /readyz and then failed every report request.
    point_at_s3(monkeypatch, s3_endpoint)
    missing = Backend("s3-missing", f"s3://styrkedja-no-such-bucket-{secrets.token_hex(4)}/a", tmp_path / "data")
    flask_app = open_app(demo_copy(demo_data, missing), demo_data[1], missing)
    try:
        answer = flask_app.test_client().get("/readyz")
        assert answer.status_code == 503
        assert answer.get_json()["checks"]["artifacts"]["state"] == "failed"
    finally:
        close(flask_app)
    client, bucket = new_bucket(s3_endpoint)
    there = Backend("s3", f"s3://{bucket}/a", tmp_path / "data2", client, bucket)
    flask_app = open_app(demo_copy(demo_data, there), demo_data[1], there)
    try:
        answer = flask_app.test_client().get("/readyz")
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json()["checks"]["artifacts"]["state"] == "ok"
    finally:
        close(flask_app)
