"""Load on the production shape with one fault at a time: Redis, PostgreSQL, a worker and the runner killed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import threading
import time

import requests
from loadgen import Load, LoadTenant, report_status, request_report, wait_for
from shape import Shape, children

# Shorter than bench/load.py (16 clients, 50 tenants, 60 s): all of these together stay within CI's budget.
CLIENTS, TENANTS, SECONDS = 8, 6, 10.0
DOWN_SECONDS = 4.0
RECOVERY_GRACE = 15.0  # after a service is back, 503s are still excused this long (pools reconnect)
# A command caught by a PostgreSQL restart runs eventsourcing's 10 retries, each waiting 5 s for the pool,
# and the pool reconnects with a growing back-off: it may stay unanswered (or 503) this long after the return.
POSTGRES_GRACE = 50.0


def start_load(shape: Shape, prefix: str, seconds: float = SECONDS) -> Load:
    load = Load(shape.base_url, shape.admin_token, tenants=TENANTS, clients=CLIENTS, seconds=seconds, prefix=prefix)
    load.set_up()
    load.start()
    return load


def finish(load: Load, shape: Shape, grace: float = RECOVERY_GRACE) -> list[dict]:
    """Wait for the load, then check every acknowledgement, every chain, and that nothing had to be restarted."""
    load.join()
    tenants = load.verify(grace=grace)
    shape.assert_all_alive()
    assert load.summary()["acknowledged"] > 0
    print(json.dumps(load.summary(), ensure_ascii=False))
    return tenants


def record_one(shape: Shape, tenant: LoadTenant, code: str) -> requests.Response:
    return requests.post(f"{shape.base_url}/api/v1/t/{tenant.slug}/indicators", timeout=30,
                         json={"code": code, "name": "Provnyckeltal", "unit": "st", "direction": "increase"},
                         headers={"Authorization": f"Bearer {tenant.tokens['registrar']}"})


def wait_for_report(shape: Shape, tenant: LoadTenant, rid: str, timeout: float = 60.0) -> dict:
    def finished():
        status = report_status(shape.base_url, tenant, rid)
        assert status["status"] != "failed", status
        return status if status["status"] == "finished" else None

    return wait_for(finished, f"report {rid}", timeout, 0.3)


def artifact_files(shape: Shape, tenant: LoadTenant, rid: str) -> list[str]:
    folder = shape.data_dir / "artifacts" / tenant.slug
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(rid) or p.name.startswith(".tmp"))


def caught_up(shape: Shape, load: Load, tenants: list[dict]) -> None:
    """Every tenant's read models reach the head the load left (GET /state with min_position answers 200)."""
    for t in tenants:
        tenant = load.tenant(t["slug"])
        answer = wait_for(lambda tenant=tenant, t=t: (r := state(shape, tenant, min_position=t["head"])).ok and r,
                          f"{t['slug']}'s read models to reach {t['head']}", 30, 0.5)
        assert answer.json()["position"] >= t["head"]


def state(shape: Shape, tenant: LoadTenant, **params) -> requests.Response:
    return requests.get(f"{shape.base_url}/api/v1/t/{tenant.slug}/state", params=params, timeout=30,
                        headers={"Authorization": f"Bearer {tenant.tokens['auditor']}"})


def test_with_redis_stopped_decisions_are_still_recorded_and_reports_answer_503_until_it_returns(ops_shape):
    shape = ops_shape
    load = start_load(shape, "redis")
    tenant = load.tenants[0]
    time.sleep(3)
    with load.fault("redis", excuses=False) as window:
        shape.redis.stop()
        refused = request_report(shape.base_url, tenant)
        time.sleep(DOWN_SECONDS)
        shape.redis.start()
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "service_unavailable"
    assert "unavailable" in refused.json()["error"]["message"]
    assert not list((shape.data_dir / "artifacts").glob(f"{tenant.slug}/*.json")), "a refused report left a manifest"

    accepted = wait_for(lambda: (r := request_report(shape.base_url, tenant)).status_code == 202 and r,
                        "a report request to be accepted again", 30, 0.5)
    back_at = time.monotonic()
    finished = wait_for_report(shape, tenant, accepted.json()["id"])
    assert finished["based_on"]["position"] > 0
    finish(load, shape)
    figures = load.window_figures(window)
    print(json.dumps({**figures, "report_accepted_after_back_s": round(back_at - window.end, 2)}))
    assert figures["acknowledged_while_down"] > 0, "no decision was recorded while Redis was down"
    assert figures["answers_503"] == 0


