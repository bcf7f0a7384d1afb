"""Append benchmark: decisions/s through the full HTTP command path, against the bare eventsourcing library."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("STYRKEDJA_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = os.environ.get("STYRKEDJA_BENCH_PG_DB", "styrkedja_bench")
ADMIN_TOKEN = "bench-admin-" + secrets.token_hex(8)
MEETING = "2023-11-20"  # the date of every decision in the mix: never in the future
REQUEST_TIMEOUT = 30.0  # seconds per HTTP request to the real server
SERVER_START_TIMEOUT = 30.0

# The decision mix of the HTTP paths: a repeating pattern of ten, interleaved (see build_requests).
PATTERN = ("define_indicator", "fix_goal_target", "report_financial", "define_indicator", "fix_goal_target",
           "report_financial", "define_indicator", "fix_goal_target", "report_financial", "define_indicator")
MIX_DESCRIPTION = {
    "define_indicator": "POST /indicators, a new indicator with a unique code (registrar; one new aggregate)",
    "fix_goal_target": "POST /goals/<G1|G2>/targets, KF decision on a målvärde (registrar; goal grows)",
    "report_financial": "POST /follow-ups/financial on KS, BUN, SBN for 2024/2025 (reporter; body-year grows)",
}
BASE_INDICATORS = ("N00001", "N00002", "N00003", "N00004")
GOALS = ("G1", "G2")
REPORT_BODIES = ("KS", "BUN", "SBN")


# --- the decisions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    kind: str
    path: str  # below /api/v1/t/<slug>
    body: dict
    role: str  # "registrar" or "reporter"


def kf(paragraph: int) -> dict:
    return {"body": "KF", "date": MEETING, "paragraph": f"§{paragraph}"}


def build_requests(n: int) -> list[Request]:
    """N decisions of the mix; every one is valid on its own after setup, so any order or split works."""
    out = []
    for i in range(n):
        kind = PATTERN[i % len(PATTERN)]
        if kind == "define_indicator":
            out.append(Request(kind, "/indicators", {
                "code": f"K{i:07d}", "name": f"Nyckeltal {i}", "unit": "%", "direction": "increase"}, "registrar"))
        elif kind == "fix_goal_target":
            out.append(Request(kind, f"/goals/{GOALS[i % 2]}/targets", {
                "indicator": BASE_INDICATORS[i % 4], "year": 2023 + (i // 3) % 4, "value": (i % 997) + 0.5,
                "decision": kf(i % 400 + 1)}, "registrar"))
        else:
            body = REPORT_BODIES[i % 3]
            report = {"body": body, "period": f"{2024 + (i // 7) % 2}-{(i % 12) + 1:02d}",
                      "outcome_sek": 1_000_000 + i, "forecast_sek": 12_000_000 - i, "reported_on": "2026-01-15"}
            if body == "BUN" and i % 2:
                report["area"] = "GRUNDSKOLA"
            out.append(Request(kind, "/follow-ups/financial", report, "reporter"))
    return out


def mix_of(requests: list[Request]) -> dict[str, int]:
    counts = Counter(r.kind for r in requests)
    return {kind: counts[kind] for kind in MIX_DESCRIPTION}


# --- HTTP clients: the Flask test client and requests over keep-alive ------------------------------


Post = Callable[[str, dict, str], tuple[int, dict]]
Get = Callable[[str, str], tuple[int, dict]]


def test_client_calls(client) -> tuple[Post, Get]:
    def post(path: str, body: dict, token: str) -> tuple[int, dict]:
        response = client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.get_json(silent=True) or {}

    def get(path: str, token: str) -> tuple[int, dict]:
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        return response.status_code, response.get_json(silent=True) or {}
    return post, get


def session_calls(session, base: str) -> tuple[Post, Get]:
    def post(path: str, body: dict, token: str) -> tuple[int, dict]:
        response = session.post(base + path, json=body, headers={"Authorization": f"Bearer {token}"},
                                timeout=REQUEST_TIMEOUT)
        return response.status_code, response.json() if response.content else {}

    def get(path: str, token: str) -> tuple[int, dict]:
        response = session.get(base + path, headers={"Authorization": f"Bearer {token}"}, timeout=REQUEST_TIMEOUT)
        return response.status_code, response.json() if response.content else {}
    return post, get


def expect(status: int, body: dict, what: str, wanted: int = 201) -> dict:
    if status != wanted:
        raise SystemExit(f"bench: {what} answered {status}: {json.dumps(body, ensure_ascii=False)[:500]}")
    return body


@dataclass
class Tenant:
    slug: str
    tokens: dict[str, str] = field(default_factory=dict)
    head_after_setup: int = 0


def set_up_tenant(post: Post, get: Get, slug: str) -> Tenant:
    """Everything the mix refers to, recorded through the same HTTP path (not timed)."""
    t = f"/api/v1/t/{slug}"
    expect(*post("/api/v1/tenants", {"slug": slug, "name": f"Bänkkommun {slug}", "municipality_code": "1487"},
                 ADMIN_TOKEN), "create tenant")
    tenant = Tenant(slug)
    registrar = expect(*post(f"{t}/users", {"email": "registrator@bench.example", "name": "Registrator",
                                            "role": "registrar"}, ADMIN_TOKEN), "add registrar")
    tenant.tokens["registrar"] = token = registrar["token"]
    for code, name in (("BUN", "Barn- och utbildningsnämnden"), ("SBN", "Samhällsbyggnadsnämnden")):
        expect(*post(f"{t}/bodies", {"code": code, "name": name, "kind": "committee", "decision": kf(10)}, token),
               f"establish body {code}")
    expect(*post(f"{t}/bodies/BUN/areas", {"code": "GRUNDSKOLA", "name": "Grundskola",
                                           "decision": {"body": "BUN", "date": MEETING, "paragraph": "§3"}}, token),
           "add area")
    expect(*post(f"{t}/terms", {"code": "T2023", "first_year": 2023, "last_year": 2026}, token), "open term")
    for code in BASE_INDICATORS:
        expect(*post(f"{t}/indicators", {"code": code, "name": f"Bas {code}", "unit": "st",
                                         "direction": "decrease"}, token), f"define indicator {code}")
    for code in GOALS:
        expect(*post(f"{t}/goals", {"code": code, "term": "T2023", "title": f"Mål {code}", "decision": kf(20)},
                     token), f"establish goal {code}")
    reporter = expect(*post(f"{t}/users", {"email": "rapportor@bench.example", "name": "Rapportör",
                                           "role": "reporter", "bodies": list(REPORT_BODIES)}, ADMIN_TOKEN),
                      "add reporter")
    tenant.tokens["reporter"] = reporter["token"]
    tenant.head_after_setup = expect(*get(f"{t}/ledger", token), "ledger head", 200)["head_position"]
    return tenant


def send_all(post: Post, tenant: Tenant, requests: list[Request], deadline: float) -> list[float]:
    """Send the decisions in order; answer each request's latency in seconds."""
    prefix = f"/api/v1/t/{tenant.slug}"
    latencies = []
    for i, r in enumerate(requests):
        if i % 50 == 0 and time.monotonic() > deadline:
            raise SystemExit(f"bench: time limit reached after {i} decisions")
        started = time.perf_counter()
        status, body = post(prefix + r.path, r.body, tenant.tokens[r.role])
        latencies.append(time.perf_counter() - started)
        if status != 201:
            expect(status, body, f"{r.kind} #{i}")
    return latencies


