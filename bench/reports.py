"""Reports benchmark: the discharge basis and the annual report at 100k events, and RQ throughput.

Issue "Reports". A synthetic tenant (bench/asof.py's generator: the ledger records the real commands write,
20 bodies, 200 goals, 2015–2026) is written straight into a PostgreSQL event store and its read models are
caught up. Then:

1. workers.jobs.build_report is called in this process (as an RQ work horse would), 5 times per report:
   the discharge basis (one nämnd, one year) and the annual report, each as HTML and as PDF, and, as the
   baseline in the same run, each HTML once more with the whole-ledger reader the reports used before they
   read only their scope. Each run is split into collect (workers.content.collect; of which reading the
   read models, content.read) and render (workers.render.render); the rest is the job's own bookkeeping
   (manifest, ledger entry, file). Before the builds, the bench checks that the narrowed reads give the
   same documents as the whole ledger at this size.
2. RQ throughput: the same queue ("reports") and `styrkedja worker --burst` subprocesses (1 and 2 of
   them) draining ~200 no-op jobs (bench/_noop.py) and ~40 discharge-basis HTML jobs enqueued through
   workers.queue.ReportQueue, in the same run; jobs/s from the first job's start to the last job's end.

Goal: a discharge basis in under 3 s at 100k events.

    .venv/bin/python bench/reports.py                    # 100k events
    .venv/bin/python bench/reports.py --quick --json out.json
    .venv/bin/python bench/reports.py --profile bench/results/reports-profile   # also pyinstrument
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from asof import generate, new_tenant, tenant_views  # noqa: E402  (bench/asof.py's generator)

from domain.stores import StoreConfig  # noqa: E402
from projections.tenants import Tenants  # noqa: E402

PG_ADMIN_URL = os.environ.get("STYRKEDJA_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "styrkedja_bench_reports"
REDIS_BASE = os.environ.get("STYRKEDJA_BENCH_REDIS", "redis://127.0.0.1:6379")
REDIS_DB = 13
GOAL_SECONDS = 3.0
SLUG = "reports-bench"
BODY, YEAR = "BUN", 2024  # a nämnd and a year with the whole cycle: frame, follow-up, audit report, discharge
WORKER_TIMEOUT = 1800.0


# --- the tenant ------------------------------------------------------------------------------------------


def prepare_postgres(database: str) -> str:
    """The bench database (created if missing), with no schema left from an earlier run."""
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone():
            conn.execute(f'CREATE DATABASE "{database}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + database
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        schemas = conn.execute(r"SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\_%' "
                               "OR nspname = 'platform'").fetchall()
        for (schema,) in schemas:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return url


def analyze(url: str, slug: str) -> None:
    import psycopg

    from domain.stores import schema_name

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'ANALYZE "{schema_name(slug)}".facts')
        conn.execute(f'ANALYZE "{schema_name(slug)}".fact_keys')
        conn.execute(f'ANALYZE "{schema_name(slug)}".timeline')


# --- in-process report builds ------------------------------------------------------------------------------


def summary(samples: list[float]) -> dict:
    return {"n": len(samples), "median": round(statistics.median(samples), 3), "max": round(max(samples), 3),
            "min": round(min(samples), 3), "first": round(samples[0], 3)}


class Splits:
    """Times workers.content.collect, content.read and workers.render.render inside build_report.

    build_report imports collect and render when it runs, and collect looks up read when it runs, so replacing
    the module attributes here is enough; nothing in the product changes. `whole_ledger` makes every build read
    the whole ledger as the reports did before they were narrowed (the baseline measured in the same run).
    """

    def __init__(self, whole_ledger: bool = False) -> None:
        self.current: dict[str, float] = {}
        self.whole_ledger = whole_ledger

    def __enter__(self) -> Splits:
        import workers.content as content
        import workers.render as render

        self._saved = (content.collect, content.read, render.render)
        splits = self

        def timed(fn: Callable, name: str, **forced) -> Callable:
            def wrapper(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return fn(*args, **{**kwargs, **forced})
                finally:
                    splits.current[name] = splits.current.get(name, 0.0) + time.perf_counter() - started
            return wrapper

        content.collect = timed(self._saved[0], "collect")
        content.read = timed(self._saved[1], "read", **({"whole_ledger": True} if self.whole_ledger else {}))
        render.render = timed(self._saved[2], "render")
        return self

    def __exit__(self, *exc) -> None:
        import workers.content as content
        import workers.render as render

        content.collect, content.read, render.render = self._saved


def report_params(kind: str, fmt: str, position: int, body: str | None = BODY, year: int = YEAR) -> dict:
    """The job's arguments as POST /reports makes them (as_of today: workers/requests.py request_report)."""
    as_of = dt.date.today()
    return {"kind": kind, "fmt": fmt, "year": year, "body": body if kind == "discharge_basis" else None,
            "period": None, "as_of": as_of.isoformat(), "known_at": None, "position": position}


