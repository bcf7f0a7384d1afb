"""Report jobs through real RQ workers on real Redis: byte-identical to the embedded build, crash and outage.

The web app enqueues on a Redis database claimed for the test; `styrkedja worker --burst` runs as a subprocess
with the same STYRKEDJA_DATA_DIR and REDIS_URL, exactly as in production. The same requests built in-process
(REDIS_URL unset) on a copy of the data directory give the same report ids and the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from artifact_support import PREFIX, SLUG, close, open_app, provision_demo

from workers.queue import QUEUE_NAME, RETRY_INTERVALS

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
STYRKEDJA = Path(sys.executable).with_name("styrkedja")

REQUESTS: dict[str, dict] = {
    "discharge_basis-pdf": {"kind": "discharge_basis", "body": "BUN", "year": 2023, "format": "pdf"},
    "discharge_basis-html": {"kind": "discharge_basis", "body": "BUN", "year": 2023, "format": "html"},
    "discharge_basis-csv": {"kind": "discharge_basis", "body": "BUN", "year": 2023, "format": "csv"},
    "interim-pdf": {"kind": "interim", "year": 2024, "period": "T1", "format": "pdf"},
    "annual-html": {"kind": "annual", "year": 2023, "format": "html"},
    "annual-csv": {"kind": "annual", "year": 2023, "format": "csv"},
    "ledger_export-jsonl": {"kind": "ledger_export", "format": "jsonl"},
}


# --- helpers ------------------------------------------------------------------------------------


class Caller:
    """A test client speaking as one user of the demo tenant."""

    def __init__(self, flask_app, token: str) -> None:
        self.app = flask_app
        self.client = flask_app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def post(self, path: str, body: dict):
        return self.client.post(f"{PREFIX}/t/{SLUG}{path}", json=body, headers=self.headers)

    def get(self, path: str):
        url = path if path.startswith(PREFIX) else f"{PREFIX}/t/{SLUG}{path}"
        return self.client.get(url, headers=self.headers)

    def request(self, body: dict) -> str:
        answer = self.post("/reports", body)
        assert answer.status_code == 202, answer.get_json()
        return answer.get_json()["id"]

    def status(self, rid: str) -> dict:
        answer = self.get(f"/reports/{rid}")
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def head(self) -> dict:
        return self.get("/ledger").get_json()

    def download(self, rid: str) -> bytes:
        status = self.status(rid)
        assert status["status"] == "finished", status
        answer = self.get(status["file_url"])
        assert answer.status_code == 200
        data = answer.get_data()
        assert answer.headers["X-Content-SHA256"] == hashlib.sha256(data).hexdigest() == status["sha256"]
        return data

    def finished_in_process(self, rid: str) -> dict:
        self.app.extensions["styrkedja_reports"]["queue"].wait_idle()
        status = self.status(rid)
        assert status["status"] == "finished", status
        return status


def worker_env(data_dir: Path, redis_url: str, database_url: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "STYRKEDJA_DATA_DIR")}
    env.update(STYRKEDJA_DATA_DIR=str(data_dir), REDIS_URL=redis_url)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def run_worker(data_dir: Path, redis_url: str, database_url: str | None = None) -> str:
    """`styrkedja worker --burst` until the queue is empty; answers its log."""
    done = subprocess.run([str(STYRKEDJA), "worker", "--burst"], env=worker_env(data_dir, redis_url, database_url),
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def folder(data_dir: Path) -> Path:
    return data_dir / "artifacts" / SLUG


def manifest(data_dir: Path, rid: str) -> dict:
    return json.loads((folder(data_dir) / f"{rid}.json").read_text(encoding="utf-8"))


def files_of(data_dir: Path, rid: str) -> list[str]:
    return sorted(p.name for p in folder(data_dir).iterdir() if p.name.startswith(rid))


def stray_temporaries(data_dir: Path) -> list[str]:
    return sorted(p.name for p in folder(data_dir).iterdir() if p.name.startswith(".tmp-"))


def rq_queue(redis_url: str):
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE_NAME, connection=Redis.from_url(redis_url))


def rq_job(redis_url: str, rid: str):
    from rq.job import Job

    return Job.fetch(f"report-{SLUG}-{rid}", connection=rq_queue(redis_url).connection)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    """A closed data directory with the demo tenant (embedded default), ready to copy, and the tokens."""
    data = tmp_path_factory.mktemp("demo") / "data"
    token = "worker-admin-" + secrets.token_hex(8)
    flask_app = open_app(data, token)
    try:
        tokens = provision_demo(flask_app, token, roles=("admin", "auditor"))
    finally:
        close(flask_app)
    return data, token, tokens


@pytest.fixture(scope="module")
def embedded(demo_data, tmp_path_factory) -> dict[str, tuple[str, bytes]]:
    """Every request built in-process (no Redis) on a copy of the demo data: label -> (report id, bytes)."""
    source, token, tokens = demo_data
    data = tmp_path_factory.mktemp("embedded") / "data"
    shutil.copytree(source, data)
    flask_app = open_app(data, token)
    try:
        auditor = Caller(flask_app, tokens["auditor"])
        ids = {label: auditor.request(body) for label, body in REQUESTS.items()}
        out = {}
        for label, rid in ids.items():
            auditor.finished_in_process(rid)
            out[label] = (rid, auditor.download(rid))
    finally:
        close(flask_app)
    return out


@pytest.fixture
def copy_of_demo(demo_data, tmp_path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(demo_data[0], data)
    return data


# --- every kind through a real worker -----------------------------------------------------------


def test_each_kind_built_by_a_real_rq_worker_is_byte_identical_to_the_embedded_build(
        demo_data, embedded, copy_of_demo, redis_url):
    _, token, tokens = demo_data
    flask_app = open_app(copy_of_demo, token, redis_url=redis_url)
    try:
        auditor = Caller(flask_app, tokens["auditor"])
        head = auditor.head()
        ids = {label: auditor.request(body) for label, body in REQUESTS.items()}
        for label, rid in ids.items():
            status = auditor.status(rid)
            assert (status["status"], status["progress"]) == ("queued", 0), (label, status)
            # docs/api.md: based_on names the position and its hash from the start, not once built.
            assert status["based_on"] == {"position": head["head_position"], "hash": head["head_hash"]}, (label, status)
            assert rq_job(redis_url, rid).get_status() == "queued"
        assert rq_queue(redis_url).count == len(REQUESTS)

        log = run_worker(copy_of_demo, redis_url)

        assert rq_queue(redis_url).count == 0
        for label, rid in ids.items():
            status = auditor.status(rid)
            assert status["status"] == "finished", (label, status, log)
            assert status["progress"] == 100
            assert status["based_on"] == {"position": head["head_position"], "hash": head["head_hash"]}
            assert rq_job(redis_url, rid).get_status() == "finished"
            data = auditor.download(rid)
            ext = {"pdf": "pdf", "html": "html", "csv": "zip", "jsonl": "jsonl"}[REQUESTS[label]["format"]]
            assert files_of(copy_of_demo, rid) == sorted([f"{rid}.json", f"{rid}.{ext}"])
            embedded_id, embedded_bytes = embedded[label]
            assert rid == embedded_id, label
            assert hashlib.sha256(data).hexdigest() == hashlib.sha256(embedded_bytes).hexdigest(), label
        assert stray_temporaries(copy_of_demo) == []

        # Asked again, a built report is answered from its manifest: same id, nothing queued.
        for label, body in REQUESTS.items():
            assert auditor.request(body) == ids[label]
        assert rq_queue(redis_url).count == 0
    finally:
        close(flask_app)


@pytest.mark.postgres
def test_reports_built_by_a_real_worker_on_postgresql_are_byte_identical_to_the_embedded_build(
        clean_pg, redis_url, tmp_path):
    token = "pg-admin-" + secrets.token_hex(8)
    labels = ("discharge_basis-html", "ledger_export-jsonl")
    queued = open_app(tmp_path / "queued", token, redis_url=redis_url, database_url=clean_pg)
    try:
        tokens = provision_demo(queued, token)
        auditor = Caller(queued, tokens["auditor"])
        head = auditor.head()
        ids = {label: auditor.request(REQUESTS[label]) for label in labels}
        assert {auditor.status(rid)["status"] for rid in ids.values()} == {"queued"}
        log = run_worker(tmp_path / "queued", redis_url, database_url=clean_pg)
        from_worker = {}
        for label, rid in ids.items():
            status = auditor.status(rid)
            assert status["status"] == "finished", (label, status, log)
            assert status["based_on"] == {"position": head["head_position"], "hash": head["head_hash"]}
            from_worker[label] = auditor.download(rid)
    finally:
        close(queued)
    in_process = open_app(tmp_path / "in-process", token, database_url=clean_pg)
    try:
        auditor = Caller(in_process, tokens["auditor"])
        for label, rid in ids.items():
            assert auditor.request(REQUESTS[label]) == rid
            auditor.finished_in_process(rid)
            assert hashlib.sha256(auditor.download(rid)).digest() == hashlib.sha256(from_worker[label]).digest()
    finally:
        close(in_process)


# --- a worker killed mid-job --------------------------------------------------------------------


def start_worker(data_dir: Path, redis_url: str) -> subprocess.Popen:
    return subprocess.Popen([str(STYRKEDJA), "worker", "--burst"], env=worker_env(data_dir, redis_url), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until_started(data_dir: Path, rid: str, worker: subprocess.Popen, progress: int = 30) -> dict:
    """Poll the manifest every 20 ms until the job has started and got at least `progress` percent."""
    deadline = time.monotonic() + 60
    while True:
        current = manifest(data_dir, rid)
        if current["status"] == "started" and current["progress"] >= progress:
            return current
        assert current["status"] in ("queued", "started"), current
        assert worker.poll() is None, "the worker ended before the job started"
        assert time.monotonic() < deadline, current
        time.sleep(0.02)


def work_horses(worker: subprocess.Popen) -> list[int]:
    """The worker's forked work horses (RQ puts each in its own process group, so killpg would miss them)."""
    return [int(pid) for pid in Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()]