def verify_via_api(get: Get, tenant: Tenant, expected_head: int) -> dict:
    token = tenant.tokens["registrar"]
    verification = expect(*get(f"/api/v1/t/{tenant.slug}/ledger/verify", token), "verify", 200)
    head = expect(*get(f"/api/v1/t/{tenant.slug}/ledger", token), "ledger head", 200)["head_position"]
    return {"ok": bool(verification["ok"]) and verification["checked"] == head == expected_head,
            "checked": verification["checked"], "head": head, "expected_head": expected_head}


# --- results --------------------------------------------------------------------------------------


@dataclass
class Row:
    store: str
    path: str
    decisions: int
    seconds: float
    events_per_decision: float = 1.0
    latency_ms: dict = field(default_factory=dict)
    ratio: float | None = None
    runs_seconds: list[float] = field(default_factory=list)
    paired_ratios: list[float] = field(default_factory=list)  # per run: this rate / the bare rate of that run
    # CPU seconds spent during the timed part: this process, and the server process (real server only).
    cpu_client: float = 0.0
    cpu_server: float | None = None

    @property
    def rate(self) -> float:
        return self.decisions / self.seconds if self.seconds else 0.0


def server_cpu(pid: int) -> float:
    """User+system CPU seconds of a process and its direct children (the gunicorn worker), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                pids += [int(c) for c in children.read().split()]
    except OSError:
        pass
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as stat:
                fields_ = stat.read().rsplit(")", 1)[1].split()
            total += int(fields_[11]) + int(fields_[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / tick


def latency_summary(latencies: list[float]) -> dict:
    if not latencies:
        return {}
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 2)
    return {"mean": round(statistics.fmean(ordered) * 1000, 2), "p50": pct(0.50), "p95": pct(0.95),
            "p99": pct(0.99), "max": round(ordered[-1] * 1000, 2)}


# --- the stores -----------------------------------------------------------------------------------


@dataclass
class Store:
    kind: str  # "sqlite" or "postgres"
    database_url: str | None = None
    tmp_root: Path | None = None

    def config(self, name: str):
        from domain.stores import StoreConfig

        if self.kind == "sqlite":
            data_dir = self.tmp_root / name
            data_dir.mkdir(parents=True, exist_ok=True)
            return StoreConfig(data_dir=data_dir)
        return StoreConfig(data_dir=self.tmp_root / name, database_url=self.database_url)


def prepare_postgres() -> str:
    """The bench database (created if missing) with no schema left from an earlier run."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_BENCH_DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_BENCH_DB
    drop_bench_schemas(url)
    return url