def measure_builds(slug: str, position: int, repeat: int, log: Callable[[str], None]) -> dict:
    from workers.artifacts import report_id
    from workers.jobs import artifact_store, build_report

    out: dict = {}
    # The reports as built now, and (the baseline, in the same run) the HTML as the whole-ledger reader builds it.
    variants = [("discharge_basis", "html", False), ("discharge_basis", "html", True),
                ("discharge_basis", "pdf", False), ("annual", "html", False), ("annual", "html", True),
                ("annual", "pdf", False)]
    for kind, fmt, whole_ledger in variants:
        params = report_params(kind, fmt, position)
        totals, cpus, sizes = [], [], []
        parts: dict[str, list[float]] = {"collect": [], "read": [], "render": [], "other": []}
        with Splits(whole_ledger) as splits:
            for i in range(repeat):
                rid = report_id(slug, {**params, "bench_run": i, "bench_pid": os.getpid(),
                                       "whole_ledger": whole_ledger})
                splits.current = {}
                started, cpu = time.perf_counter(), time.process_time()
                manifest = build_report(tenant=slug, rid=rid, **params)
                total = time.perf_counter() - started
                cpus.append(time.process_time() - cpu)
                if manifest.get("status") != "finished":
                    raise SystemExit(f"bench: {kind} {fmt} did not finish: {manifest}")
                totals.append(total)
                for name in ("collect", "read", "render"):
                    parts[name].append(splits.current.get(name, 0.0))
                parts["other"].append(total - splits.current.get("collect", 0.0)
                                      - splits.current.get("render", 0.0))
                sizes.append(manifest["size"])
        path = artifact_store().file_path(slug, rid, fmt)
        label = f"{kind}/{fmt}" + (" (whole-ledger reader, before)" if whole_ledger else "")
        out[label] = {"params": params, "total": summary(totals), "cpu": summary(cpus),
                      **{name: summary(values) for name, values in parts.items()},
                      "bytes": sizes[-1], "artifact": str(path), "runs": [round(t, 3) for t in totals]}
        if fmt == "pdf":
            out[label]["pages"] = pdf_pages(path)
            out[label]["render_s_per_page"] = round(out[label]["render"]["median"] / out[label]["pages"], 3)
        log(f"  {label:<50} median {out[label]['total']['median']:.3f} s, max {out[label]['total']['max']:.3f} s, "
            f"cpu {out[label]['cpu']['median']:.3f} s "
            f"(collect {out[label]['collect']['median']:.3f}, render {out[label]['render']['median']:.3f}); "
            f"{sizes[-1]:,} bytes")
    return out


def pdf_pages(path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(str(path)).pages)


def same_documents(views, position: int) -> dict:
    """Whether each report read from its scope equals the one read from the whole ledger, at this tenant's size."""
    from workers.content import collect

    out = {}
    for kind in ("discharge_basis", "annual"):
        p = report_params(kind, "html", position)
        args = {"year": p["year"], "body": p["body"], "period": None, "as_of": dt.date.fromisoformat(p["as_of"]),
                "known_at": None, "upto": position, "head_hash": "0" * 64, "generated_at": "2026-01-01T00:00:00+00:00"}
        out[kind] = collect(views, kind, **args) == collect(views, kind, whole_ledger=True, **args)
    return out


