"""Pages benchmark: server time of the browser pages Tidslinje and Nämnd (and, for reference, Styrkedjan and
GET /state) on a tenant of 100k events, on SQLite and on PostgreSQL.

A synthetic tenant is written straight into its event store by bench/asof.py's generator (the ledger records
the real commands write, hash-chained: 20 bodies, 200 goals, 2015–2026, follow-ups, revisions and
retractions) and its read models are caught up. The pages read nothing else: the read models (TenantViews)
and, for the recorder's name on the timeline, the platform's users. A viewer is added through
Platform.add_user with a password, signs in through POST /logga-in, and the pages are fetched through the
Flask test client of a fresh create_app() (no socket). Timed: the test client's request, from the call to the
body read, per page and as_of value, 50 requests each (after a warm-up), rounds interleaved over all pages
so that drift of the machine touches each alike.

    .venv/bin/python bench/pages.py                       # 100k events, SQLite and PostgreSQL
    .venv/bin/python bench/pages.py --quick --json out.json
    .venv/bin/python bench/pages.py --profile bench/results/pages-profile   # also pyinstrument, per page

Goal: p95 under 150 ms for every page.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
for path in (str(ROOT), str(BENCH)):
    if path not in sys.path:
        sys.path.insert(0, path)

from asof import generate, new_tenant, summary_ms, table, tenant_views  # noqa: E402  (bench/asof.py)

from domain.stores import StoreConfig, schema_name  # noqa: E402
from projections.tenants import Tenants  # noqa: E402

PG_ADMIN_URL = os.environ.get("STYRKEDJA_BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BENCH_DB = "styrkedja_bench_pages"
SLUG = "pages-bench"
PASSWORD = "bänk-lösenord-2026"
GOAL_P95_MS = 150.0
PAGE_SIZE = 25  # web/ui/timeline.py PAGE_SIZE: the deep cursor leaves at least one page below it
# as_of values: today (no parameter: what a reader sees first), and two earlier moments of the tenant's history.
AS_OF = (None, "2024-06-30", "2019-06-30")
FOLLOW_UP_FACTS = ("frame", "adjustment", "allocation", "reallocation", "financial", "measure", "audit_report",
                   "discharge")


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
    """Fresh planner statistics for the read models, as autovacuum would have them some time after a load."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for table_name in ("facts", "fact_keys", "timeline"):
            conn.execute(f'VACUUM ANALYZE "{schema_name(slug)}".{table_name}')


@dataclass
class Tenant:
    events: int
    types: dict[str, int]
    generate_seconds: float
    catch_up_seconds: float
    big_body: str
    body_facts: dict[str, int]
    token: str
    email: str


def build(store: str, n: int, seed: int, data_dir: Path, url: str | None, log: Callable[[str], None],
          reuse: bool = False) -> Tenant:
    """Generate the tenant, catch its read models up, pick the biggest nämnd and add the signed-in viewer.

    With `reuse`, a tenant left by an earlier run with --data-dir and --reuse is measured again as it is.
    """
    from web.ui.signin import hash_password

    tenants = Tenants(StoreConfig(data_dir=data_dir, database_url=url, pool_size=5))
    try:
        if reuse and tenants.platform.find_tenant(SLUG) is not None:
            views = tenant_views(tenants, SLUG)
            built = None
            catch_up = 0.0
            log(f"[{store}] reusing the tenant of an earlier run (head {views.head():,})")
        else:
            app = new_tenant(tenants, SLUG)
            last = [time.perf_counter()]

            def progress(position: int) -> None:
                if time.perf_counter() - last[0] > 30:
                    last[0] = time.perf_counter()
                    log(f"[{store}]   {position:,} written")

            built = generate(app, n, seed, progress)
            log(f"[{store}] {built.events:,} entries in {built.seconds:.1f} s; catching up the read models")
            views = tenant_views(tenants, SLUG)
            started = time.perf_counter()
            views.catch_up()
            catch_up = time.perf_counter() - started
            log(f"[{store}] caught up in {catch_up:.1f} s (head {views.head():,})")
            if url:
                analyze(url, SLUG)
        # The nämnd with the most follow-up and budget facts (frames, budgets, reports, measures, audit).
        marks = ", ".join(["%s"] * len(FOLLOW_UP_FACTS))
        per_body: Counter[str] = Counter()
        for row in views.views.select(f"SELECT key FROM §.facts WHERE kind IN ({marks})", FOLLOW_UP_FACTS):
            per_body[row["key"].split("|")[1]] += 1
        big_body = per_body.most_common(1)[0][0]
        email = f"lasare-{time.time_ns()}@pages-bench.example"
        user, token = tenants.platform.add_user(SLUG, email, "Bänkläsare", "viewer", [])
        tenants.platform.set_password(user.id, hash_password(PASSWORD))
        types = built.counts if built else {row["type"]: row["n"] for row in views.views.select(
            "SELECT type, COUNT(*) AS n FROM §.timeline GROUP BY type ORDER BY n DESC")}
        return Tenant(views.head(), types, round(built.seconds, 1) if built else 0.0, round(catch_up, 1), big_body,
                      dict(per_body.most_common()), token, email)
    finally:
        tenants.close()


