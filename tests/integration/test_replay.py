"""`styrkedja replay` rebuilds from an export alone exactly what GET /state answers, and refuses an edited export."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from domain.context import current_actor
from domain.stores import StoreConfig
from projections.tenants import Tenants
from web import create_app
from web.demo import build_demo

STYRKEDJA = Path(sys.executable).with_name("styrkedja")
SLUG = "vanersborg"


@pytest.fixture(autouse=True)
def no_actor_left_over():
    """The demo records as its own actor, and a request's actor is not carried into the next test."""
    token = current_actor.set(None)
    yield
    current_actor.reset(token)


def cli_env(config: StoreConfig) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "STYRKEDJA_DATA_DIR")}
    env["STYRKEDJA_DATA_DIR"] = str(config.data_dir)
    if config.database_url:
        env["DATABASE_URL"] = config.database_url
    return env


def styrkedja(config: StoreConfig, *args: str) -> subprocess.Popen:
    assert STYRKEDJA.exists(), "run .venv/bin/pip install -e '.[dev]' to get the styrkedja command"
    return subprocess.Popen([str(STYRKEDJA), *args], env=cli_env(config), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finished(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


@pytest.fixture
def demo(store_config, tmp_path, admin_token):
    """The demo municipality, its export written by the CLI, and a viewer's client of the API."""
    tenants = Tenants(store_config, inline_projections=True)
    try:
        tenants.create(SLUG, "Vänersborgs kommun", "1487")
        assert build_demo(tenants.get(SLUG)) > 200
        export = tmp_path / "vanersborg.jsonl"
        code, _out, err = finished(styrkedja(store_config, "export", "--tenant", SLUG, "-o", str(export)))
        assert (code, err) == (0, ""), err
        _user, token = tenants.platform.add_user(SLUG, "revisor@vanersborg.se", "Revisor", "auditor", [])
        flask_app = create_app({"DATA_DIR": str(tmp_path / "web"), "ADMIN_TOKEN": admin_token, "TENANTS": tenants})
        client = flask_app.test_client()

        def get_state(as_of: str, known_at: str | None) -> dict:
            query = {"as_of": as_of} | ({"known_at": known_at} if known_at else {})
            answer = client.get(f"/api/v1/t/{SLUG}/state", query_string=query,
                                headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, answer.get_json()
            return answer.get_json()

        yield store_config, export, get_state
    finally:
        tenants.close()


def recorded_at(export: Path, position: int, offset_hours: int = 0) -> str:
    """The record time of a position in the export, written with the given UTC offset."""
    lines = export.read_text(encoding="utf-8").splitlines()
    moment = dt.datetime.fromisoformat(json.loads(lines[position])["recorded_at"])
    return moment.astimezone(dt.timezone(dt.timedelta(hours=offset_hours))).isoformat()


def test_replay_of_the_export_prints_exactly_the_state_the_api_answers_at_every_point(demo):
    config, export, get_state = demo
    header = json.loads(export.read_text(encoding="utf-8").splitlines()[0])
    head = header["head_position"]
    assert header["tenant"] == SLUG
    points = [
        ("2022-06-30", None),
        ("2023-03-31", None),
        ("2024-06-30", None),
        ("2025-12-31", None),
        ("2023-12-31", recorded_at(export, head // 3)),
        ("2024-06-30", recorded_at(export, 2 * head // 3, offset_hours=2)),  # the same instant, another offset
        ("2025-12-31", recorded_at(export, head - 1)),
    ]
    replays = []
    for as_of, known_at in points:
        args = ["replay", str(export), "--as-of", as_of] + (["--known-at", known_at] if known_at else [])
        replays.append(styrkedja(config, *args))
    for (as_of, known_at), process in zip(points, replays, strict=True):
        code, out, err = finished(process)
        assert (code, err) == (0, ""), err
        replayed = json.loads(out)
        answered = get_state(as_of, known_at)
        assert replayed == answered, (as_of, known_at)
        assert replayed["as_of"] == as_of
    # The points really differ: a known_at before the end sees an earlier position.
    positions = [get_state(as_of, known_at)["position"] for as_of, known_at in points[4:]]
    assert positions == [head // 3, 2 * head // 3, head - 1]


@pytest.mark.parametrize("store_config", ["sqlite"], indirect=True)  # the export is a file: one store suffices
def test_an_export_edited_in_one_line_is_refused_and_the_first_bad_position_named(demo):
    config, export, _ = demo
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    frames = [n for n, line in enumerate(lines) if n and json.loads(line)["type"] == "FrameSet"]
    edited_at = frames[len(frames) // 2]
    original = lines[edited_at]
    lines[edited_at] = re.sub(r'"amount_sek": (\d+)', lambda m: f'"amount_sek": {int(m.group(1)) + 1}',
                              original, count=1)
    assert lines[edited_at] != original
    # A later line edited too: the first bad one is named.
    last = json.loads(lines[-1])
    last["recorded_by"] = "someone-else"
    lines[-1] = json.dumps(last, ensure_ascii=False, sort_keys=True) + "\n"
    tampered = export.with_name("tampered.jsonl")
    tampered.write_text("".join(lines), encoding="utf-8")
    position = json.loads(original)["position"]

    code, out, err = finished(styrkedja(config, "replay", str(tampered), "--as-of", "2024-06-30"))

    assert code == 1
    assert out == ""
    assert f"position {position}" in err, err
    assert f"position {position + 1}" not in err