def document_stats(views, position: int) -> dict:
    """How big the two documents are: sections, tables, rows, charts."""
    from workers.content import collect

    stats = {}
    for kind in ("discharge_basis", "annual"):
        p = report_params(kind, "html", position)
        doc = collect(views, kind, year=p["year"], body=p["body"], period=None,
                      as_of=dt.date.fromisoformat(p["as_of"]), known_at=None, upto=position, head_hash="0" * 64,
                      generated_at="2026-01-01T00:00:00+00:00")
        stats[kind] = {"sections": len(doc["sections"]), "tables": len(doc["tables"]),
                       "rows": sum(len(t["rows"]) for t in doc["tables"].values()), "charts": len(doc["charts"]),
                       "json_bytes": len(json.dumps(doc, ensure_ascii=False, default=str)),
                       "largest_tables": dict(sorted(((name, len(t["rows"])) for name, t in doc["tables"].items()),
                                                     key=lambda kv: -kv[1])[:4])}
    return stats


COLD_SCRIPT = """
import json, os, sys, time
sys.path.insert(0, os.environ["BENCH_ROOT"])
import workers.jobs  # the worker imported this (and rq) before forking its work horse
from workers.jobs import build_report
params = json.loads(sys.argv[1])
started = time.perf_counter()
manifest = build_report(**params)
print(json.dumps({"build": time.perf_counter() - started, "status": manifest["status"]}))
"""