# --- the pages -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    api: bool = False

    def url(self, as_of: str | None) -> str:
        if as_of is None:
            return self.path
        return self.path + ("&" if "?" in self.path else "?") + f"as_of={as_of}"


def pages(tenant: Tenant, deep_cursor: int) -> list[Page]:
    t = f"/t/{SLUG}"
    return [Page("timeline first page", f"{t}/tidslinje"),
            Page(f"timeline deep (cursor {deep_cursor:,})", f"{t}/tidslinje?cursor={deep_cursor}"),
            Page(f"Nämnd {tenant.big_body}", f"{t}/namnd/{tenant.big_body}"),
            Page("Styrkedjan (reference)", f"{t}/"),
            Page("GET /api/v1/…/state (reference)", f"/api/v1/t/{SLUG}/state", api=True)]


def check(page: Page, response, tenant: Tenant) -> dict:
    """The page answered 200 with what it should show; a few facts about it for the report."""
    body = response.get_data(as_text=True)
    if response.status_code != 200:
        raise SystemExit(f"bench: {page.name} answered {response.status_code}: {body[:800]}")
    facts: dict = {"bytes": len(response.get_data())}
    if page.name.startswith("timeline"):
        facts["entries"] = len(re.findall(r'<li class="tl-entry', body))
        if facts["entries"] == 0:
            raise SystemExit(f"bench: {page.name} shows no entries")
    elif page.name.startswith("Nämnd"):
        if f'<span class="code">{tenant.big_body}</span>' not in body:
            raise SystemExit(f"bench: {page.name} does not show the body")
    elif page.api:
        facts["bodies"] = len(json.loads(body)["bodies"])
    return facts


def open_site(store: str, data_dir: Path, url: str | None, email: str):
    """A fresh Flask app on the stores (its own Tenants, pool and caches), and a client signed in as the viewer."""
    from web import create_app

    flask_app = create_app({"DATA_DIR": str(data_dir), "DATABASE_URL": url, "WTF_CSRF_ENABLED": False,
                            "RATELIMIT_ENABLED": False, "TESTING": True})
    client = flask_app.test_client()
    response = client.post("/logga-in", data={"email": email, "password": PASSWORD})
    if response.status_code != 302:
        raise SystemExit(f"bench: sign-in answered {response.status_code}: {response.get_data(as_text=True)[:500]}")
    return flask_app, client


def measure(client, tenant: Tenant, page_list: list[Page], requests: int, warmup: int,
            log: Callable[[str], None]) -> dict:
    """Per page and as_of: `requests` timed GETs, interleaved in rounds over all pages and as_of values."""
    headers = {"Authorization": f"Bearer {tenant.token}"}

    def get(page: Page, as_of: str | None):
        return client.get(page.url(as_of), headers=headers if page.api else None)

    samples: dict[tuple[str, str | None], list[float]] = {(p.name, a): [] for p in page_list for a in AS_OF}
    cpu_samples: dict[tuple[str, str | None], list[float]] = {(p.name, a): [] for p in page_list for a in AS_OF}
    facts: dict[tuple[str, str | None], dict] = {}
    for page in page_list:
        for as_of in AS_OF:
            for _ in range(warmup):
                facts[(page.name, as_of)] = check(page, get(page, as_of), tenant)
    loads = []
    for i in range(requests):
        for page in page_list:
            for as_of in AS_OF:
                started, cpu = time.perf_counter(), time.process_time()
                response = get(page, as_of)
                response.get_data()
                samples[(page.name, as_of)].append(time.perf_counter() - started)
                cpu_samples[(page.name, as_of)].append(time.process_time() - cpu)
                if response.status_code != 200:
                    raise SystemExit(f"bench: {page.name} answered {response.status_code}")
        if i % 10 == 9:
            loads.append(os.getloadavg()[0])
            log(f"  round {i + 1}/{requests}, load {loads[-1]:.2f}")
    out: dict = {}
    for page in page_list:
        per = {}
        for as_of in AS_OF:
            per[as_of or "today"] = {**summary_ms(samples[(page.name, as_of)]), **facts[(page.name, as_of)],
                                     "cpu_median": summary_ms(cpu_samples[(page.name, as_of)])["median"]}
        every = [s for a in AS_OF for s in samples[(page.name, a)]]
        out[page.name] = {"path": page.path, "as_of": per, "all": summary_ms(every)}
    return {"pages": out, "load_during": loads}


