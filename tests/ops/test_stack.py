"""`make stack` and `make stack-stop` in a data directory, port, database and Redis database of their own."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("STYRKEDJA_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE = os.environ.get("STYRKEDJA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15").rsplit("/", 1)[0]
REDIS_CLAIM_KEY = "styrkedja-test:claimed-by"  # as tests/conftest.py: concurrent runs skip a claimed database
REQUIRE_SERVICES = os.environ.get("STYRKEDJA_REQUIRE_SERVICES") == "1"
ADMIN_TOKEN = "stack-admin-" + uuid.uuid4().hex
SLUG = "stackby"


def _unavailable(message: str):
    if REQUIRE_SERVICES:
        pytest.fail(message + "; STYRKEDJA_REQUIRE_SERVICES=1 makes that a failure", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _claim_redis_db() -> tuple[str, redis.Redis]:
    try:
        redis.Redis.from_url(f"{REDIS_BASE}/0", socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        _unavailable(f"Redis is not reachable ({error})")
    for db in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS_BASE}/{db}")
        if client.set(REDIS_CLAIM_KEY, os.getpid(), nx=True, ex=900):
            if client.dbsize() == 1:
                return f"{REDIS_BASE}/{db}", client
            client.delete(REDIS_CLAIM_KEY)
    _unavailable("no empty Redis database among 1..15")


def _make(target: str, env: dict) -> subprocess.CompletedProcess:
    # -o: the shared venv is installed already; a stale stamp must not reinstall it under other runs.
    return subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", target], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


class Stack:
    def __init__(self, env: dict, port: int, data: Path) -> None:
        self.env, self.port, self.data = env, port, data
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def pids(self) -> dict[str, dict]:
        return {p.stem: json.loads(p.read_text()) for p in (self.data / "run").glob("*.pid")}

    def log_lines(self, name: str) -> list[dict]:
        return [json.loads(line) for line in (self.data / "log" / f"{name}.log").read_text().splitlines() if line]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3):
            pass
    except psycopg.OperationalError as error:
        _unavailable(f"PostgreSQL is not reachable ({error})")
    database = f"styrkedja_stack_{os.getpid()}"
    redis_url, claim = _claim_redis_db()
    port = _free_port()
    data = tmp_path_factory.mktemp("stack") / "var"
    env = {**os.environ, "STYRKEDJA_DATA_DIR": str(data), "STACK_PORT": str(port), "REDIS_URL": redis_url,
           "DATABASE_URL": PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database, "STYRKEDJA_ADMIN_TOKEN": ADMIN_TOKEN,
           "STYRKEDJA_READY_MAX_LAG": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    started = _make("stack", env)
    running = Stack(env, port, data)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert running.url("/readyz") in started.stdout  # it tells the operator where to look
        yield running
    finally:
        _make("stack-stop", env)
        claim.flushdb()
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_the_stack_answers_healthz_and_readyz_with_every_check_passing(stack):
    assert requests.get(stack.url("/healthz"), timeout=5).json() == {"status": "ok"}
    ready = requests.get(stack.url("/readyz"), timeout=10)
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["database"] == {**checks["database"], "state": "ok", "kind": "postgresql"}
    assert checks["redis"]["state"] == "ok"
    assert checks["projections"]["mode"] == "runner"
    assert set(stack.pids()) == {"web", "worker-1", "worker-2", "projections"}


def test_a_command_recorded_through_gunicorn_is_projected_by_the_runner_and_counted_in_metrics(stack):
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    created = requests.post(stack.url("/api/v1/tenants"), headers=admin, timeout=30,
                            json={"slug": SLUG, "name": "Stackby kommun", "municipality_code": "1999"})
    assert created.status_code == 201, created.text
    user = requests.post(stack.url(f"/api/v1/t/{SLUG}/users"), headers=admin, timeout=10,
                         json={"email": "reg@stackby.example", "name": "Reg", "role": "registrar", "bodies": []})
    token = user.json()["token"]
    request_id = "stack-test-" + uuid.uuid4().hex[:8]
    recorded = requests.post(stack.url(f"/api/v1/t/{SLUG}/terms"), timeout=10,
                             headers={"Authorization": f"Bearer {token}", "X-Request-ID": request_id},
                             json={"code": "M2023", "first_year": 2023, "last_year": 2026})
    assert recorded.status_code == 201, recorded.text
    assert recorded.headers["X-Request-ID"] == request_id
    position = recorded.json()["position"]

    # The web process projects nothing on PostgreSQL: only the runner can bring the read models there.
    deadline = time.monotonic() + 15
    while True:
        listed = subprocess.run([sys.executable, "-m", "web.cli", "tenants", "list", "--json"], env=stack.env,
                                cwd=ROOT, capture_output=True, text=True, timeout=30)
        row = next(r for r in json.loads(listed.stdout) if r["slug"] == SLUG)
        if row["projected"] >= position or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert row == {**row, "events": position, "projected": position, "lag": 0}
    assert requests.get(stack.url("/readyz"), timeout=10).status_code == 200  # lag 0 with READY_MAX_LAG=0

    assert requests.get(stack.url("/metrics"), timeout=10).status_code == 401
    assert requests.get(stack.url("/metrics"), headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    scraped = requests.get(stack.url("/metrics"), headers=admin, timeout=10)
    assert scraped.status_code == 200
    assert scraped.headers["Cache-Control"] == "no-store"
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(scraped.text) for s in family.samples}
    assert samples[("styrkedja_commands_recorded_total", (("command", "open_term"), ("tenant", SLUG)))] == 1
    assert samples[("styrkedja_projection_lag_events", (("tenant", SLUG),))] == 0
    assert samples[("styrkedja_ledger_head_position", (("tenant", SLUG),))] == position
    assert samples[("styrkedja_report_queue_length", ())] == 0
    requests_201 = ("styrkedja_http_requests_total",
                    (("endpoint", "commands.open_term"), ("method", "POST"), ("status", "201")))
    assert samples[requests_201] == 1

    lines = [line for line in stack.log_lines("web") if line.get("request_id") == request_id]
    assert lines, "the access line carries the request id the client sent"
    access = lines[-1]
    assert access == {**access, "level": "INFO", "logger": "styrkedja.access", "tenant": SLUG, "method": "POST",
                      "path": f"/api/v1/t/{SLUG}/terms", "status": 201}
    assert access["user_id"] and access["duration_ms"] >= 0
    assert access["time"].endswith("+00:00")


def test_every_process_of_the_stack_logs_json_lines(stack):
    for name in ("web", "worker-1", "worker-2", "projections"):
        lines = stack.log_lines(name)  # json.loads fails on any line that is not JSON
        assert lines and all({"time", "level", "logger", "message"} <= line.keys() for line in lines), name


def _alive(pid: int, start_time: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return stat[0] != "Z" and int(stat[19]) == start_time


def test_make_stack_stop_ends_exactly_the_stacks_processes_and_leaves_the_services_running(stack):
    from web.ops_stack import descendants

    records = stack.pids()
    ours = [(r["pid"], r["start_time"]) for r in records.values()]
    ours += [child for r in records.values() for child in descendants(r["pid"])]
    assert len(ours) >= 6  # four started, gunicorn's two workers below its master
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        stopped = _make("stack-stop", stack.env)
        assert stopped.returncode == 0, stopped.stderr
        assert [pid for pid, started in ours if _alive(pid, started)] == []
        assert bystander.poll() is None
        assert not list((stack.data / "run").glob("*.pid"))
        with psycopg.connect(stack.env["DATABASE_URL"], connect_timeout=3) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert redis.Redis.from_url(stack.env["REDIS_URL"]).ping()
        again = _make("stack-stop", stack.env)
        assert again.returncode == 0 and "no stack running" in again.stdout
    finally:
        bystander.kill()
        bystander.wait()


def _pid_file(data: Path, name: str, process: subprocess.Popen, argv: list[str], start_time: int) -> None:
    (data / "run").mkdir(parents=True, exist_ok=True)
    (data / "run" / f"{name}.pid").write_text(json.dumps(
        {"name": name, "pid": process.pid, "start_time": start_time, "argv": argv, "log": ""}))


def test_stack_stop_never_signals_a_process_that_merely_reuses_a_recorded_pid(tmp_path, monkeypatch):
    from web import ops_stack

    monkeypatch.setenv("STYRKEDJA_DATA_DIR", str(tmp_path))
    ours = subprocess.Popen(["sleep", "60"])
    stranger = subprocess.Popen(["sleep", "61"])
    try:
        time.sleep(0.1)
        started = {p.pid: ops_stack._proc_start_time(p.pid) for p in (ours, stranger)}
        _pid_file(tmp_path, "projections", ours, ["sleep", "60"], started[ours.pid])
        # The same pid as recorded, but another command line and start time: a reused pid.
        _pid_file(tmp_path, "worker-1", stranger, ["python", "-m", "web.cli", "worker"], started[stranger.pid] - 1)
        assert ops_stack.stop() == 0
        assert ours.wait(10) is not None
        assert stranger.poll() is None
        assert not list((tmp_path / "run").glob("*.pid"))
    finally:
        for process in (ours, stranger):
            process.kill()
            process.wait()