def measure_cold(slug: str, position: int, url: str, data_dir: Path, runs: int, label: str = "discharge_basis/html"
                 ) -> dict:
    """build_report in a fresh process: what each RQ work horse pays (it is forked with nothing of the job loaded,
    so it imports the content and render modules and opens its own tenant registry, pool and connections)."""
    from workers.artifacts import report_id

    kind, fmt = label.split("/")
    params = report_params(kind, fmt, position)
    env = {**os.environ, "DATABASE_URL": url, "STYRKEDJA_DATA_DIR": str(data_dir), "BENCH_ROOT": str(ROOT)}
    builds = []
    for i in range(runs):
        rid = report_id(slug, {**params, "bench_cold": i, "pid": os.getpid()})
        out = subprocess.run([sys.executable, "-c", COLD_SCRIPT, json.dumps({"tenant": slug, "rid": rid, **params})],
                             env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if result["status"] != "finished":
            raise SystemExit(f"bench: cold build did not finish: {out.stdout} {out.stderr}")
        builds.append(result["build"])
    return {"label": label, "build": summary(builds)}


def profile_builds(slug: str, position: int, directory: Path, log: Callable[[str], None]) -> dict:
    """pyinstrument over one build of each report (warm: after the timed runs)."""
    from pyinstrument import Profiler

    from workers.artifacts import report_id
    from workers.jobs import build_report

    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind, fmt in (("discharge_basis", "html"), ("discharge_basis", "pdf"), ("annual", "pdf")):
        params = report_params(kind, fmt, position)
        rid = report_id(slug, {**params, "bench_profile": True})
        profiler = Profiler(interval=0.002)
        profiler.start()
        build_report(tenant=slug, rid=rid, **params)
        profiler.stop()
        path = directory / f"{kind}-{fmt}.txt"
        path.write_text(profiler.output_text(unicode=True, color=False, show_all=False))
        # With the library frames too (WeasyPrint's layout and drawing), for the PDFs.
        (directory / f"{kind}-{fmt}-all.txt").write_text(profiler.output_text(unicode=True, color=False,
                                                                               show_all=True))
        files[f"{kind}/{fmt}"] = str(path)
        log(f"  profile {kind}/{fmt} -> {path}")
    return files


def what_if(slug: str, position: int, repeat: int, log: Callable[[str], None]) -> dict:
    """Bench-only experiments behind the suggestions in docs/performance.md; the product is not changed.

    1. The discharge basis with the garbage collector off during the build (the whole-ledger reader allocated
       a dict per ledger entry and a Fact per fact, which set off about a thousand collections per build).
    2. The reader of the discharge basis (one body's year) against the whole-ledger reader it replaced.
    3. PDFs of the same document at several printed lengths (pdf_what_if).
    """
    import gc

    from workers.artifacts import report_id
    from workers.content import read
    from workers.jobs import build_report, tenants

    params = report_params("discharge_basis", "html", position)
    out: dict = {}
    for label, disable in (("gc on", False), ("gc off", True)):
        walls, cpus = [], []
        for i in range(repeat):
            rid = report_id(slug, {**params, "bench_gc": label, "n": i, "pid": os.getpid()})
            gc.collect()
            if disable:
                gc.disable()
            try:
                started, cpu = time.perf_counter(), time.process_time()
                build_report(tenant=slug, rid=rid, **params)
                walls.append(time.perf_counter() - started)
                cpus.append(time.process_time() - cpu)
            finally:
                gc.enable()
        out[label] = {"wall": summary(walls), "cpu": summary(cpus)}
        log(f"  what-if discharge_basis/html, {label}: median {out[label]['wall']['median']:.3f} s, "
            f"cpu {out[label]['cpu']['median']:.3f} s")

    views = tenants().views(slug)
    as_of = dt.date.fromisoformat(params["as_of"])

    def timed(fn: Callable) -> tuple[float, object]:
        best, result = None, None
        for _ in range(3):
            started = time.perf_counter()
            result = fn()
            took = time.perf_counter() - started
            best = took if best is None or took < best else best
        return round(best, 3), result

    full, whole = timed(lambda: read(views, "discharge_basis", year=YEAR, body=BODY, period=None, as_of=as_of,
                                      upto=position, whole_ledger=True))
    narrow_s, narrow = timed(lambda: read(views, "discharge_basis", year=YEAR, body=BODY, period=None, as_of=as_of,
                                          upto=position))
    out["reader"] = {"whole_s": full, "whole_entries": len(whole.entries),
                     "whole_facts": sum(len(group) for group in whole.history.values()),
                     "narrow_s": narrow_s, "narrow_facts": sum(len(group) for group in narrow.history.values())}
    log(f"  reader: whole ledger {full:.3f} s ({len(whole.entries):,} entries, {out['reader']['whole_facts']:,} "
        f"facts); the body's year {narrow_s:.3f} s ({out['reader']['narrow_facts']:,} facts)")
    out["pdf"] = pdf_what_if(views, position, log)
    return out


def pdf_what_if(views, position: int, log: Callable[[str], None]) -> dict:
    """WeasyPrint's cost against the printed length: the discharge basis as built (the long tables in their
    compact print form), every table printed row by row as the HTML has it, and without the decisions table
    (the longest one left, 186 rows at 100k events)."""
    from weasyprint import HTML

    from workers.content import collect
    from workers.render import TEMPLATES, render_html

    p = report_params("discharge_basis", "pdf", position)
    doc = collect(views, "discharge_basis", year=YEAR, body=BODY, period=None, as_of=dt.date.fromisoformat(p["as_of"]),
                  known_at=None, upto=position, head_hash="0" * 64, generated_at="2026-01-01T00:00:00+00:00")
    full = json.loads(json.dumps(doc))
    for table in full["tables"].values():
        table["print"] = None
    shorter = json.loads(json.dumps(doc))
    shorter["tables"]["beslut"]["rows"] = []
    shorter["tables"]["beslut"]["print"] = None
    out = {}
    for label, variant in (("as built", doc), ("every row printed, as in the HTML", full),
                           ("as built, without the decisions table", shorter)):
        started, cpu = time.perf_counter(), time.process_time()
        rendered = HTML(string=render_html(variant, for_print=True), base_url=str(TEMPLATES)).render()
        data = rendered.write_pdf(pdf_tags=True)
        rows = sum(len((t.get("print") or t)["rows"]) for t in variant["tables"].values())
        out[label] = {"rows": rows, "pages": len(rendered.pages), "bytes": len(data),
                      "wall_s": round(time.perf_counter() - started, 3), "cpu_s": round(time.process_time() - cpu, 3)}
        log(f"  what-if pdf, {label}: {rows} rows, {len(rendered.pages)} pages, "
            f"{out[label]['wall_s']:.2f} s (cpu {out[label]['cpu_s']:.2f} s)")
    return out


# --- RQ throughput -----------------------------------------------------------------------------------------


def redis_connection(db: int):
    from redis import Redis

    return Redis.from_url(f"{REDIS_BASE}/{db}", socket_connect_timeout=2)


def clear_rq(conn) -> None:
    """Remove RQ's keys from the bench's own Redis database (never FLUSHALL; other keys are refused)."""
    others = [k for k in conn.scan_iter(count=1000) if not k.startswith(b"rq:")]
    if others:
        raise SystemExit(f"bench: Redis db {conn.connection_pool.connection_kwargs.get('db')} holds "
                         f"{len(others)} non-RQ key(s), e.g. {others[0]!r}; pick another --redis-db")
    keys = list(conn.scan_iter(match="rq:*", count=1000))
    for i in range(0, len(keys), 500):
        conn.delete(*keys[i:i + 500])


def _epoch(moment: dt.datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def run_workers(workers: int, job_ids: list[str], env: dict, conn, logs: Path, label: str) -> dict:
    """Start `workers` burst workers on the filled queue, wait for them, and read the jobs' timestamps."""
    from rq.job import Job

    procs = []
    spawned = time.time()
    started = time.perf_counter()
    for i in range(workers):
        log_file = open(logs / f"{label}-w{i}.log", "wb")  # noqa: SIM115 - closed below
        procs.append((subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "styrkedja"), "worker", "--burst",
             "--name", f"bench-{label}-{i}-{os.getpid()}"],
            env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT), log_file))
    codes = []
    for proc, log_file in procs:
        try:
            codes.append(proc.wait(timeout=WORKER_TIMEOUT))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append(proc.wait())
        log_file.close()
    wall = time.perf_counter() - started
    jobs = [job for job in Job.fetch_many(job_ids, connection=conn) if job is not None]
    statuses: dict[str, int] = {}
    for job in jobs:
        status = job.get_status(refresh=False)
        status = getattr(status, "value", status)
        statuses[status] = statuses.get(status, 0) + 1
    done = [job for job in jobs if job.started_at and job.ended_at]
    finished = statuses.get("finished", 0)
    first_start = min(_epoch(job.started_at) for job in done) if done else spawned
    last_end = max(_epoch(job.ended_at) for job in done) if done else spawned
    span = max(last_end - first_start, 1e-9)
    per_job = [_epoch(job.ended_at) - _epoch(job.started_at) for job in done]
    return {"workers": workers, "jobs": len(job_ids), "finished": finished, "statuses": statuses,
            "exit_codes": codes, "wall_s": round(wall, 3), "span_s": round(span, 3),
            "startup_s": round(first_start - spawned, 3),
            "rate": round(finished / span, 4), "rate_wall": round(finished / wall, 4),
            "job_s": summary(per_job) if per_job else None}