def drop_bench_schemas(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        schemas = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\\_%' OR nspname LIKE 'bare\\_%'"
            " OR nspname = 'platform'").fetchall()
        for (schema,) in schemas:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


# --- (1) the bare library -------------------------------------------------------------------------


class Ticker(Aggregate):
    """The trivial aggregate: each call of tick() triggers one event."""

    @event("Created")
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    @event("Ticked")
    def tick(self, i: int) -> None:
        self.count += 1


class BareBench(Application):
    name = "barebench"


def run_bare(store: Store, n: int, deadline: float, reload_each: bool, rep: int = 0,
             tenant_recorder: bool = False) -> Row:
    """One trivial aggregate, one event per call, one save per call, on the same kind of store and env.

    tenant_recorder: for context only, the same with the recorder the app's tenants use on PostgreSQL
    (projections/recorder.py, one round trip per save), to show what the app gains there against the library.
    """
    from domain.stores import StoreConfig

    label = f"{'bare_get' if reload_each else 'bare_rec' if tenant_recorder else 'bare'}_{rep}"
    config: StoreConfig = store.config(label)
    if config.is_postgres:
        from projections.tenants import create_schema

        create_schema(config, f"bare_{label}")
    env = config.env_for(f"bare_{label}", "bare.sqlite", create_table=True)  # the env Governance gets
    if tenant_recorder:
        from eventsourcing.utils import get_topic

        from projections.recorder import TenantRecorder

        env["APPLICATION_RECORDER_TOPIC"] = get_topic(TenantRecorder)
    app = BareBench(env=env)
    try:
        aggregate = Ticker("bench")
        app.save(aggregate)
        cpu = time.process_time()
        started = time.perf_counter()
        for i in range(n):
            if i % 200 == 0 and time.monotonic() > deadline:
                raise SystemExit(f"bench: time limit reached after {i} bare saves")
            if reload_each:
                aggregate = app.repository.get(aggregate.id)
            aggregate.tick(i)
            app.save(aggregate)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        stored = app.repository.get(aggregate.id)
        if stored.count != n:
            raise SystemExit(f"bench: bare aggregate has {stored.count} ticks, expected {n}")
    finally:
        app.close()
    path = "bare library (get+call+save)" if reload_each else \
        "bare library + tenant recorder (call+save)" if tenant_recorder else "bare library (call+save)"
    return Row(store.kind, path, n, seconds, 1.0, cpu_client=cpu)


