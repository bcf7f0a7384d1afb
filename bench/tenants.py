"""300-tenant footprint: tenant creation time, PostgreSQL connections per process, web memory per tenant.

Everything goes through the production path: a real gunicorn (web.wsgi:app), `styrkedja projections run` and
`styrkedja worker` on a dedicated PostgreSQL database and a Redis database of their own. Tenants are created
with POST /api/v1/tenants (the operator's path, timed one by one) and every event is an HTTP command
(define_indicator: one decision, one ledger entry) sent by several client threads.

Measured:
- time to create a tenant (POST /api/v1/tenants, sequential, median and p95);
- PostgreSQL connections held by each process, sampled from pg_stat_activity every 0.5 s during the load and
  mapped to the client process through its TCP port (the LISTEN connection of the runner counted apart), against
  STYRKEDJA_POOL_SIZE;
- RSS of a fresh one-worker gunicorn before and after touching every tenant (ledger head and verification),
  per tenant = delta / tenants. One worker, so that every tenant lands in the process measured.

    .venv/bin/python bench/tenants.py [--tenants 300 --events 200 --clients 4] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("STYRKEDJA_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = os.environ.get("STYRKEDJA_BENCH_TENANTS_DB", "styrkedja_bench_tenants")
REDIS_BASE = os.environ.get("STYRKEDJA_BENCH_REDIS", "redis://127.0.0.1:6379")
REQUEST_TIMEOUT = 60.0
START_TIMEOUT = 60.0
REDIS_CLAIM_KEY = "styrkedja-test:claimed-by"  # the key tests/conftest.py claims a database with
APP_NAMES = {"web": "bench-web", "runner": "bench-runner", "worker": "bench-worker"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- services -----------------------------------------------------------------------------------


def fresh_database(admin_url: str, name: str) -> str:
    """The bench database, created if missing, every schema of an earlier run dropped; answers its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(url, autocommit=True) as conn:
        schemas = [r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
            "AND nspname NOT IN ('information_schema', 'public')")]
        for schema in schemas:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall():
            conn.execute(sql.SQL("DROP TABLE public.{} CASCADE").format(sql.Identifier(table)))
    return url