def measure_rq(slug: str, position: int, data_dir: Path, url: str, redis_db: int, noop_jobs: int,
               report_jobs: int, worker_counts: list[int], log: Callable[[str], None]) -> dict:
    from rq import Queue

    from workers.artifacts import report_id
    from workers.queue import QUEUE_NAME, ReportQueue

    redis_url = f"{REDIS_BASE}/{redis_db}"
    conn = redis_connection(redis_db)
    clear_rq(conn)
    logs = data_dir / "worker-logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "REDIS_URL": redis_url, "DATABASE_URL": url, "STYRKEDJA_DATA_DIR": str(data_dir),
           "PYTHONPATH": os.pathsep.join(p for p in (str(BENCH), os.environ.get("PYTHONPATH", "")) if p)}
    queue = Queue(QUEUE_NAME, connection=conn)
    reports = ReportQueue(redis_url)
    # The jobs: discharge bases of the nämnder and KS, in turn, for the same year.
    bodies = ["KS", "BUN", "SON", "SBN", "KFN", "MHN", "BYN", "TN", "VON", "GVN", "AMN", "OFN", "VAL"]
    out: dict = {"noop": {}, "report": {}, "report_job": "discharge_basis/html, bodies in turn, year "
                                                         f"{YEAR}, as of today, at the head"}
    try:
        for workers in worker_counts:
            label = f"noop-{workers}"
            ids = [queue.enqueue("_noop.noop", result_ttl=3600, job_id=f"bench-{label}-{i}").id
                   for i in range(noop_jobs)]
            result = run_workers(workers, ids, env, conn, logs, label)
            out["noop"][workers] = result
            log(f"  no-op  x{noop_jobs:<4} {workers} worker(s): {result['rate']:.1f} jobs/s "
                f"({result['finished']} finished, wall {result['wall_s']:.1f} s, startup {result['startup_s']:.2f} s)")
            clear_rq(conn)

            label = f"report-{workers}"
            ids = []
            for i in range(report_jobs):
                params = report_params("discharge_basis", "html", position, body=bodies[i % len(bodies)])
                rid = report_id(slug, {**params, "bench": label, "n": i, "pid": os.getpid()})
                reports.enqueue(slug, rid, **params)
                ids.append(f"report-{slug}-{rid}")
            result = run_workers(workers, ids, env, conn, logs, label)
            out["report"][workers] = result
            log(f"  report x{report_jobs:<4} {workers} worker(s): {result['rate']:.3f} jobs/s "
                f"({result['finished']} finished, wall {result['wall_s']:.1f} s, "
                f"job median {result['job_s']['median'] if result['job_s'] else '-'} s)")
            if result["finished"] != report_jobs:
                log(f"  warning: {report_jobs - result['finished']} report job(s) did not finish; "
                    f"see {logs}")
            clear_rq(conn)
    finally:
        clear_rq(conn)
        conn.close()
    return out