def test_a_job_of_a_worker_killed_mid_job_is_retried_by_rq_and_leaves_exactly_one_artifact(
        demo_data, embedded, copy_of_demo, redis_url):
    """kill -9 of the worker and its work horse: RQ recovers the job, but only through registry maintenance.

    What RQ 2.12 does: the dead worker's job stays `started` in the StartedJobRegistry until its entry expires
    (heartbeat TTL = min(job_timeout, job_monitoring_interval 30 s) + 60 s = 90 s); a worker started at once
    does not touch it. The next registry maintenance of any worker (at its start, then every 10 minutes)
    moves the expired job through StartedJobRegistry.cleanup, which honours the job's Retry: it is scheduled
    again after RETRY_INTERVALS[0] seconds and a worker's scheduler enqueues it. Here the maintenance pass is
    run at the entry's expiry time instead of waiting 90 s for it.
    """
    from rq.registry import ScheduledJobRegistry, StartedJobRegistry

    _, token, tokens = demo_data
    label = "discharge_basis-pdf"
    flask_app = open_app(copy_of_demo, token, redis_url=redis_url)
    try:
        auditor = Caller(flask_app, tokens["auditor"])
        rid = auditor.request(REQUESTS[label])
        worker = start_worker(copy_of_demo, redis_url)
        try:
            wait_until_started(copy_of_demo, rid, worker)
            horses = work_horses(worker)
            assert len(horses) == 1
            os.kill(worker.pid, signal.SIGKILL)
            for pid in horses:
                os.kill(pid, signal.SIGKILL)
        finally:
            if worker.poll() is None:
                worker.kill()
            worker.wait(timeout=10)
        killed_at = time.time()
        time.sleep(0.3)

        # Abandoned: the manifest and RQ both still say started, and no artifact was written (the kill may
        # have caught a manifest update mid-write: its temporary stays until a job writes again).
        stuck = auditor.status(rid)
        assert stuck["status"] == "started" and stuck["progress"] < 100, stuck
        assert files_of(copy_of_demo, rid) == [f"{rid}.json"]
        job = rq_job(redis_url, rid)
        assert job.get_status() == "started"
        assert job.retries_left == len(RETRY_INTERVALS)

        # A new worker started at once leaves the job alone: its registry entry has not expired yet.
        run_worker(copy_of_demo, redis_url)
        assert auditor.status(rid)["status"] == "started"
        assert files_of(copy_of_demo, rid) == [f"{rid}.json"]
        queue = rq_queue(redis_url)
        started = StartedJobRegistry(queue=queue)
        [(entry, expires_at)] = queue.connection.zrange(started.key, 0, -1, withscores=True)
        assert entry.decode().startswith(f"report-{SLUG}-{rid}:")
        assert killed_at < expires_at <= killed_at + 91

        # The maintenance pass once the entry has expired: RQ retries the job per its Retry.
        started.cleanup(timestamp=expires_at + 1)
        job.refresh()
        assert job.get_status() == "scheduled"
        assert job.retries_left == len(RETRY_INTERVALS) - 1
        scheduled = ScheduledJobRegistry(queue=queue)
        assert scheduled.get_job_ids() == [job.id]
        retry_at = queue.connection.zscore(scheduled.key, job.id)
        assert retry_at == pytest.approx(time.time() + RETRY_INTERVALS[0], abs=3)

        # A worker (its scheduler) enqueues the retry when it is due; the job then finishes.
        time.sleep(max(0.0, retry_at - time.time() + 0.5))
        log = run_worker(copy_of_demo, redis_url)
        status = auditor.status(rid)
        assert status["status"] == "finished", (status, log)
        assert job.get_status(refresh=True) == "finished"
        assert files_of(copy_of_demo, rid) == sorted([f"{rid}.json", f"{rid}.pdf"])
        assert stray_temporaries(copy_of_demo) == []
        data = auditor.download(rid)
        assert status["sha256"] == hashlib.sha256(data).hexdigest()
        assert (rid, hashlib.sha256(data).hexdigest()) == (embedded[label][0],
                                                           hashlib.sha256(embedded[label][1]).hexdigest())
    finally:
        close(flask_app)


