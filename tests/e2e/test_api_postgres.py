"""A short happy path over HTTP on PostgreSQL: gap-free positions, a refusal that records nothing, verification."""

from __future__ import annotations

import pytest
from apisupport import OTHER_SLUG, SLUG, Api, World, decision, error_code

from web import create_app

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_api(tmp_path, clean_pg, admin_token):
    flask_app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": clean_pg, "ADMIN_TOKEN": admin_token})
    client = flask_app.test_client()
    world = World()
    for slug, name, user in ((SLUG, "Kommunen", "admin"), (OTHER_SLUG, "Grannkommunen", "other_admin")):
        created = client.post("/api/v1/tenants", json={"slug": slug, "name": name, "municipality_code": "1487"},
                              headers={"Authorization": f"Bearer {admin_token}"})
        assert created.status_code == 201, created.get_json()
        answer = client.post(f"/api/v1/t/{slug}/users", json={"email": f"{user}@{slug}.se", "name": user,
                                                              "role": "admin"},
                             headers={"Authorization": f"Bearer {admin_token}"})
        assert answer.status_code == 201, answer.get_json()
        world.tokens[user] = answer.get_json()["token"]
        world.user_ids[user] = answer.get_json()["id"]
    world.tokens["registrar"] = world.tokens["admin"]
    world.user_ids["registrar"] = world.user_ids["admin"]
    yield Api(flask_app, world, admin_token)
    flask_app.extensions["styrkedja"].close()


def test_a_short_budget_sequence_on_postgresql_gets_gap_free_positions_and_verifies(pg_api):
    kf, bun = decision("KF"), decision("BUN", "2023-12-11", "§120")
    steps = [
        ("/bodies", {"code": "BUN", "name": "Barn- och utbildningsnämnden", "kind": "committee", "decision": kf}),
        ("/bodies/BUN/areas", {"code": "GRUNDSKOLA", "name": "Grundskola", "decision": bun}),
        ("/terms", {"code": "2023-2026", "first_year": 2023, "last_year": 2026}),
        ("/indicators", {"code": "N15", "name": "Behöriga lärare", "unit": "%", "direction": "increase"}),
        ("/goals", {"code": "IM1", "term": "2023-2026", "title": "Alla barn lyckas", "decision": kf}),
        ("/plans", {"code": "MRP2024", "first_year": 2024}),
        ("/plans/MRP2024/frames", {"body": "BUN", "year": 2024, "amount_sek": 1_000_000, "decision": kf}),
        ("/bodies/BUN/budgets/2024/allocations", {"area": "GRUNDSKOLA", "amount_sek": 1_000_000, "decision": bun}),
        ("/bodies/BUN/budgets/2024/adoption", {"decision": bun}),
    ]
    positions = [pg_api.recorded(path, body)["position"] for path, body in steps]
    assert positions == list(range(3, 3 + len(steps)))

    payload = pg_api.refused(422, "/bodies", {"code": "SN", "name": "Socialnämnden", "kind": "committee",
                                              "decision": decision("KS")})
    assert error_code(payload) == "not_competent"
    payload = pg_api.refused(422, "/bodies/BUN/budgets/2024/adoption", {"decision": bun})
    assert error_code(payload) == "budget_adopted"

    key = {"Idempotency-Key": "pg-1"}
    first = pg_api.recorded("/vision", {"text": "Vision", "decision": kf}, headers=key)
    assert pg_api.post("/vision", {"text": "Vision", "decision": kf}, headers=key).get_json() == first
    assert first["position"] == positions[-1] + 1

    events = pg_api.events()
    assert [e["position"] for e in events] == list(range(1, first["position"] + 1))
    assert events[-1]["type"] == "VisionAdopted"
    assert pg_api.head() == {"head_position": first["position"], "head_hash": first["hash"]}
    assert pg_api.get("/ledger/verify").get_json() == {"ok": True, "checked": first["position"],
                                                       "first_bad_position": None}


def test_municipalities_on_one_postgresql_database_keep_separate_ledgers(pg_api):
    pg_api.recorded("/terms", {"code": "2023-2026", "first_year": 2023, "last_year": 2026})
    assert pg_api.head(OTHER_SLUG, who="other_admin")["head_position"] == 2
    assert pg_api.head()["head_position"] == 3
    payload = pg_api.refused(404, "/terms", {"code": "2027-2030", "first_year": 2027, "last_year": 2030},
                             who="other_admin")
    assert error_code(payload) == "not_found"
    assert pg_api.get("/ledger/verify", who="other_admin", slug=OTHER_SLUG).get_json()["ok"] is True