# --- output ------------------------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def goals_met(builds: dict, events: int) -> dict:
    goals = {}
    for fmt in ("html", "pdf"):
        b = builds[f"discharge_basis/{fmt}"]["total"]
        goals[f"discharge_basis_{fmt}"] = {
            "goal": f"discharge basis ({fmt}) in under {GOAL_SECONDS:g} s at {events:,} events (median of the runs)",
            "median_s": b["median"], "max_s": b["max"], "met": b["median"] < GOAL_SECONDS}
    return goals


def print_report(results: dict) -> None:
    builds = results["builds"]
    rows = []
    for label, b in builds.items():
        rows.append([label, b["total"]["median"], b["total"]["max"], b["total"]["first"], b["cpu"]["median"],
                     b["collect"]["median"],
                     b["read"]["median"], b["render"]["median"], b["other"]["median"], f"{b['bytes']:,}"])
    print(f"\nbuild_report in-process, {results['events']:,} events, {results['repeat']} runs each (seconds)")
    print(table(["report", "median", "max", "first", "cpu", "collect", "of which read", "render", "other", "bytes"],
                rows))
    for label, b in builds.items():
        if "pages" in b:
            print(f"  {label}: {b['pages']} pages, render {b['render']['median']} s = {b['render_s_per_page']} s "
                  "per page")
    print(f"  narrowed reads give the same document as the whole ledger: {results.get('same_document')}")
    cold = results.get("cold")
    if cold:
        extra = cold["build"]["median"] - builds[cold["label"]]["total"]["median"]
        print(f"  cold build (a fresh process, as an RQ work horse): {cold['label']} median "
              f"{cold['build']['median']} s ({extra:+.3f} s against the warm median)")
    for kind, s in results.get("documents", {}).items():
        largest = ", ".join(f"{name} {rows}" for name, rows in s["largest_tables"].items())
        print(f"  {kind}: {s['sections']} sections, {s['tables']} tables, {s['rows']:,} rows ({largest}), "
              f"{s['charts']} charts, {s['json_bytes']:,} bytes of JSON")
    rq = results.get("rq")
    if rq:
        rows = []
        base = {}
        for workers, r in rq["report"].items():
            noop = rq["noop"][workers]
            base.setdefault("noop", noop["rate"])
            base.setdefault("report", r["rate"])
            rows.append([workers, f"{noop['rate']:.1f}", f"{r['rate']:.3f}", f"{r['rate'] / noop['rate']:.4f}",
                         f"{noop['rate'] / base['noop']:.2f}x", f"{r['rate'] / base['report']:.2f}x",
                         r["job_s"]["median"] if r["job_s"] else "-", noop["startup_s"], r["finished"]])
        print(f"\nRQ throughput (jobs/s from the first job's start to the last job's end); report job = "
              f"{rq['report_job']}")
        print(table(["workers", "no-op jobs/s", "report jobs/s", "report/no-op", "no-op scaling", "report scaling",
                     "report job s (median)", "startup s", "reports finished"], rows))
    print("\nGoal")
    for name, g in results["goals"].items():
        detail = {k: v for k, v in g.items() if k not in ("goal", "met")}
        print(f"  {'MET ' if g['met'] else 'MISS'} {name}: {g['goal']}  {detail}")