# --- (2) the Flask test client --------------------------------------------------------------------


def flask_config(config) -> dict:
    return {"DATA_DIR": str(config.data_dir), "DATABASE_URL": config.database_url, "ADMIN_TOKEN": ADMIN_TOKEN,
            "POOL_SIZE": config.pool_size, "TESTING": False}


def run_test_client(store: Store, requests: list[Request], deadline: float, checks: list[dict], rep: int = 0
                    ) -> Row:
    from web import create_app

    config = store.config(f"test_client_{rep}")
    flask_app = create_app(flask_config(config))
    tenants = flask_app.extensions["styrkedja"]
    try:
        post, get = test_client_calls(flask_app.test_client())
        tenant = set_up_tenant(post, get, f"bench-tc-{rep}")
        cpu = time.process_time()
        started = time.perf_counter()
        latencies = send_all(post, tenant, requests, deadline)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        expected = tenant.head_after_setup + len(requests)
        checks.append({"store": store.kind, "path": "test client", "via": "API",
                       **verify_via_api(get, tenant, expected)})
    finally:
        tenants.close()
    checks.append({"store": store.kind, "path": "test client", "via": "in-process",
                   **verify_in_process(config, tenant.slug, expected)})
    return Row(store.kind, "test client", len(requests), seconds, events_per_decision=2.0,
               latency_ms=latency_summary(latencies), cpu_client=cpu)


def verify_in_process(config, slug: str, expected_head: int) -> dict:
    """A fresh application on the stored rows, independent of the process that wrote them."""
    from domain.application import Governance

    app = Governance(slug, config)
    try:
        result = app.verify_ledger()
        head = app.ledger_head()[0]
    finally:
        app.close()
    return {"ok": result.ok and result.checked == head == expected_head, "checked": result.checked,
            "head": head, "expected_head": expected_head}


