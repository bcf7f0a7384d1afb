"""Security hardening over HTTP: headers on every answer, size and rate limits, token rotation and revocation,
and the per-tenant access audit trail."""

from __future__ import annotations

import shutil

import pytest
from apisupport import OTHER_SLUG, PREFIX, SLUG, Api, error_code

from web import create_app
from web.ui.signin import hash_password

PASSWORD = "ett-langt-losenord-for-prov"
FORGED = "sk_" + "0" * 32 + "_" + "A" * 43  # shaped like a real token, naming no user


@pytest.fixture
def secure_api(built_world, tmp_path, admin_token):
    """A private copy of the built municipality with a low token-failure limit and forms without CSRF."""
    source, world = built_world
    target = tmp_path / "data"
    shutil.copytree(source, target)
    flask_app = create_app({"DATA_DIR": str(target), "ADMIN_TOKEN": admin_token, "WTF_CSRF_ENABLED": False,
                            "TOKEN_FAILURE_LIMIT": "3 per minute"})
    api = Api(flask_app, world, admin_token)
    yield api
    flask_app.extensions["styrkedja"].close()


def access_log(api: Api, who: str = "admin", slug: str = SLUG, query: str = "") -> dict:
    answer = api.get(f"/access-log{query}", who=who, slug=slug)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def assert_hardened(answer, api_answer: bool) -> None:
    headers = answer.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS only over TLS
    if api_answer:
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_every_answer_api_ui_and_error_alike_carries_the_security_headers(secure_api):
    client = secure_api.client
    assert_hardened(secure_api.get("/ledger"), api_answer=True)
    assert_hardened(secure_api.get("/ledger", who=None), api_answer=True)  # 401
    assert_hardened(secure_api.get("/bodies/NOPE/state"), api_answer=True)  # 404 JSON
    assert_hardened(client.get(f"{PREFIX}/openapi.json"), api_answer=True)
    assert_hardened(client.get("/logga-in"), api_answer=False)
    assert_hardened(client.get("/ingen-sida-har"), api_answer=False)  # 404 HTML


def test_hsts_is_sent_over_tls_and_a_forwarded_proto_counts_only_behind_a_trusted_proxy(secure_api, built_world,
                                                                                       tmp_path, admin_token):
    assert "max-age=" in secure_api.client.get("/logga-in", base_url="https://localhost").headers[
        "Strict-Transport-Security"]
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "Strict-Transport-Security" not in secure_api.client.get("/logga-in", headers=forwarded).headers
    shutil.copytree(built_world[0], tmp_path / "proxied")
    proxied = create_app({"DATA_DIR": str(tmp_path / "proxied"), "ADMIN_TOKEN": admin_token, "TRUST_PROXY": True})
    try:
        assert "Strict-Transport-Security" in proxied.test_client().get("/logga-in", headers=forwarded).headers
    finally:
        proxied.extensions["styrkedja"].close()


def test_a_body_over_the_size_limit_is_refused_413_as_json_for_the_api_and_in_swedish_for_the_ui(secure_api):
    head = secure_api.head()
    big = "x" * (1024 * 1024 + 1)
    answer = secure_api.post("/bodies", {"code": "BIG", "name": big, "kind": "committee",
                                         "decision": {"body": "KF", "date": "2023-11-20", "paragraph": "§1"}},
                             who="admin")
    assert answer.status_code == 413
    assert error_code(answer.get_json()) == "too_large"
    assert_hardened(answer, api_answer=True)
    assert secure_api.head() == head  # nothing recorded
    page = secure_api.client.post("/logga-in", data={"email": "a@b.se", "password": big})
    assert page.status_code == 413
    assert "För stor begäran" in page.get_data(as_text=True)


