"""Restore on the production shape: a tenant that took load, exported and restored into an empty database."""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
import subprocess

import requests
from loadgen import Load
from shape import PYTHON, ROOT, Shape

POINTS = 20


def test_a_tenant_restored_from_its_export_answers_the_same_state_at_twenty_moments_and_the_same_head(
        ops_shape: Shape, tmp_path):
    shape = ops_shape
    load = Load(shape.base_url, shape.admin_token, tenants=2, clients=4, seconds=8.0, prefix="restore")
    load.set_up()
    load.run()
    [checked, _] = load.verify()
    tenant = load.tenant(checked["slug"])
    export = tmp_path / "export.jsonl"
    done = shape.cli("export", "--tenant", tenant.slug, "-o", str(export))
    assert done.returncode == 0, done.stderr

    restored_url = shape.postgres.create_database(f"restored_{secrets.token_hex(4)}")
    env = {**shape.env, "DATABASE_URL": restored_url, "STYRKEDJA_DATA_DIR": str(tmp_path / "restored")}
    restored = subprocess.run([PYTHON, "-m", "web.cli", "restore", str(export)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
    assert restored.returncode == 0, restored.stderr
    assert checked["head_hash"] in restored.stdout

    app, token, close = restored_app(restored_url, tmp_path / "restored", tenant.slug)
    try:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        head = client.get(f"/api/v1/t/{tenant.slug}/ledger", headers=headers).get_json()
        assert head == {"head_position": checked["head"], "head_hash": checked["head_hash"]}
        verified = client.get(f"/api/v1/t/{tenant.slug}/ledger/verify", headers=headers).get_json()
        assert verified["ok"] and verified["checked"] == checked["head"]

        records = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()[1:]]
        for as_of, known_at in moments(records, POINTS):
            params = {"as_of": as_of.isoformat(), "known_at": known_at.isoformat()}
            original = requests.get(f"{shape.base_url}/api/v1/t/{tenant.slug}/state", params=params, timeout=30,
                                    headers={"Authorization": f"Bearer {tenant.tokens['auditor']}"})
            again = client.get(f"/api/v1/t/{tenant.slug}/state", query_string=params, headers=headers)
            assert original.status_code == again.status_code == 200, (original.text, again.get_data(as_text=True))
            assert again.get_json() == original.json(), params
    finally:
        close()


def moments(records: list[dict], n: int) -> list[tuple[dt.date, dt.datetime]]:
    """n (as_of, known_at) pairs: record times from the first to the last event, decision dates 2023 to today."""
    rng = random.Random(20)
    times = sorted({records[0]["recorded_at"], records[-1]["recorded_at"],
                    *rng.sample([r["recorded_at"] for r in records], min(len(records), n))})
    dates = [dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange((dt.date.today() - dt.date(2023, 1, 1)).days + 1))
             for _ in range(n)]
    dates[:2] = [dt.date(2023, 11, 20), dt.date.today()]  # the meeting day of every decision, and now
    return [(dates[i], dt.datetime.fromisoformat(times[i % len(times)])) for i in range(n)]


def restored_app(database_url: str, data_dir, slug: str):
    """The web app in this process on the restored database, with an auditor's token (tokens are not exported)."""
    from domain.stores import StoreConfig
    from projections import pool
    from projections.tenants import Tenants
    from web import create_app

    config = StoreConfig(data_dir=data_dir, database_url=database_url)
    tenants = Tenants(config)
    _user, token = tenants.platform.add_user(slug, "revisor@example.se", "Revisor", "auditor", [])
    app = create_app({"TENANTS": tenants, "DATABASE_URL": database_url, "DATA_DIR": str(data_dir),
                      "REDIS_URL": None, "TESTING": True})

    def close() -> None:
        for key in [k for k in pool._shared_pools if k[0] == database_url]:
            pool._shared_pools.pop(key).close()

    return app, token, close