def test_a_work_horse_outlives_its_killed_worker_process_and_finishes_the_job(
        demo_data, embedded, copy_of_demo, redis_url):
    """kill -9 of the `styrkedja worker` process alone: RQ's work horse has its own process group and finishes."""
    _, token, tokens = demo_data
    label = "interim-pdf"
    flask_app = open_app(copy_of_demo, token, redis_url=redis_url)
    try:
        auditor = Caller(flask_app, tokens["auditor"])
        rid = auditor.request(REQUESTS[label])
        worker = start_worker(copy_of_demo, redis_url)
        wait_until_started(copy_of_demo, rid, worker, progress=5)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        # The horse writes the manifest, then tells RQ: wait for both.
        job, deadline = rq_job(redis_url, rid), time.monotonic() + 60
        while manifest(copy_of_demo, rid)["status"] != "finished" or job.get_status(refresh=True) != "finished":
            assert time.monotonic() < deadline, (manifest(copy_of_demo, rid), job.get_status())
            time.sleep(0.05)
        assert files_of(copy_of_demo, rid) == sorted([f"{rid}.json", f"{rid}.pdf"])
        assert stray_temporaries(copy_of_demo) == []
        assert hashlib.sha256(auditor.download(rid)).digest() == hashlib.sha256(embedded[label][1]).digest()
    finally:
        close(flask_app)