def test_after_too_many_bad_tokens_an_address_gets_429_with_retry_after_but_good_tokens_still_work(secure_api):
    for _ in range(3):
        assert secure_api.get("/ledger", who=FORGED).status_code == 401
    refused = secure_api.get("/ledger", who=FORGED)
    assert refused.status_code == 429
    assert error_code(refused.get_json()) == "too_many_requests"
    assert int(refused.headers["Retry-After"]) >= 1
    assert_hardened(refused, api_answer=True)
    assert secure_api.get("/ledger", who="viewer").status_code == 200
    other_address = secure_api.client.get(f"{PREFIX}/t/{SLUG}/ledger", headers={"Authorization": f"Bearer {FORGED}"},
                                          environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other_address.status_code == 401
    failures = [(e["outcome"], e["ip"]) for e in access_log(secure_api)["entries"] if e["kind"] == "token_failure"]
    assert failures.count(("failure", "127.0.0.1")) == 3
    assert failures.count(("rate_limited", "127.0.0.1")) == 1
    assert failures.count(("failure", "198.51.100.7")) == 1


def test_a_revoked_token_is_refused_at_once(secure_api):
    registrar = secure_api.user_ids["registrar"]
    assert secure_api.get("/ledger", who="registrar").status_code == 200
    answer = secure_api.client.delete(f"{PREFIX}/t/{SLUG}/users/{registrar}/token",
                                      headers=secure_api.headers("admin"))
    assert answer.status_code == 204
    refused = secure_api.get("/ledger", who="registrar")
    assert refused.status_code == 401
    assert error_code(refused.get_json()) == "invalid_token"
    assert ("token_revoked", "success", registrar) in [
        (e["kind"], e["outcome"], e["user_id"]) for e in access_log(secure_api)["entries"]]


def test_a_user_rotating_their_own_token_gets_a_new_one_and_the_old_one_stops_working(secure_api):
    answer = secure_api.post("/me/token", who="viewer")
    assert answer.status_code == 201
    new_token = answer.get_json()["token"]
    assert answer.get_json()["id"] == secure_api.user_ids["viewer"]
    assert secure_api.get("/ledger", who="viewer").status_code == 401
    assert secure_api.get("/ledger", who=new_token).status_code == 200


def test_an_administrator_rotating_a_users_token_hands_out_a_new_one(secure_api):
    reporter = secure_api.user_ids["reporter_bun"]
    answer = secure_api.post(f"/users/{reporter}/token", who="admin")
    assert answer.status_code == 201
    assert secure_api.get("/ledger", who="reporter_bun").status_code == 401
    assert secure_api.get("/ledger", who=answer.get_json()["token"]).status_code == 200


def test_only_the_tenants_own_administrator_may_manage_its_tokens_or_read_its_access_log(secure_api):
    registrar = secure_api.user_ids["registrar"]
    assert secure_api.get("/access-log", who="other_admin").status_code == 404
    assert secure_api.post(f"/users/{registrar}/token", who="other_admin").status_code == 404
    assert secure_api.get("/access-log", who="registrar").status_code == 403
    assert secure_api.post(f"/users/{registrar}/token", who="viewer").status_code == 403
    foreign_user = secure_api.user_ids["other_admin"]
    assert secure_api.post(f"/users/{foreign_user}/token", who="admin").status_code == 404
    assert secure_api.get("/ledger", who="registrar").status_code == 200  # nothing was rotated


def test_the_access_log_records_sign_ins_and_token_use_newest_first_a_page_at_a_time(secure_api):
    platform = secure_api.app.extensions["styrkedja"].platform
    admin_user = platform.user_by_email(SLUG, "admin@kommun.se")
    platform.set_password(admin_user.id, hash_password(PASSWORD))
    client = secure_api.app.test_client()
    agent = {"User-Agent": "Provwebblasare/1.0"}
    assert client.post("/logga-in", data={"email": "admin@kommun.se", "password": "fel-losenord-helt"},
                       headers=agent).status_code == 400
    assert client.post("/logga-in", data={"email": "admin@kommun.se", "password": PASSWORD},
                       headers=agent).status_code == 302
    earlier = {e["id"] for e in access_log(secure_api, query="?limit=500")["entries"]}
    for _ in range(3):
        assert secure_api.get("/ledger", who="auditor").status_code == 200
    entries = access_log(secure_api)["entries"]
    sign_ins = [e for e in entries if e["kind"] == "sign_in"]
    assert [e["outcome"] for e in sign_ins] == ["success", "failure"]  # newest first
    assert all(e["user_id"] == str(admin_user.id) and e["user_agent"] == "Provwebblasare/1.0"
               and e["ip"] == "127.0.0.1" and e["at"].endswith("+00:00") for e in sign_ins)
    auditor_use = [e for e in entries if e["kind"] == "token_use" and e["id"] not in earlier
                   and e["user_id"] == secure_api.user_ids["auditor"]]
    assert len(auditor_use) == 1  # the first use in the hour, not one row per request
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids, reverse=True)
    first = access_log(secure_api, query="?limit=2")
    assert [e["id"] for e in first["entries"]] == ids[:2]
    second = access_log(secure_api, query=f"?limit=2&before={first['next_before']}")
    assert [e["id"] for e in second["entries"]] == ids[2:4]
    # The neighbouring municipality's trail holds none of this.
    assert all(e["tenant"] == OTHER_SLUG for e in access_log(secure_api, "other_admin", OTHER_SLUG)["entries"])


def test_too_many_sign_in_attempts_are_refused_in_swedish_and_kept_in_the_trail(secure_api):
    client = secure_api.app.test_client()
    address = {"REMOTE_ADDR": "203.0.113.44"}
    statuses = [client.post("/logga-in", data={"email": "admin@kommun.se", "password": "fel-losenord-helt"},
                            environ_base=address).status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10
    assert statuses[10] == 429
    refused = client.post("/logga-in", data={"email": "admin@kommun.se", "password": "x"}, environ_base=address)
    assert "För många försök" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) >= 1
    assert_hardened(refused, api_answer=False)
    rows = [(e["kind"], e["outcome"], e["ip"]) for e in access_log(secure_api)["entries"]]
    assert rows.count(("sign_in", "rate_limited", "203.0.113.44")) == 1  # one row a minute, not one per refusal


def test_an_administrator_sees_the_trail_in_swedish_and_revokes_a_token_from_the_users_page(secure_api):
    platform = secure_api.app.extensions["styrkedja"].platform
    admin_user = platform.user_by_email(SLUG, "admin@kommun.se")
    platform.set_password(admin_user.id, hash_password(PASSWORD))
    client = secure_api.app.test_client()
    assert client.post("/logga-in", data={"email": "admin@kommun.se", "password": PASSWORD}).status_code == 302
    viewer = secure_api.user_ids["viewer"]
    answer = client.post(f"/t/{SLUG}/admin/anvandare/{viewer}/api-nyckel/aterkalla")
    assert answer.status_code == 303
    assert secure_api.get("/ledger", who="viewer").status_code == 401
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "API-nyckeln för viewer är återkallad" in page
    assert "Inloggningar och API-användning" in page
    for label in ("Inloggning", "API-nyckel återkallad", "Lyckades"):
        assert f"<td>{label}</td>" in page
