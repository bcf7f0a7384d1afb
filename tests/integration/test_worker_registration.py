"""A report worker is seen again after Redis forgot it: the container health check must not call it missing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parents[2]
STYRKEDJA = Path(sys.executable).with_name("styrkedja")


def ready_as_worker(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(STYRKEDJA), "ready", "--worker"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=30)


def wait_until_ready(env: dict, seconds: float) -> subprocess.CompletedProcess:
    deadline = time.monotonic() + seconds
    while True:
        answer = ready_as_worker(env)
        if answer.returncode == 0 or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def test_a_worker_registers_again_after_redis_has_forgotten_it_and_the_health_check_passes_again(
        redis_url, tmp_path):
    from redis import Redis

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(STYRKEDJA_DATA_DIR=str(tmp_path), REDIS_URL=redis_url)
    worker = subprocess.Popen([str(STYRKEDJA), "worker"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        assert wait_until_ready(env, 30).returncode == 0, "the worker never registered"
        # What a Redis restart without persistence does to the worker's registration (and to our claim).
        client = Redis.from_url(redis_url)
        client.flushdb()
        client.set("styrkedja-test:claimed-by", os.getpid(), ex=900)
        forgotten = ready_as_worker(env)
        assert forgotten.returncode == 1, forgotten.stdout
        # The next heartbeat comes after a dequeue that blocks at most worker_ttl - 15 = 20 s.
        again = wait_until_ready(env, 40)
        assert again.returncode == 0, again.stdout + again.stderr
        assert worker.poll() is None, "the worker died instead of registering again"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
