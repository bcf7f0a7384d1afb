"""Fixtures of the operations tests: the production shape on private PostgreSQL and Redis, healthy at each test."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shape import ServiceMissing, Shape, build_shape  # noqa: E402

REQUIRE_SERVICES = os.environ.get("STYRKEDJA_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def running_shape():
    """gunicorn, two RQ workers and the projection runner on a private cluster and redis-server.

    Private, because the fault tests stop and start the services: the machine's shared PostgreSQL and
    Redis serve other test runs at the same time. Started once per session (about 10 s); each test gets
    it healthy again.
    """
    workdir = Path(tempfile.mkdtemp(prefix="styrkedja-ops-"))
    try:
        shape, postgres, redis = build_shape(workdir)
    except ServiceMissing as missing:
        shutil.rmtree(workdir, ignore_errors=True)
        if REQUIRE_SERVICES:
            pytest.fail(f"{missing}; STYRKEDJA_REQUIRE_SERVICES=1 makes that a failure", pytrace=False)
        pytest.skip(str(missing))
    yield shape
    shape.close()
    redis.close()
    postgres.close()
    if os.environ.get("STYRKEDJA_OPS_KEEP") == "1":  # the processes' logs, for looking into a failure
        print(f"ops logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def ops_shape(running_shape: Shape) -> Shape:
    """The shape with both services up and every process running (an earlier test may have stopped one)."""
    shape = running_shape
    from shape import port_open

    if not port_open(shape.postgres.port):
        shape.postgres.start()
    if shape.redis.process is None:
        shape.redis.start()
    for name, process in shape.processes.items():
        if not process.alive():
            shape.restart(name)
    shape.wait_ready()
    if not shape.answers_from_database():
        # An earlier test left gunicorn unable to recover (that test failed for it); the next one starts clean.
        shape.restart("web")
        shape.wait_ready()
    return shape