# --- (3) a real server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(kind: str, config, port: int, threads: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STYRKEDJA_DATA_DIR")}
    env.update(STYRKEDJA_DATA_DIR=str(config.data_dir), STYRKEDJA_ADMIN_TOKEN=ADMIN_TOKEN,
               STYRKEDJA_POOL_SIZE=str(config.pool_size), PYTHONUNBUFFERED="1")
    if config.database_url:
        env["DATABASE_URL"] = config.database_url
    if kind == "gunicorn":
        # One worker process (one cache of tenant applications), threads for concurrent clients, keep-alive on.
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                   "--worker-class", "gthread", "--threads", str(max(threads, 1)), "--keep-alive", "30",
                   "--timeout", "120", "--graceful-timeout", "5", "--log-level", "warning", "web.wsgi:app"]
    else:
        command = [sys.executable, "-c",
                   "import logging; from werkzeug.serving import run_simple; from web.wsgi import app; "
                   "logging.getLogger('werkzeug').setLevel(logging.WARNING); "
                   f"run_simple('127.0.0.1', {port}, app, threaded=True, use_reloader=False)"]
    with open(log, "wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def wait_until_up(process: subprocess.Popen, base: str, log: Path) -> None:
    import requests

    until = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < until:
        if process.poll() is not None:
            raise SystemExit(f"bench: the server exited with {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            if requests.get(base + "/api/v1/openapi.json", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or busy importing
            pass
        time.sleep(0.1)
    raise SystemExit(f"bench: the server did not answer within {SERVER_START_TIMEOUT:.0f} s")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def run_server(store: Store, requests: list[Request], deadline: float, checks: list[dict], server: str,
               clients: int, rep: int = 0) -> Row:
    import requests as http

    config = store.config(f"server_{rep}")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = store.tmp_root / f"server-{store.kind}-{rep}.log"
    process = start_server(server, config, port, clients, log)
    try:
        wait_until_up(process, base, log)
        with http.Session() as session:
            post, get = session_calls(session, base)
            tenant = set_up_tenant(post, get, f"bench-srv-{rep}")
            # Split the decisions round-robin over the clients, each with its own keep-alive connection.
            parts = [requests[c::clients] for c in range(clients)]
            latencies: list[list[float]] = [[] for _ in range(clients)]
            errors: list[BaseException] = []

            def client(c: int) -> None:
                try:
                    with http.Session() as own:
                        own_post, _ = session_calls(own, base)
                        latencies[c] = send_all(own_post, tenant, parts[c], deadline)
                except BaseException as error:  # reported after join
                    errors.append(error)

            cpu, cpu_srv = time.process_time(), server_cpu(process.pid)
            if clients == 1:
                started = time.perf_counter()
                latencies[0] = send_all(post, tenant, requests, deadline)
                seconds = time.perf_counter() - started
            else:
                threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
                started = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=max(1.0, deadline - time.monotonic()))
                seconds = time.perf_counter() - started
                if any(thread.is_alive() for thread in threads):
                    raise SystemExit("bench: time limit reached with clients still sending")
                if errors:
                    raise errors[0]
            cpu, cpu_srv = time.process_time() - cpu, server_cpu(process.pid) - cpu_srv
            expected = tenant.head_after_setup + len(requests)
            checks.append({"store": store.kind, "path": "real server", "via": "API",
                           **verify_via_api(get, tenant, expected)})
    finally:
        stop_server(process)
    checks.append({"store": store.kind, "path": "real server", "via": "in-process",
                   **verify_in_process(config, tenant.slug, expected)})
    label = f"real server ({server}, {clients} client{'s' if clients > 1 else ''})"
    return Row(store.kind, label, len(requests), seconds, events_per_decision=2.0,
               latency_ms=latency_summary([x for part in latencies for x in part]), cpu_client=cpu, cpu_server=cpu_srv)


# --- the HTTP floor: an empty endpoint through the same two HTTP paths ---------------------------------


def floor_app():
    """A Flask app with one POST endpoint that parses JSON and answers 201: what HTTP alone costs."""
    from flask import Flask, request

    app = Flask("floor")

    @app.post("/api/v1/t/<tenant>/<path:rest>")
    def accept(tenant: str, rest: str):
        return {"position": len(request.get_json() or {})}, 201

    return app


def run_floor(requests: list[Request], server: str, tmp_root: Path) -> dict[str, float]:
    """Decisions/s an empty endpoint reaches with the test client and with the real server (1 client)."""
    import requests as http

    tenant = Tenant("floor", {"registrar": "x", "reporter": "x"})
    post, _ = test_client_calls(floor_app().test_client())
    started = time.perf_counter()
    send_all(post, tenant, requests, time.monotonic() + 600)
    out = {"test client": len(requests) / (time.perf_counter() - started)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "bench"),
                                                                     os.environ.get("PYTHONPATH")]))}
    if server == "gunicorn":
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
                   "--worker-class", "gthread", "--threads", "1", "--keep-alive", "30", "--log-level", "warning",
                   "append:floor_app()"]
    else:
        command = [sys.executable, "-c", "import logging; from werkzeug.serving import run_simple; "
                   "from append import floor_app; logging.getLogger('werkzeug').setLevel(logging.WARNING); "
                   f"run_simple('127.0.0.1', {port}, floor_app(), threaded=True)"]
    log = tmp_root / "server-floor.log"
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    try:
        until = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            try:
                http.post(base + "/api/v1/t/floor/ping", json={}, timeout=5)
                break
            except http.RequestException:
                if time.monotonic() > until or process.poll() is not None:
                    raise SystemExit(f"bench: the floor server did not start:\n{log.read_text()[-2000:]}") from None
                time.sleep(0.1)
        with http.Session() as session:
            post, _ = session_calls(session, base)
            started = time.perf_counter()
            send_all(post, tenant, requests, time.monotonic() + 600)
            out[f"real server ({server}, 1 client)"] = len(requests) / (time.perf_counter() - started)
    finally:
        stop_server(process)
    return out


# --- profiling ------------------------------------------------------------------------------------