def test_with_postgresql_restarted_nothing_is_half_written_and_everything_recovers_without_a_restart(ops_shape):
    shape = ops_shape
    probing = Load(shape.base_url, shape.admin_token, tenants=1, clients=1, prefix="pgprobe")
    probing.set_up()
    tenant = probing.tenants[0]  # a tenant of its own, so the load's counts stay exact
    load = start_load(shape, "pg")
    time.sleep(3)
    with load.fault("postgres") as window:
        shape.postgres.stop("fast")
        probe = Probe(shape, tenant, "PROBE-DOWN")
        time.sleep(DOWN_SECONDS)
        shape.postgres.start()
    load.join()
    probe.join()
    figures = load.window_figures(window)
    print(json.dumps({**figures, "probe_sent_while_down": probe.outcome}))
    tenants = finish(load, shape, POSTGRES_GRACE)
    assert figures["first_ack_after_back_s"] is not None, "nothing was recorded after PostgreSQL came back"
    # Whatever the probe was answered while the database was down, it is recorded exactly once now.
    assert probe.outcome["status"] in (201, 503, None), probe.outcome
    assert probe.outcome["status"] != 503 or probe.outcome["code"] == "service_unavailable", probe.outcome
    assert probe.send().status_code == 201
    assert record_one(shape, tenant, "PROBE-DOWN").status_code == 409, "the probe was recorded twice"
    # The runner lived through the restart: the read models reach the head without restarting it.
    caught_up(shape, load, tenants)


def test_while_postgresql_is_down_a_command_answers_503_within_ten_seconds(ops_shape):
    shape = ops_shape
    load = Load(shape.base_url, shape.admin_token, tenants=1, clients=1, prefix="pgdown")
    load.set_up()
    shape.postgres.stop("fast")
    try:
        probe = Probe(shape, load.tenants[0], "PROBE-FAST", timeout=10)
        probe.join()
    finally:
        shape.postgres.start()
    assert probe.outcome["status"] == 503, probe.outcome
    assert probe.outcome["code"] == "service_unavailable"


class Probe:
    """One command sent in the background (with an Idempotency-Key) while a service is down."""

    def __init__(self, shape: Shape, tenant: LoadTenant, code: str, timeout: float = 60.0) -> None:
        self.shape, self.tenant, self.code, self.timeout = shape, tenant, code, timeout
        self.key = f"probe-{code}"
        self.outcome: dict = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def send(self) -> requests.Response:
        return requests.post(f"{self.shape.base_url}/api/v1/t/{self.tenant.slug}/indicators", timeout=self.timeout,
                             json={"code": self.code, "name": "Provnyckeltal", "unit": "st", "direction": "increase"},
                             headers={"Authorization": f"Bearer {self.tenant.tokens['registrar']}",
                                      "Idempotency-Key": self.key})

    def _run(self) -> None:
        started = time.monotonic()
        try:
            answer = self.send()
            body = answer.json() if answer.content else {}
            self.outcome = {"status": answer.status_code, "code": (body.get("error") or {}).get("code")}
        except requests.RequestException as error:
            self.outcome = {"status": None, "code": type(error).__name__}
        self.outcome["seconds"] = round(time.monotonic() - started, 1)

    def join(self) -> None:
        self.thread.join(self.timeout + 5)