def profile(client, tenant: Tenant, page_list: list[Page], requests: int, target: Path, store: str) -> dict:
    """pyinstrument over `requests` requests of each page (today's as_of); text and HTML per page."""
    from pyinstrument import Profiler

    target.mkdir(parents=True, exist_ok=True)
    headers = {"Authorization": f"Bearer {tenant.token}"}
    written = {}
    for page in page_list:
        name = re.sub(r"[^a-z0-9]+", "-", page.name.lower()).strip("-")
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(requests):
            client.get(page.url(None), headers=headers if page.api else None).get_data()
        profiler.stop()
        text = profiler.output_text(unicode=True, color=False, show_all=False)
        stem = target / f"{store}-{name}"
        Path(f"{stem}.txt").write_text(text)
        Path(f"{stem}.html").write_text(profiler.output_html())
        written[page.name] = f"{stem}.txt"
    return written


def count_queries(client, tenant: Tenant, page_list: list[Page]) -> dict:
    """Read-model queries and platform lookups per request of each page (today's as_of)."""
    from projections.views import PostgresViews, SQLiteViews

    counts: Counter[str] = Counter()
    originals = {cls: cls.select for cls in (SQLiteViews, PostgresViews)}

    def counting(original):
        def select(self, sql, params=()):
            counts["select"] += 1
            return original(self, sql, params)
        return select

    headers = {"Authorization": f"Bearer {tenant.token}"}
    out = {}
    try:
        for cls, original in originals.items():
            cls.select = counting(original)
        for page in page_list:
            counts.clear()
            client.get(page.url(None), headers=headers if page.api else None).get_data()
            out[page.name] = counts["select"]
    finally:
        for cls, original in originals.items():
            cls.select = original
    return out