def profile_test_client(store: Store, requests: list[Request], out: Path) -> None:
    """The timed part of the test-client path under pyinstrument (pip install pyinstrument)."""
    from pyinstrument import Profiler

    from web import create_app

    config = store.config("profile")
    flask_app = create_app(flask_config(config))
    try:
        post, get = test_client_calls(flask_app.test_client())
        tenant = set_up_tenant(post, get, "bench-prof")
        profiler = Profiler(interval=0.0005)
        profiler.start()
        send_all(post, tenant, requests, time.monotonic() + 3600)
        profiler.stop()
    finally:
        flask_app.extensions["styrkedja"].close()
    summary = profile_summary(profiler.last_session.root_frame(), len(requests))
    print(summary)
    out.write_text(summary + "\n\n" + profiler.output_text(unicode=True, color=False, show_all=False))
    if out.suffix != ".html":
        out.with_suffix(".html").write_text(profiler.output_html())
    print(f"profile written to {out} (and {out.with_suffix('.html')})")


def profile_summary(root, n: int, top: int = 20) -> str:
    """Top functions by self time and by inclusive time (counted once per stack), as shares of the total."""
    self_time: Counter = Counter()
    inclusive: Counter = Counter()

    def name(frame) -> str:
        where = (frame.file_path or "").replace(str(ROOT) + "/", "")
        where = where.split("site-packages/")[-1].split("lib/python3.11/")[-1]
        return f"{frame.function} ({where}:{frame.line_no})"

    def walk(frame, on_stack: frozenset) -> None:
        key = name(frame)
        synthetic = [c for c in frame.children if c.function == "[self]" or c.is_synthetic_leaf]
        self_time[key] += frame.time - sum(c.time for c in frame.children) + sum(c.time for c in synthetic)
        if key not in on_stack:
            inclusive[key] += frame.time
        for child in frame.children:
            if child not in synthetic:
                walk(child, on_stack | {key})

    walk(root, frozenset())
    total = root.time or 1.0
    lines = [f"{n} decisions in {root.time:.2f} s profiled ({1000 * root.time / n:.2f} ms per decision)",
             "", "Top functions by self time:"]
    lines += [f"  {100 * t / total:5.1f} %  {k}" for k, t in self_time.most_common(top)]
    lines += ["", "Top project and library functions by inclusive time:"]
    interesting = [(k, t) for k, t in inclusive.most_common() if not k.startswith(("<module>", "send_all", "post ("))
                   and any(m in k for m in ("domain/", "web/", "projections/", "eventsourcing/", "webargs/",
                                             "psycopg_pool/", "copy.py", "marshmallow/schema.py"))]
    lines += [f"  {100 * t / total:5.1f} %  {1000 * t / n:6.3f} ms  {k}" for k, t in interesting[:top * 2]]
    return "\n".join(lines)


# --- the machine and the report -------------------------------------------------------------------


def machine() -> dict:
    info = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "sqlite": sqlite3.sqlite_version}
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            info["cpu"] = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
                               None)
        with open("/proc/meminfo") as meminfo:
            kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
            info["memory_gib"] = round(kb / 1024 / 1024, 1)
        info["loadavg_at_start"] = os.getloadavg()
    except (OSError, StopIteration):
        pass
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        info["commit"] = head + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib.metadata import version

    for package in ("eventsourcing", "flask", "flask-smorest", "marshmallow", "psycopg", "gunicorn", "werkzeug"):
        info[package] = version(package)
    return info


def postgres_version(url: str) -> str:
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def print_table(rows: list[Row]) -> None:
    header = ("store", "path", "decisions", "seconds", "decisions/s", "ratio to bare", "paired ratio (min-max)")

    def paired(r: Row) -> str:
        if len(r.paired_ratios) < 2:
            return "-"
        ordered = sorted(r.paired_ratios)
        return f"{ordered[(len(ordered) - 1) // 2]:.0%} ({ordered[0]:.0%}-{ordered[-1]:.0%})"
    lines = [(r.store, r.path, str(r.decisions), f"{r.seconds:.2f}", f"{r.rate:.0f}",
              f"{r.ratio:.0%}" if r.ratio is not None else "-", paired(r)) for r in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    right = {2, 3, 4, 5, 6}

    def fmt(cells):
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"
    print(fmt(header))
    print("|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2))
                         for i, w in enumerate(widths)) + "|")
    for line in lines:
        print(fmt(line))