# --- main --------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000, help="events in the tenant (default 100000)")
    parser.add_argument("--quick", action="store_true", help="10000 events")
    parser.add_argument("--repeat", type=int, default=5, help="builds per report and format")
    parser.add_argument("--noop-jobs", type=int, default=200)
    parser.add_argument("--report-jobs", type=int, default=40)
    parser.add_argument("--workers", default="1,2", help="worker counts for the RQ runs")
    parser.add_argument("--no-rq", action="store_true", help="skip the RQ throughput runs")
    parser.add_argument("--pg-db", default=PG_BENCH_DB)
    parser.add_argument("--redis-db", type=int, default=REDIS_DB)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--profile", default=None, help="directory for pyinstrument profiles of one warm build each")
    parser.add_argument("--what-if", action="store_true",
                        help="also the bench-only experiments: gc off, a reader narrowed to one body's year")
    parser.add_argument("--data-dir", default=None, help="artifacts and worker logs (default: a temporary directory)")
    parser.add_argument("--json", dest="json_file", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.events = 10_000
    return args


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(), "cpu": cpu}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"{time.perf_counter() - began:7.1f}s {message}", flush=True)

    load_before = os.getloadavg()
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="styrkedja-reports-"))
    url = prepare_postgres(args.pg_db)
    # workers.jobs builds its registry from the environment; the RQ workers get the same one.
    os.environ["DATABASE_URL"] = url
    os.environ["STYRKEDJA_DATA_DIR"] = str(data_dir)
    from workers.jobs import use_tenants

    tenants = Tenants(StoreConfig.from_environ())
    use_tenants(tenants)
    results: dict = {"events": args.events, "repeat": args.repeat, "body": BODY, "year": YEAR}
    try:
        app = new_tenant(tenants, SLUG)
        log(f"generating {args.events:,} events into {args.pg_db}")
        built = generate(app, args.events, args.seed)
        results["generate"] = {"seconds": round(built.seconds, 1), "types": built.counts}
        log(f"{built.events:,} entries in {built.seconds:.1f} s; catching up the read models")
        views = tenant_views(tenants, SLUG)
        started = time.perf_counter()
        applied = views.catch_up()
        results["catch_up"] = {"events": applied, "seconds": round(time.perf_counter() - started, 1)}
        analyze(url, SLUG)
        position = app.ledger_head()[0]
        results["position"] = position
        log(f"caught up {applied:,} in {results['catch_up']['seconds']} s; head {position:,}")
        results["documents"] = document_stats(views, position)
        results["same_document"] = same_documents(views, position)
        log(f"narrowed reads give the same document as the whole ledger: {results['same_document']}")
        log(f"build_report x{args.repeat}: {BODY} {YEAR} discharge basis and annual report {YEAR}")
        results["builds"] = measure_builds(SLUG, position, args.repeat, log)
        results["goals"] = goals_met(results["builds"], args.events)
        log("cold builds in fresh processes (as an RQ work horse)")
        results["cold"] = measure_cold(SLUG, position, url, data_dir, min(3, args.repeat))
        log(f"  cold discharge_basis/html median {results['cold']['build']['median']:.3f} s")
        if args.what_if:
            log("what-if experiments (bench-only)")
            results["what_if"] = what_if(SLUG, position, min(3, args.repeat), log)
        if args.profile:
            results["profiles"] = profile_builds(SLUG, position, Path(args.profile), log)
        if not args.no_rq:
            counts = [int(w) for w in args.workers.split(",") if w.strip()]
            log(f"RQ: {args.noop_jobs} no-op and {args.report_jobs} report jobs with {counts} burst worker(s)")
            results["rq"] = measure_rq(SLUG, position, data_dir, url, args.redis_db, args.noop_jobs,
                                       args.report_jobs, counts, log)
    finally:
        tenants.close()
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    print_report(results)
    if args.json_file:
        report = {"bench": "reports", "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  "machine": {**machine(), "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
                  "options": {k: v for k, v in vars(args).items()}, **results,
                  "total_seconds": round(time.perf_counter() - began, 1)}
        Path(args.json_file).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_file).write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    log(f"done; load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench-reports"
    sys.exit(main())