def claim_redis_db(base: str) -> tuple[str, object]:
    """An empty Redis database of our own, claimed the way tests/conftest.py claims one (never database 0)."""
    from redis import Redis

    for index in range(15, 0, -1):
        client = Redis.from_url(f"{base}/{index}")
        if client.set(REDIS_CLAIM_KEY, f"bench-tenants-{os.getpid()}", nx=True, ex=3600):
            if client.dbsize() == 1:
                return f"{base}/{index}", client
            client.delete(REDIS_CLAIM_KEY)
    raise SystemExit("bench: no empty Redis database (1..15)")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path

    def pids(self) -> list[int]:
        """The process and its descendants (gunicorn workers, RQ work horses)."""
        found, todo = [], [self.popen.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            with contextlib.suppress(OSError):
                for task in os.listdir(f"/proc/{pid}/task"):
                    todo += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
        return found

    def children(self) -> list[int]:
        return [pid for pid in self.pids() if pid != self.popen.pid]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def socket_owners(pids: list[int], server_port: int) -> dict[int, int]:
    """Local TCP port -> owning pid, for the given processes' sockets connected to `server_port`.

    Only those: Linux hands out the same ephemeral port for connections to different servers (Redis, PostgreSQL).
    """
    inode_pid = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inode_pid[int(target[8:-1])] = pid
    owners = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                inode = int(parts[9])
                if inode in inode_pid and int(parts[2].rsplit(":", 1)[1], 16) == server_port:
                    owners[int(parts[1].rsplit(":", 1)[1], 16)] = inode_pid[inode]
    return owners


class Fleet:
    """gunicorn, the projection runner and an RQ worker on one database and one Redis database."""

    def __init__(self, database_url: str, redis_url: str, pool_size: int, workdir: Path) -> None:
        self.database_url, self.redis_url, self.pool_size = database_url, redis_url, pool_size
        self.workdir = workdir
        self.admin_token = "bench-admin-" + secrets.token_hex(12)
        self.processes: dict[str, Process] = {}
        self.base = ""

    def env(self, role: str) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "REDIS_URL", "STYRKEDJA_DATA_DIR", "STYRKEDJA_ARTIFACT_STORE")}
        env.update(DATABASE_URL=self.database_url, REDIS_URL=self.redis_url, STYRKEDJA_DATA_DIR=str(self.workdir),
                   STYRKEDJA_POOL_SIZE=str(self.pool_size), STYRKEDJA_ADMIN_TOKEN=self.admin_token,
                   PGAPPNAME=APP_NAMES[role], PYTHONUNBUFFERED="1")
        return env

    def _spawn(self, name: str, role: str, argv: list[str]) -> Process:
        log = self.workdir / f"{name}.log"
        popen = subprocess.Popen(argv, env=self.env(role), cwd=ROOT, stdout=log.open("ab"),
                                 stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = Process(name, popen, log)
        return self.processes[name]

    def prepare(self) -> None:
        """The platform schema, made once before several gunicorn workers start at the same moment."""
        done = subprocess.run([str(BIN / "styrkedja"), "tenants", "list"], env=self.env("web"), cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"bench: styrkedja tenants list failed: {done.stdout}{done.stderr}")

    def start_web(self, workers: int, threads: int = 4) -> None:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self._spawn("web", "web", [str(BIN / "gunicorn"), "--workers", str(workers), "--threads", str(threads),
                                   "--bind", f"127.0.0.1:{port}", "--timeout", "120", "web.wsgi:app"])
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base}/api/v1/openapi.json", timeout=5).status_code == 200:
                    break
            if self.processes["web"].popen.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"bench: gunicorn did not start; see {self.processes['web'].log}")
            time.sleep(0.2)
        while len(self.processes["web"].children()) < workers:
            time.sleep(0.1)

    def stop_web(self) -> None:
        self.processes.pop("web").stop()

    def start_runner(self) -> None:
        self._spawn("runner", "runner", [str(BIN / "styrkedja"), "projections", "run"])

    def start_worker(self) -> None:
        self._spawn("worker", "worker", [str(BIN / "styrkedja"), "worker"])

    def web_workers(self) -> list[int]:
        return self.processes["web"].children()

    def connections(self) -> dict[int, dict]:
        """pid -> {role, pooled, listen} for every connection to the bench database held by our processes."""
        roles = {pid: name for name, process in self.processes.items() for pid in process.pids()}
        owners = socket_owners(list(roles), urlparse(self.database_url).port or 5432)
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute("SELECT client_port, application_name, query FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                                "AND client_port IS NOT NULL").fetchall()
        held: dict[int, dict] = {}
        for port, app_name, query in rows:
            pid = owners.get(port)
            if pid is None:
                continue
            entry = held.setdefault(pid, {"role": roles[pid], "application_name": app_name, "pooled": 0, "listen": 0})
            entry["listen" if (query or "").lstrip().upper().startswith("LISTEN") else "pooled"] += 1
        return held

    def close(self) -> None:
        for process in list(self.processes.values()):
            process.stop()
        self.processes.clear()


class ConnectionSampler(threading.Thread):
    """pg_stat_activity every `interval` s: the most connections each process ever held."""

    def __init__(self, fleet: Fleet, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.fleet, self.interval = fleet, interval
        self.peak: dict[int, dict] = {}
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        # A connection counts as held when two samples in a row see it. One sample alone also catches
        # moments that are not holding: a backend still exiting after its client closed, or psycopg_pool
        # replacing a broken or expired connection, the old one not yet gone from pg_stat_activity.
        previous: dict[int, dict] = {}
        while not self._halt.is_set():
            with contextlib.suppress(psycopg.Error, KeyError):
                current = self.fleet.connections()
                for pid, entry in current.items():
                    before = previous.get(pid, {"pooled": 0, "listen": 0})
                    peak = self.peak.setdefault(pid, {**entry, "pooled": 0, "listen": 0, "seen": 0})
                    peak["pooled"] = max(peak["pooled"], min(before["pooled"], entry["pooled"]))
                    peak["listen"] = max(peak["listen"], min(before["listen"], entry["listen"]))
                    # Short-lived processes (RQ's work horses) may be sampled once only: the raw count too.
                    peak["seen"] = max(peak["seen"], entry["pooled"] + entry["listen"])
                previous = current
                self.samples += 1
            self._halt.wait(self.interval)

    def stop(self) -> dict[int, dict]:
        self._halt.set()
        self.join(timeout=10)
        return self.peak


# --- the HTTP side ------------------------------------------------------------------------------


@dataclass
class TenantRun:
    slug: str
    token: str = ""
    create_seconds: float = 0.0
    base_head: int = 0  # the ledger head once the tenant is created, before the bench's events
    events: int = 0

    @property
    def expected_head(self) -> int:
        return self.base_head + self.events


@dataclass
class Client:
    base: str
    admin_token: str
    local: threading.local = field(default_factory=threading.local)

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def call(self, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, dict]:
        answer = self.session().request(method, self.base + path, json=body, timeout=REQUEST_TIMEOUT,
                                        headers={"Authorization": f"Bearer {token}"})
        return answer.status_code, (answer.json() if answer.content else {})

    def expect(self, wanted: int, method: str, path: str, token: str, body: dict | None = None) -> dict:
        status, answer = self.call(method, path, token, body)
        if status != wanted:
            raise SystemExit(f"bench: {method} {path} answered {status}: {json.dumps(answer)[:400]}")
        return answer

    def create_tenant(self, slug: str, index: int) -> TenantRun:
        run = TenantRun(slug)
        started = time.perf_counter()
        self.expect(201, "POST", "/api/v1/tenants", self.admin_token,
                    {"slug": slug, "name": f"Bänkkommun {index}", "municipality_code": f"{1000 + index % 8999}"})
        run.create_seconds = time.perf_counter() - started
        run.token = self.expect(201, "POST", f"/api/v1/t/{slug}/users", self.admin_token, {
            "email": f"registrator@{slug}.example.se", "name": "Registrator", "role": "registrar"})["token"]
        run.base_head = self.expect(200, "GET", f"/api/v1/t/{slug}/ledger", run.token)["head_position"]
        return run

    def define_indicator(self, run: TenantRun, i: int) -> None:
        self.expect(201, "POST", f"/api/v1/t/{run.slug}/indicators", run.token,
                    {"code": f"K{i:06d}", "name": f"Nyckeltal {i}", "unit": "%", "direction": "increase"})


def record_events(client: Client, runs: list[TenantRun], events: int, clients: int, max_seconds: float) -> float:
    """`events` commands in every tenant from `clients` threads; answers seconds.

    Round by round (event i of every tenant before event i + 1 of any), so that when `max_seconds` runs out the
    tenants differ by at most one event; the figures then state the events actually recorded.
    """
    work = [(run, i) for i in range(events) for run in runs]
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds

    def send(item) -> None:
        run, i = item
        if time.monotonic() > deadline:
            return
        client.define_indicator(run, i)
        with lock:
            run.events += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(send, work, chunksize=16))
    return time.perf_counter() - started


def touch_all(client: Client, runs: list[TenantRun], clients: int) -> dict[str, dict]:
    """Every tenant's ledger head and chain verification, as a reader would ask for them."""
    def touch(run: TenantRun) -> tuple[str, dict]:
        head = client.expect(200, "GET", f"/api/v1/t/{run.slug}/ledger", run.token)
        verified = client.expect(200, "GET", f"/api/v1/t/{run.slug}/ledger/verify", run.token)
        return run.slug, {"head": head["head_position"], "verify": verified}

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return dict(pool.map(touch, runs))


def isolation_refusals(client: Client, runs: list[TenantRun], pairs: int = 20) -> list[int]:
    """A tenant's token on another tenant's ledger: the statuses answered (404 expected)."""
    return [client.call("GET", f"/api/v1/t/{runs[(i + 1) % len(runs)].slug}/ledger", runs[i].token)[0]
            for i in range(0, len(runs), max(1, len(runs) // pairs))]


def summarise_connections(peak: dict[int, dict]) -> dict[str, dict]:
    by_role: dict[str, dict] = defaultdict(lambda: {"processes": 0, "max_pooled": 0, "max_listen": 0, "per_pid": {}})
    for pid, entry in sorted(peak.items()):
        role = by_role[entry["role"]]
        role["processes"] += 1
        role["max_pooled"] = max(role["max_pooled"], entry["pooled"])
        role["max_listen"] = max(role["max_listen"], entry["listen"])
        role["per_pid"][str(pid)] = entry["pooled"] + entry["listen"]
    return dict(by_role)


# --- the bench ----------------------------------------------------------------------------------


def run(args) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="styrkedja-tenants-"))
    database_url = fresh_database(args.pg_admin_url, args.database)
    redis_url, redis = claim_redis_db(args.redis)
    fleet = Fleet(database_url, redis_url, args.pool_size, workdir)
    started_at = time.time()
    load_before = os.getloadavg()
    try:
        fleet.prepare()
        fleet.start_web(args.web_workers)
        fleet.start_runner()
        fleet.start_worker()
        client = Client(fleet.base, fleet.admin_token)
        sampler = ConnectionSampler(fleet)
        sampler.start()

        print(f"creating {args.tenants} tenants one by one ...", flush=True)
        t0 = time.perf_counter()
        runs = [client.create_tenant(f"k{i:03d}", i) for i in range(args.tenants)]
        creating = time.perf_counter() - t0
        create_ms = [r.create_seconds * 1000 for r in runs]
        print(f"recording {args.events} events in each with {args.clients} client threads ...", flush=True)
        web_cpu_before = sum(cpu_seconds(pid) for pid in fleet.web_workers())
        recording = record_events(client, runs, args.events, args.clients, args.max_seconds)
        web_cpu = sum(cpu_seconds(pid) for pid in fleet.web_workers()) - web_cpu_before

        print("report jobs on the RQ worker ...", flush=True)
        rids = [(run_.slug, client.expect(202, "POST", f"/api/v1/t/{run_.slug}/reports", run_.token,
                                          {"kind": "ledger_export", "format": "jsonl"})["id"])
                for run_ in runs[:: max(1, len(runs) // args.reports)][: args.reports]]
        deadline = time.monotonic() + 300
        finished = 0
        for slug, rid in rids:
            token = next(r.token for r in runs if r.slug == slug)
            while True:
                status = client.expect(200, "GET", f"/api/v1/t/{slug}/reports/{rid}", token)["status"]
                if status in ("finished", "failed") or time.monotonic() > deadline:
                    finished += status == "finished"
                    break
                time.sleep(0.2)

        print("waiting for the projection runner to catch up ...", flush=True)
        caught_up_in = wait_for_runner(client, runs, deadline=time.monotonic() + 300)
        verified = touch_all(client, runs, args.clients)
        refusals = isolation_refusals(client, runs)
        peak = sampler.stop()

        print("memory: a fresh one-worker gunicorn, before and after touching every tenant ...", flush=True)
        fleet.stop_web()
        fleet.start_web(1)
        client = Client(fleet.base, fleet.admin_token)
        [worker] = fleet.web_workers()
        client.expect(200, "GET", f"/api/v1/t/{runs[0].slug}/ledger", runs[0].token)  # the first tenant, warm
        rss_before = rss_kib(worker)
        touch_all(client, runs, args.clients)
        rss_after = rss_kib(worker)
        touch_all(client, runs, args.clients)  # a second pass: the cache is full, memory should stay
        rss_again = rss_kib(worker)
        single_worker_conns = fleet.connections().get(worker, {"pooled": 0, "listen": 0})
    except BaseException:
        for process in fleet.processes.values():  # what the services said, before their folder goes
            print(f"--- last lines of {process.name}.log ---\n"
                  + "\n".join(process.log.read_text(errors="replace").splitlines()[-40:]), file=sys.stderr)
        raise
    finally:
        fleet.close()
        redis.flushdb()
        shutil.rmtree(workdir, ignore_errors=True)

    total_events = sum(r.events for r in runs)
    return {
        "bench": "tenants", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started_at)),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_before": [round(x, 2) for x in load_before],
                    "load_after": [round(x, 2) for x in os.getloadavg()]},
        "config": {"tenants": args.tenants, "events_per_tenant_asked": args.events,
                   "events_per_tenant": [min(r.events for r in runs), max(r.events for r in runs)],
                   "clients": args.clients,
                   "web_workers": args.web_workers, "threads_per_worker": 4, "pool_size": args.pool_size,
                   "database": args.database},
        "create_tenant_ms": {"median": round(statistics.median(create_ms), 1),
                             "p95": round(percentile(create_ms, 95), 1), "max": round(max(create_ms), 1),
                             "min": round(min(create_ms), 1), "all_seconds": round(creating, 1)},
        "events": {"total": total_events, "seconds": round(recording, 1),
                   "per_second": round(total_events / recording, 1),
                   "web_cpu_ms_per_event": round(web_cpu * 1000 / total_events, 2)},
        "reports": {"requested": len(rids), "finished": finished},
        "runner_caught_up_s": caught_up_in,
        "ledgers_verified": sum(1 for v in verified.values() if v["verify"]["ok"]),
        "ledger_heads_ok": sum(1 for r in runs if verified[r.slug]["head"] == r.expected_head),
        "isolation": {"checked": len(refusals), "answered_404": refusals.count(404)},
        "connections_peak": summarise_connections(peak), "sampler_samples": sampler.samples,
        "memory": {"worker_rss_before_mib": round(rss_before / 1024, 1),
                   "worker_rss_after_mib": round(rss_after / 1024, 1),
                   "worker_rss_second_pass_mib": round(rss_again / 1024, 1),
                   "per_tenant_kib": round((rss_after - rss_before) / len(runs), 1),
                   "single_worker_connections": single_worker_conns},
    }


def wait_for_runner(client: Client, runs: list[TenantRun], deadline: float) -> float | None:
    """Seconds until every tenant's read models reached its last position (None if not by the deadline).

    Asked as a reader would: GET /state?min_position=N answers 503 projection_lagging until the runner is there.
    """
    started = time.monotonic()
    behind = list(runs)
    while behind and time.monotonic() < deadline:
        behind = [r for r in behind if client.call("GET", f"/api/v1/t/{r.slug}/state?min_position={r.expected_head}",
                                                   r.token)[0] != 200]
    return None if behind else round(time.monotonic() - started, 1)


def table(result: dict) -> str:
    c, m, e = result["create_tenant_ms"], result["memory"], result["events"]
    lines = [
        f"tenants: {result['config']['tenants']} × {result['config']['events_per_tenant']} events per tenant "
        f"({e['total']} events in {e['seconds']} s, {e['per_second']}/s, web CPU {e['web_cpu_ms_per_event']} ms/event)",
        f"load average before / after: {result['machine']['load_before']} / {result['machine']['load_after']}",
        "",
        "| measure | value |", "|---|---:|",
        f"| create a tenant, median | {c['median']} ms |", f"| create a tenant, p95 | {c['p95']} ms |",
        f"| create a tenant, max | {c['max']} ms |",
        f"| web worker RSS before touching the tenants | {m['worker_rss_before_mib']} MiB |",
        f"| web worker RSS after touching all | {m['worker_rss_after_mib']} MiB |",
        f"| web worker RSS after a second pass | {m['worker_rss_second_pass_mib']} MiB |",
        f"| memory per tenant in the web process | {m['per_tenant_kib']} KiB |",
        f"| ledgers verified / heads at the expected position | {result['ledgers_verified']} / "
        f"{result['ledger_heads_ok']} |",
        f"| other tenant's token answered 404 | {result['isolation']['answered_404']} of "
        f"{result['isolation']['checked']} |",
        f"| report jobs finished on the RQ worker | {result['reports']['finished']} of "
        f"{result['reports']['requested']} |",
        f"| projection runner caught up after the load | {result['runner_caught_up_s']} s |",
        "",
        f"PostgreSQL connections held, peak per process ({result['sampler_samples']} samples), "
        f"pool size {result['config']['pool_size']}:", "",
        "| process | processes | most held by one process | of which LISTEN | per pid (held, peak) |",
        "|---|---:|---:|---:|---|",
    ]
    for role, entry in sorted(result["connections_peak"].items()):
        lines.append(f"| {role} | {entry['processes']} | {max(entry['per_pid'].values())} | {entry['max_listen']} | "
                     f"{', '.join(f'{p}: {n}' for p, n in entry['per_pid'].items())} |")
    single = m["single_worker_connections"]
    lines.append(f"| web (1 worker, after touching every tenant twice) | 1 | {single['pooled'] + single['listen']} | "
                 f"{single['listen']} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=300)
    parser.add_argument("--events", type=int, default=200, help="events per tenant")
    parser.add_argument("--clients", type=int, default=4, help="client threads sending commands")
    parser.add_argument("--max-seconds", type=float, default=480.0,
                        help="stop recording events after this long (every tenant gets the same count ±1)")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=5)
    parser.add_argument("--reports", type=int, default=6, help="report jobs for the RQ worker")
    parser.add_argument("--pg-admin-url", default=PG_ADMIN_URL)
    parser.add_argument("--database", default=PG_BENCH_DB)
    parser.add_argument("--redis", default=REDIS_BASE, help="Redis server URL without a database index")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)
    result = run(args)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