def median_row(runs: list[Row]) -> Row:
    """The run with the median time (the lower middle of an even count); all times go to the JSON."""
    ordered = sorted(runs, key=lambda r: r.seconds)
    row = ordered[(len(ordered) - 1) // 2]
    row.runs_seconds = [round(r.seconds, 4) for r in runs]
    return row


def prepare_store(kind: str, tmp_root: Path, info: dict) -> Store:
    store = Store(kind, None, tmp_root / kind)
    store.tmp_root.mkdir(parents=True, exist_ok=True)
    if kind == "postgres":
        store.database_url = prepare_postgres()
        info["postgresql"] = postgres_version(store.database_url)
    return store


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=2000, help="decisions per path (default 2000)")
    p.add_argument("--quick", action="store_true", help="smoke run: N=300, one repetition")
    p.add_argument("--repeat", type=int, default=5,
                   help="runs of every path, fresh stores each; the median counts (default 5)")
    p.add_argument("--clients", type=int, default=1, help="concurrent keep-alive clients for the real server")
    p.add_argument("--server", choices=("gunicorn", "werkzeug"), default="gunicorn")
    p.add_argument("--stores", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    p.add_argument("--time-limit", type=float, default=900.0, help="seconds allowed per path and run (default 900)")
    p.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    p.add_argument("--keep", action="store_true", help="keep the SQLite files and server logs")
    p.add_argument("--no-floor", action="store_true", help="skip the HTTP floor (an empty Flask endpoint)")
    p.add_argument("--profile", metavar="FILE",
                   help="instead of the table: profile the test-client path on the first store with pyinstrument")
    args = p.parse_args(argv)
    n = 300 if args.quick else args.n
    repeat = 1 if args.quick else args.repeat
    if n < 1 or repeat < 1 or not 1 <= args.clients <= 16:
        p.error("--n and --repeat must be positive and --clients between 1 and 16")
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if not stores or any(s not in ("sqlite", "postgres") for s in stores):
        p.error("--stores takes sqlite and/or postgres")

    requests = build_requests(n)
    mix = mix_of(requests)
    info = machine()
    print(f"Append benchmark: {n} decisions per path, median of {repeat} run(s); {info.get('cpus')} CPUs, "
          f"{info.get('memory_gib')} GiB, Python {info['python']}, eventsourcing {info['eventsourcing']}, "
          f"SQLite {info['sqlite']}, commit {info.get('commit')}, load {info.get('loadavg_at_start')}")
    print("Decision mix of the HTTP paths (each decision = 1 domain event + 1 ledger entry, one save):")
    for kind, count in mix.items():
        print(f"  {count:6d}  {count / n:4.0%}  {kind:17s} {MIX_DESCRIPTION[kind]}")
    print("Bare library: one trivial aggregate, one event per call, one save per call, same env as Governance.")

    tmp_root = Path(tempfile.mkdtemp(prefix="styrkedja-bench-"))
    rows: list[Row] = []
    checks: list[dict] = []
    try:
        if args.profile:
            store = prepare_store(stores[0], tmp_root, info)
            profile_test_client(store, requests, Path(args.profile))
            return 0
        for kind in stores:
            store = prepare_store(kind, tmp_root, info)
            limit = args.time_limit
            runs: dict[str, list[Row]] = {}
            for rep in range(repeat):
                print(f"[{kind}] run {rep + 1}/{repeat} ...", flush=True)
                # Interleaved, so that drift of the machine touches every path alike.
                context = [run_bare(store, n, time.monotonic() + limit, False, rep, tenant_recorder=True)] \
                    if kind == "postgres" else []
                for row in (run_bare(store, n, time.monotonic() + limit, False, rep),
                            run_bare(store, n, time.monotonic() + limit, True, rep), *context,
                            run_test_client(store, requests, time.monotonic() + limit, checks, rep),
                            run_server(store, requests, time.monotonic() + limit, checks, args.server,
                                       args.clients, rep)):
                    runs.setdefault(row.path, []).append(row)
                    latency = f", latency ms p50 {row.latency_ms['p50']} p95 {row.latency_ms['p95']}" \
                        if row.latency_ms else ""
                    cpu = f", CPU ms/decision {1000 * row.cpu_client / row.decisions:.2f} here" + (
                        f" + {1000 * row.cpu_server / row.decisions:.2f} server" if row.cpu_server is not None else "")
                    print(f"  {row.path}: {row.rate:.0f} decisions/s{latency}{cpu}", flush=True)
            bare_runs = next(iter(runs.values()))
            medians = [median_row(r) for r in runs.values()]
            for row, path_runs in zip(medians, runs.values(), strict=True):
                row.ratio = row.rate / medians[0].rate
                row.paired_ratios = [round(r.rate / b.rate, 3) for r, b in zip(path_runs, bare_runs, strict=True)]
            rows.extend(medians)
        if not args.no_floor:
            print("[http floor] an empty Flask endpoint through the same HTTP paths ...", flush=True)
            floors = [run_floor(requests, args.server, tmp_root) for _ in range(repeat)]
            info["http_floor"] = {path: sorted(f[path] for f in floors)[(repeat - 1) // 2] for path in floors[0]}
    finally:
        if args.keep:
            print(f"kept {tmp_root}")
        else:
            shutil.rmtree(tmp_root, ignore_errors=True)

    info["loadavg_at_end"] = os.getloadavg()
    print()
    print_table(rows)
    print("\nCPU per decision during the timed part (less sensitive to other load than wall time; PostgreSQL's own"
          " server processes not counted):")
    for r in rows:
        base = next(b for b in rows if b.store == r.store)
        total = (r.cpu_client + (r.cpu_server or 0.0)) / r.decisions
        share = base.cpu_client / base.decisions / total if total else 0.0
        server = f" = {1000 * r.cpu_client / r.decisions:.2f} client + {1000 * r.cpu_server / r.decisions:.2f} server" \
            if r.cpu_server is not None else ""
        print(f"  {r.store:8s} {r.path:46s} {1000 * total:6.2f} ms{server}  (bare/path {share:.0%})")
    if "http_floor" in info:
        print("\nHTTP floor (an empty Flask endpoint that parses the same JSON bodies; median):")
        for path, rate in info["http_floor"].items():
            print(f"  {path:34s} {rate:6.0f} requests/s")
    print(f"load average at the end: {info['loadavg_at_end']}")
    print(f"\nmedian of {repeat} run(s); ratio to bare = decisions/s of the path / decisions/s of the bare library "
          "(call+save) on the same store; paired ratio = the same within each run (median, range), steadier when "
          "the machine's load drifts; goal: the full path reaches at least 50 %.")
    print("\nLedger verification after the runs:")
    all_ok = all(check["ok"] for check in checks)
    groups: dict[tuple, list[dict]] = {}
    for check in checks:
        groups.setdefault((check["store"], check["path"], check["via"]), []).append(check)
    for (store_kind, path, via), group in groups.items():
        good = sum(c["ok"] for c in group)
        bad = [c for c in group if not c["ok"]]
        detail = f"checked {group[-1]['checked']} entries, head {group[-1]['head']}" if not bad else \
            "; ".join(f"checked {c['checked']}, head {c['head']}, expected {c['expected_head']}" for c in bad)
        print(f"  {store_kind:8s} {path:11s} via {via:10s} {'ok' if not bad else 'FAILED'} "
              f"({good}/{len(group)} runs): {detail}")
    if args.json:
        report = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "n": n, "repeat": repeat,
                  "clients": args.clients, "server": args.server, "machine": info, "mix": mix,
                  "mix_description": MIX_DESCRIPTION,
                  "rows": [{**asdict(r), "decisions_per_s": round(r.rate, 1),
                            "ratio": round(r.ratio, 3) if r.ratio is not None else None} for r in rows],
                  "verification": checks, "ledger_ok": all_ok}
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"\nfigures written to {args.json}")
    if not all_ok:
        print("bench: the ledger did not verify", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