def test_a_worker_killed_mid_report_has_its_job_retried_and_leaves_exactly_one_artifact(ops_shape):
    shape = ops_shape
    load = start_load(shape, "worker")
    tenant = load.tenants[0]
    time.sleep(2)
    workers = [shape.processes["worker-1"], shape.processes["worker-2"]]
    before = {pid for w in workers for pid in children(w.pid)}
    accepted = request_report(shape.base_url, tenant)
    assert accepted.status_code == 202, accepted.text
    rid = accepted.json()["id"]
    manifest = shape.data_dir / "artifacts" / tenant.slug / f"{rid}.json"

    def horse():
        # The work horse is the child a worker forks for the job; kill it once the job has begun.
        new = [pid for w in workers for pid in children(w.pid) if pid not in before]
        started = manifest.exists() and json.loads(manifest.read_text())["status"] == "started"
        return new[0] if new and started else None

    pid = wait_for(horse, "the report job to start in a work horse", 30, 0.01)
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    assert report_status(shape.base_url, tenant, rid)["status"] != "finished", "the job finished before the kill"
    finished = wait_for_report(shape, tenant, rid, timeout=90)
    retried_after = time.monotonic() - killed_at

    from rq.job import Job

    job = Job.fetch(f"report-{tenant.slug}-{rid}", connection=shape.redis_client())
    assert job.retries_left == 2, "the job was not retried exactly once"
    files = artifact_files(shape, tenant, rid)
    assert files == [f"{rid}.json", f"{rid}.pdf"], files
    download = requests.get(f"{shape.base_url}/api/v1/t/{tenant.slug}/reports/{rid}/file", timeout=30,
                            headers={"Authorization": f"Bearer {tenant.tokens['auditor']}"})
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    assert hashlib.sha256(download.content).hexdigest() == download.headers["X-Content-SHA256"]
    assert finished["based_on"]["position"] > 0
    finish(load, shape)
    print(json.dumps({"fault": "worker work horse SIGKILL", "finished_after_kill_s": round(retried_after, 1)}))


def test_the_projection_runner_killed_and_restarted_catches_up_and_applies_nothing_twice(ops_shape, tmp_path):
    shape = ops_shape
    load = start_load(shape, "runner")
    time.sleep(3)
    with load.fault("runner", excuses=False) as window:
        shape.processes["runner"].kill(signal.SIGKILL)
        time.sleep(DOWN_SECONDS)
        shape.processes["runner"].start()
    tenants = finish(load, shape)
    caught_up(shape, load, tenants)
    caught_up_at = time.monotonic()
    print(json.dumps({"fault": "runner SIGKILL", "down_s": round(window.end - window.start, 1),
                      "all_caught_up_after_restart_s": round(caught_up_at - window.end, 1)}))

    # The read models must equal an offline fold of the export, at points before, during and after the kill.
    from projections.replay import read_export, replay_state

    for t in tenants[:2]:
        tenant = load.tenant(t["slug"])
        export = tmp_path / f"{tenant.slug}.jsonl"
        done = shape.cli("export", "--tenant", tenant.slug, "-o", str(export))
        assert done.returncode == 0, done.stderr
        header, records = read_export(export.read_text(encoding="utf-8").splitlines())
        assert header["head_position"] == t["head"]
        for point in points(records, 6):
            served = state(shape, tenant, as_of=point[0].isoformat(), known_at=point[1].isoformat())
            assert served.status_code == 200, served.text
            assert comparable(served.json()) == comparable(replay_state(header, records, *point)), point


def points(records: list[dict], n: int) -> list[tuple[dt.date, dt.datetime]]:
    """n (as_of, known_at) pairs spread over the record times and the years the decisions speak of."""
    step = max(1, len(records) // n)
    chosen = records[step - 1::step][:n]
    dates = [dt.date(2023, 6, 30), dt.date(2024, 1, 1), dt.date(2024, 12, 31), dt.date(2025, 7, 1),
             dt.date(2026, 12, 31), dt.date.today()]
    return [(dates[i % len(dates)], dt.datetime.fromisoformat(r["recorded_at"])) for i, r in enumerate(chosen)]


def comparable(document: dict) -> dict:
    """The state document without the moment it was asked about, which the two sides spell differently."""
    return {k: v for k, v in document.items() if k != "known_at"}

