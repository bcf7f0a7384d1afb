"""Fixtures of the HTTP tests: a municipality built once over the API, copied afresh for tests that record."""

from __future__ import annotations

import secrets
import shutil
import sys
from pathlib import Path

import pytest

# The project is not installed into the venv: make `web` and `domain` importable from the repository root.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from apisupport import Api, World, build_world  # noqa: E402

from web import create_app  # noqa: E402


def _close(flask_app) -> None:
    flask_app.extensions["styrkedja"].close()


@pytest.fixture(scope="session")
def built_world(tmp_path_factory) -> tuple[Path, World]:
    """The data directory of the built municipality (closed, ready to copy) and its tokens and ids."""
    data = tmp_path_factory.mktemp("world") / "data"
    token = "build-admin-" + secrets.token_hex(8)
    flask_app = create_app({"DATA_DIR": str(data), "ADMIN_TOKEN": token})
    try:
        world = build_world(flask_app, token)
    finally:
        _close(flask_app)
    return data, world


def _open(built_world: tuple[Path, World], target: Path, admin_token: str) -> Api:
    source, world = built_world
    shutil.copytree(source, target)
    flask_app = create_app({"DATA_DIR": str(target), "ADMIN_TOKEN": admin_token})
    return Api(flask_app, world, admin_token)


@pytest.fixture
def api(built_world, tmp_path, admin_token):
    """A private copy of the built municipality, for tests that record something."""
    client = _open(built_world, tmp_path / "data", admin_token)
    yield client
    _close(client.app)


@pytest.fixture(scope="session")
def shared_api(built_world, tmp_path_factory):
    """One copy of the built municipality shared by tests whose requests must all be refused.

    Every such request checks that no ledger moved, so the state stays the built one.
    """
    client = _open(built_world, tmp_path_factory.mktemp("shared") / "data", "shared-admin-" + secrets.token_hex(8))
    yield client
    _close(client.app)