def run_store(store: str, args, data_dir: Path, log: Callable[[str], None]) -> dict:
    if store == "postgres":
        url = (PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + args.pg_db) if args.reuse else prepare_postgres(args.pg_db)
    else:
        url = None
    store_dir = data_dir / store
    log(f"[{store}] building a tenant of {args.events:,} events")
    tenant = build(store, args.events, args.seed, store_dir, url, log, reuse=args.reuse)
    deep_cursor = args.deep_cursor or max(PAGE_SIZE + 1, tenant.events // 100)
    page_list = pages(tenant, deep_cursor)
    if args.only:
        words = [w.strip().lower() for w in args.only.split(",") if w.strip()]
        page_list = [p for p in page_list if any(w in p.name.lower() for w in words)]
    flask_app, client = open_site(store, store_dir, url, tenant.email)
    try:
        log(f"[{store}] big nämnd {tenant.big_body}; {args.requests} requests × {len(AS_OF)} as_of × "
            f"{len(page_list)} pages")
        result = measure(client, tenant, page_list, args.requests, args.warmup, log)
        result["selects_per_request"] = count_queries(client, tenant, page_list)
        if args.profile:
            log(f"[{store}] profiling {args.profile_requests} requests per page")
            result["profiles"] = profile(client, tenant, page_list, args.profile_requests, Path(args.profile), store)
    finally:
        flask_app.extensions["styrkedja"].close()
    return {"tenant": {"events": tenant.events, "types": tenant.types, "generate_seconds": tenant.generate_seconds,
                       "catch_up_seconds": tenant.catch_up_seconds, "big_body": tenant.big_body,
                       "body_facts": tenant.body_facts, "deep_cursor": deep_cursor}, **result}


# --- report ----------------------------------------------------------------------------------------------


def goals_met(results: dict) -> dict:
    """The goal holds for the pages under test (Tidslinje, Nämnd); Styrkedjan and GET /state are for reference."""
    cells = {f"{store} · {name} · {as_of}": cell["p95"] for store, res in results.items()
             for name, page in res["pages"].items() for as_of, cell in page["as_of"].items()}
    tested = {k: v for k, v in cells.items() if "(reference)" not in k}
    missed = sorted(k for k, v in tested.items() if v >= GOAL_P95_MS)
    reference_over = sorted(k for k, v in cells.items() if k not in tested and v >= GOAL_P95_MS)
    return {"goal": f"p95 < {GOAL_P95_MS:.0f} ms for Tidslinje (first and deep page) and Nämnd, every as_of and store",
            "worst_p95_ms": max(tested.values()) if tested else None, "missed": missed, "met": not missed,
            "reference_over_goal": reference_over}


def print_report(results: dict, goals: dict, args) -> None:
    rows = []
    for store, res in results.items():
        for name, page in res["pages"].items():
            for as_of, cell in page["as_of"].items():
                rows.append([store, name, as_of, cell["median"], cell["p95"], cell["max"], cell["cpu_median"],
                             f"{cell['bytes']:,}", "MISS" if cell["p95"] >= GOAL_P95_MS else "ok"])
    print(f"\nServer time per request, Flask test client ({args.requests} requests per row; ms; cpu: this "
          "process's CPU time, without PostgreSQL's)")
    print(table(["store", "page", "as_of", "median", "p95", "max", "cpu median", "bytes",
                 f"p95<{GOAL_P95_MS:.0f}"], rows))
    for store, res in results.items():
        t = res["tenant"]
        print(f"\n{store}: {t['events']:,} events, generated in {t['generate_seconds']} s, caught up in "
              f"{t['catch_up_seconds']} s; big nämnd {t['big_body']} ({t['body_facts'][t['big_body']]:,} "
              f"follow-up and budget facts); read-model selects per request {res['selects_per_request']}")
    print(f"\nGoal: {goals['goal']}: {'MET' if goals['met'] else 'MISSED'} (worst p95 {goals['worst_p95_ms']} ms"
          + (f"; missed: {', '.join(goals['missed'])}" if goals["missed"] else "") + ")")
    if goals["reference_over_goal"]:
        print(f"Reference pages over {GOAL_P95_MS:.0f} ms (not part of the goal): "
              + ", ".join(goals["reference_over_goal"]))


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10k events")
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page and as_of")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--deep-cursor", type=int, default=None, help="cursor of the deep page (default events/100)")
    parser.add_argument("--pg-db", default=PG_BENCH_DB)
    parser.add_argument("--data-dir", default=None, help="for the SQLite files (default: a temporary directory)")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the tenant an earlier run left (needs --data-dir; PostgreSQL: not reset)")
    parser.add_argument("--only", default=None, help="measure only pages whose name contains one of these "
                        "comma-separated words (timeline, Nämnd, Styrkedjan, state)")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--profile", default=None, help="directory for pyinstrument output per store and page")
    parser.add_argument("--profile-requests", type=int, default=20)
    parser.add_argument("--json", dest="json_file", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.events = 10_000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"{time.perf_counter() - began:7.1f}s {message}", flush=True)

    load_before = os.getloadavg()
    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="styrkedja-pages-"))
    results: dict = {}
    try:
        for store in [s.strip() for s in args.stores.split(",") if s.strip()]:
            results[store] = run_store(store, args, data_dir, log)
    finally:
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
    goals = goals_met(results)
    print_report(results, goals, args)
    load_after = os.getloadavg()
    if args.json_file:
        during = [x for r in results.values() for x in r["load_during"]]
        report = {"bench": "pages", "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                  "machine": {"python": platform.python_version(), "platform": platform.platform(),
                              "cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": load_after,
                              "loadavg_during": {"min": min(during), "median": statistics.median(during),
                                                 "max": max(during)} if during else None},
                  "options": {k: v for k, v in vars(args).items() if k != "json_file"}, "as_of": AS_OF,
                  "goals": goals, "results": results, "total_seconds": round(time.perf_counter() - began, 1)}
        Path(args.json_file).write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    log(f"done; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench-pages"
    sys.exit(main())
