"""On PostgreSQL a recorded decision borrows one pooled connection for all its reads and its save."""

from __future__ import annotations

import pytest
from apisupport import decision

from projections.pool import shared_pool_stats
from web import create_app

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_client(tmp_path, clean_pg, admin_token):
    flask_app = create_app({"DATA_DIR": str(tmp_path), "DATABASE_URL": clean_pg, "ADMIN_TOKEN": admin_token})
    client = flask_app.test_client()
    admin = {"Authorization": f"Bearer {admin_token}"}
    created = client.post("/api/v1/tenants", json={"slug": "kommunen", "name": "Kommunen",
                                                   "municipality_code": "1487"}, headers=admin)
    assert created.status_code == 201, created.get_json()
    user = client.post("/api/v1/t/kommunen/users", json={"email": "reg@kommunen.se", "name": "Registrator",
                                                         "role": "registrar"}, headers=admin)
    assert user.status_code == 201, user.get_json()
    yield client, {"Authorization": f"Bearer {user.get_json()['token']}"}
    flask_app.extensions["styrkedja"].close()


def connections_requested() -> int:
    return sum(stats.get("requests_num", 0) for stats in shared_pool_stats())


def test_each_recorded_decision_takes_one_connection_from_the_pool(pg_client):
    client, token = pg_client
    # The first command also reads the token's user and the ledger; the next ones are the common case.
    warm = client.post("/api/v1/t/kommunen/indicators", headers=token,
                       json={"code": "N0", "name": "Nyckeltal", "unit": "%", "direction": "increase"})
    assert warm.status_code == 201, warm.get_json()

    requests = [
        ("/indicators", {"code": "N1", "name": "Behöriga lärare", "unit": "%", "direction": "increase"}),
        ("/terms", {"code": "T2023", "first_year": 2023, "last_year": 2026}),
        ("/goals", {"code": "G1", "term": "T2023", "title": "Alla barn lyckas", "decision": decision("KF")}),
        ("/goals/G1/targets", {"indicator": "N1", "year": 2024, "value": 80, "decision": decision("KF")}),
    ]
    for path, body in requests:
        before = connections_requested()
        answer = client.post(f"/api/v1/t/kommunen{path}", json=body, headers=token)
        assert answer.status_code == 201, answer.get_json()
        assert connections_requested() - before == 1, path
