"""Load benchmark on the production shape: 16 clients, 50 tenants, 60 s of decisions, then everything is checked."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "ops")]

from loadgen import Load  # noqa: E402
from shape import build_shape, children  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children(p)
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU of the processes, from /proc (live processes only)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICKS


def shape_pids(shape) -> dict[str, list[int]]:
    groups = {name: tree(p.pid) for name, p in shape.processes.items()}
    postmaster = int((shape.postgres.data / "postmaster.pid").read_text().split()[0])
    groups["postgresql"] = tree(postmaster)
    groups["redis"] = [shape.redis.process.pid]
    return groups


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def phase(shape, name: str, clients: int, tenants: list, seconds: float, max_decisions: int, tag: str) -> dict:
    load = Load(shape.base_url, shape.admin_token, tenants=len(tenants), clients=clients, seconds=seconds,
                max_decisions=max_decisions, prefix="bench", tag=tag)
    load.tenants = tenants
    pids = shape_pids(shape)
    before = {group: cpu_seconds(p) for group, p in pids.items()}
    own_before = os.times()
    load.run()
    own = os.times()
    cpu = {group: round(cpu_seconds(p) - before[group], 2) for group, p in pids.items()}
    cpu["load generator"] = round(own.user + own.system - own_before.user - own_before.system, 2)
    summary = load.summary()
    summary["cpu_seconds"] = cpu
    summary["cpu_seconds_per_decision_server"] = round(
        sum(v for k, v in cpu.items() if k != "load generator") / max(1, summary["acknowledged"]), 4)
    print(f"{name}: {summary['acknowledged']} decisions in {summary['seconds']} s = {summary['decisions_per_s']}/s, "
          f"p50 {summary['latency_ms']['p50']} ms, p99 {summary['latency_ms']['p99']} ms, "
          f"answers {summary['statuses']}, CPU s {cpu}", flush=True)
    return {"phase": name, "load": load, "summary": summary}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--tenants", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--max-decisions", type=int, default=200_000, help="stop after this many, whatever the time")
    p.add_argument("--baseline-seconds", type=float, default=15.0,
                   help="one client first, on the same shape and tenants: the reference for the same machine load")
    p.add_argument("--web-workers", type=int, default=2)
    p.add_argument("--json", help="write the figures to this file")
    p.add_argument("--quick", action="store_true", help="smoke: 4 clients, 5 tenants, 10 s")
    args = p.parse_args()
    if args.quick:
        args.clients, args.tenants, args.seconds, args.baseline_seconds = 4, 5, 10.0, 5.0

    workdir = Path(tempfile.mkdtemp(prefix="styrkedja-bench-load-"))
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, load average {loadavg()}", flush=True)
    started = time.monotonic()
    shape, postgres, redis = build_shape(workdir)
    result: dict = {"config": {"clients": args.clients, "tenants": args.tenants, "seconds": args.seconds,
                               "web": f"gunicorn {args.web_workers} gthread workers x {shape.web_threads} threads",
                               "rq_workers": 2, "projection_runner": 1,
                               "services": "private PostgreSQL cluster and redis-server on 127.0.0.1"},
                    "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "loadavg_before": loadavg()}}
    try:
        print(f"shape up in {time.monotonic() - started:.1f} s at {shape.base_url}", flush=True)
        setup = Load(shape.base_url, shape.admin_token, tenants=args.tenants, clients=args.clients, prefix="bench")
        t0 = time.monotonic()
        setup.set_up()
        print(f"{args.tenants} tenants set up over HTTP in {time.monotonic() - t0:.1f} s", flush=True)
        baseline = phase(shape, "baseline, 1 client", 1, setup.tenants, args.baseline_seconds, args.max_decisions,
                         "B")
        main_phase = phase(shape, f"load, {args.clients} clients", args.clients, setup.tenants, args.seconds,
                           args.max_decisions, "L")
        result["loadavg_after"] = loadavg()
        # Both phases wrote into the same tenants: check them with all acknowledgements together.
        check = Load(shape.base_url, shape.admin_token, tenants=args.tenants, clients=1, prefix="bench")
        check.tenants = setup.tenants
        check.acks = baseline["load"].acks + main_phase["load"].acks
        check.attempts = baseline["load"].attempts + main_phase["load"].attempts
        check.failures = baseline["load"].failures + main_phase["load"].failures
        check.unresolved = baseline["load"].unresolved + main_phase["load"].unresolved
        check.started_at = baseline["load"].started_at
        t0 = time.monotonic()
        problems: list[str] = []
        try:
            tenants = check.verify(grace=0)
        except AssertionError as error:
            problems = str(error).splitlines()
            tenants = []
        verification = {"ok": not problems, "problems": problems[:40], "seconds": round(time.monotonic() - t0, 1),
                        "tenants_checked": len(tenants), "events_checked": sum(t["head"] for t in tenants)}
        print(f"verification: {'ok' if verification['ok'] else 'FAILED'}: every acknowledged decision once at its "
              f"position, positions 1..head, chains verify, no 5xx; {verification['events_checked']} events in "
              f"{verification['tenants_checked']} tenants ({verification['seconds']} s)", flush=True)
        for line in problems[:40]:
            print("  " + line)
        result.update({"baseline": baseline["summary"], "load": main_phase["summary"], "verification": verification,
                       "speedup_over_one_client": round(main_phase["summary"]["decisions_per_s"]
                                                        / max(0.1, baseline["summary"]["decisions_per_s"]), 2)})
        print(f"speed-up over one client on the same shape: x{result['speedup_over_one_client']}; "
              f"load average after {result['loadavg_after']}", flush=True)
    finally:
        shape.close()
        redis.close()
        postgres.close()
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0 if result.get("verification", {}).get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