# --- Redis down ---------------------------------------------------------------------------------


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def down_port():
    """A free port where no Redis listens; the test may start a private, throwaway redis-server on it.

    The shared Redis on 6379 is never stopped. The port is one the kernel just handed out, not a fixed 6390,
    so two test runs at once cannot shut down each other's server.
    """
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    assert not listening(port)
    yield port
    if listening(port):
        subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True, timeout=10)


def start_private_redis(port: int, where: Path) -> None:
    subprocess.run(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", str(where), "--pidfile", str(where / "redis.pid"), "--logfile", str(where / "redis.log"),
                    "--daemonize", "yes"], check=True, timeout=10)
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True,
                         timeout=5).stdout.strip() != "PONG":
        assert time.monotonic() < deadline, "the private redis-server did not start"
        time.sleep(0.05)


def test_with_redis_down_commands_are_recorded_and_a_report_request_answers_503_until_redis_is_back(
        demo_data, copy_of_demo, down_port, tmp_path):
    _, token, tokens = demo_data
    url = f"redis://127.0.0.1:{down_port}/0"
    flask_app = open_app(copy_of_demo, token, redis_url=url)
    try:
        admin, auditor = Caller(flask_app, tokens["admin"]), Caller(flask_app, tokens["auditor"])
        before = admin.head()["head_position"]
        recorded = admin.post("/bodies", {"code": "NYB", "name": "Nya beredningen", "kind": "council_committee",
                                          "decision": {"body": "KF", "date": "2024-01-29", "paragraph": "§5"}})
        assert recorded.status_code == 201, recorded.get_json()
        assert recorded.get_json()["position"] == before + 1

        started = time.monotonic()
        refused = auditor.post("/reports", REQUESTS["annual-html"])
        assert refused.status_code == 503, refused.get_json()
        assert time.monotonic() - started < 15
        assert refused.get_json()["error"]["code"] == "service_unavailable"
        assert refused.get_json()["error"]["message"]
        assert not folder(copy_of_demo).exists() or list(folder(copy_of_demo).iterdir()) == []
        assert admin.head()["head_position"] == before + 1

        start_private_redis(down_port, tmp_path)
        rid = auditor.request(REQUESTS["annual-html"])
        assert auditor.status(rid)["status"] == "queued"
        log = run_worker(copy_of_demo, url)
        status = auditor.status(rid)
        assert status["status"] == "finished", (status, log)
        assert status["based_on"]["position"] == before + 1
        assert auditor.download(rid)
    finally:
        close(flask_app)
