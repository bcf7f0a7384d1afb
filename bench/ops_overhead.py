"""What the operations hooks (request id, metrics, JSON access line) add to each request, in CPU time.

The same app answers a trivial route with the hooks on and off, interleaved in rounds so that load from
other processes falls on both alike; CPU time (time.process_time) is reported besides wall time.

    .venv/bin/python bench/ops_overhead.py [--requests 4000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from web import create_app
from web.logs import JsonFormatter
from web.ops import _finish_request, _forget_request, _start_request


def _toggle(app, on: bool) -> None:
    before = app.before_request_funcs.setdefault(None, [])
    after = app.after_request_funcs.setdefault(None, [])
    teardown = app.teardown_request_funcs.setdefault(None, [])
    for funcs, hook in ((before, _start_request), (after, _finish_request), (teardown, _forget_request)):
        if hook in funcs:
            funcs.remove(hook)
        if on:
            funcs.insert(0, hook) if funcs is before else funcs.append(hook)


def _run(client, n: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        client.get("/bench-noop")
    return (time.process_time() - cpu) / n * 1e6, (time.perf_counter() - wall) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    handler = logging.FileHandler(os.devnull)  # formatted and written as in the stack, to nowhere
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as data:
        app = create_app({"DATA_DIR": data, "ADMIN_TOKEN": "bench"})
        app.add_url_rule("/bench-noop", "bench_noop", lambda: ("", 204))
        client = app.test_client()
        _run(client, 500)  # warm up both paths
        results: dict[str, list[tuple[float, float]]] = {"off": [], "on": []}
        for _ in range(args.rounds):
            for mode in ("off", "on"):
                _toggle(app, mode == "on")
                results[mode].append(_run(client, args.requests))
        _toggle(app, True)
        app.extensions["styrkedja"].close()
    summary = {mode: {"cpu_us_per_request": round(statistics.median(c for c, _ in runs), 1),
                      "wall_us_per_request": round(statistics.median(w for _, w in runs), 1)}
               for mode, runs in results.items()}
    summary["added_cpu_us_per_request"] = round(summary["on"]["cpu_us_per_request"]
                                                - summary["off"]["cpu_us_per_request"], 1)
    summary["load_average"] = os.getloadavg()
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
