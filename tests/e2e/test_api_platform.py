"""The platform endpoints over HTTP: creating municipalities and their users, and who may do it."""

from __future__ import annotations

import pytest
from apisupport import MISSING_SLUG, SLUG, error_code, field_errors

NEW = {"slug": "ny-kommun", "name": "Nya kommunen", "municipality_code": "1489"}
USER = {"email": "ny.registrator@kommun.se", "name": "Ny registrator", "role": "registrar"}


def test_a_new_municipality_is_created_with_kf_and_ks_and_a_verified_ledger(api):
    answer = api.post("/api/v1/tenants", NEW, who="platform_admin")
    assert answer.status_code == 201
    assert answer.get_json() == {**NEW, "settings": {}}
    user = api.post("/api/v1/t/ny-kommun/users", {**USER, "role": "viewer"}, who="platform_admin").get_json()
    api.tokens["ny_viewer"] = user["token"]
    events = api.events(slug="ny-kommun", who="ny_viewer")
    assert [(e["type"], e["data"]["code"]) for e in events] == [("BodyEstablished", "KF"), ("BodyEstablished", "KS")]
    assert api.get("/ledger/verify", who="ny_viewer", slug="ny-kommun").get_json()["ok"] is True


def test_a_municipality_keeps_its_settings(api):
    settings = {"reallocation_council_threshold_percent": 10}
    answer = api.post("/api/v1/tenants", {**NEW, "settings": settings}, who="platform_admin")
    assert answer.get_json()["settings"] == settings


def test_the_platform_admin_lists_the_municipalities(shared_api):
    answer = shared_api.get("/api/v1/tenants", who="platform_admin")
    assert answer.status_code == 200
    assert {t["slug"] for t in answer.get_json()} >= {"kommun", "grannkommun"}


def test_a_slug_already_taken_answers_409(shared_api):
    answer = shared_api.post("/api/v1/tenants", {**NEW, "slug": SLUG}, who="platform_admin")
    assert answer.status_code == 409
    assert error_code(answer.get_json()) == "already_exists"


@pytest.mark.parametrize(("overrides", "field_path"), [
    ({"slug": "Versaler"}, ("slug",)), ({"slug": "x"}, ("slug",)), ({"slug": "-kant"}, ("slug",)),
    ({"municipality_code": "148"}, ("municipality_code",)), ({"name": ""}, ("name",)),
    ({"settings": {"reallocation_council_threshold_percent": 101}},
     ("settings", "reallocation_council_threshold_percent")),
])
def test_a_malformed_municipality_answers_400_naming_the_field(shared_api, overrides, field_path):
    answer = shared_api.post("/api/v1/tenants", {**NEW, **overrides}, who="platform_admin")
    assert answer.status_code == 400
    field_errors(answer.get_json(), *field_path)


@pytest.mark.parametrize(("who", "status"), [("admin", 403), (None, 401), ("sk_forged", 401)])
def test_only_the_platform_admin_creates_and_lists_municipalities(shared_api, who, status):
    assert shared_api.post("/api/v1/tenants", NEW, who=who).status_code == status
    assert shared_api.get("/api/v1/tenants", who=who).status_code == status


@pytest.mark.parametrize("who", ["admin", "platform_admin"])
def test_an_administrator_adds_a_user_whose_token_works(api, who):
    answer = api.post("/api/v1/t/kommun/users", {**USER, "bodies": ["BUN"]}, who=who)
    assert answer.status_code == 201
    created = answer.get_json()
    assert set(created) == {"id", "token"}
    api.tokens["new"] = created["token"]
    recorded = api.recorded("/bodies/BUN/areas", {"code": "FRITIDS", "name": "Fritidshem", "decision": {
        "body": "BUN", "date": "2023-11-20", "paragraph": "§1"}}, who="new")
    assert api.event_at(recorded["position"])["recorded_by"] == created["id"]
    api.refused(403, "/vision", {"text": "v", "decision": {"body": "KF", "date": "2023-11-20", "paragraph": "§1"}},
                who="new")


@pytest.mark.parametrize("who", ["registrar", "reporter_bun", "auditor", "viewer"])
def test_a_user_who_is_not_an_administrator_may_not_add_users(shared_api, who):
    answer = shared_api.post("/api/v1/t/kommun/users", USER, who=who)
    assert answer.status_code == 403
    assert error_code(answer.get_json()) == "forbidden"


def test_an_administrator_of_another_municipality_gets_404_when_adding_users(shared_api):
    foreign = shared_api.post("/api/v1/t/kommun/users", USER, who="other_admin")
    missing = shared_api.post(f"/api/v1/t/{MISSING_SLUG}/users", USER, who="other_admin")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.get_json() == missing.get_json()


def test_adding_a_user_to_a_municipality_that_does_not_exist_answers_404(shared_api):
    answer = shared_api.post(f"/api/v1/t/{MISSING_SLUG}/users", USER, who="platform_admin")
    assert answer.status_code == 404


def test_a_user_limited_to_a_body_that_does_not_exist_answers_422_unknown_reference(shared_api):
    answer = shared_api.post("/api/v1/t/kommun/users", {**USER, "bodies": ["NOPE"]}, who="admin")
    assert answer.status_code == 422
    assert error_code(answer.get_json()) == "unknown_reference"


def test_an_email_already_in_use_in_the_municipality_answers_409(api):
    assert api.post("/api/v1/t/kommun/users", USER, who="admin").status_code == 201
    answer = api.post("/api/v1/t/kommun/users", {**USER, "email": USER["email"].upper()}, who="admin")
    assert answer.status_code == 409
    assert error_code(answer.get_json()) == "already_exists"


@pytest.mark.parametrize(("overrides", "field_path"), [
    ({"role": "superuser"}, ("role",)), ({"email": "inte-en-adress"}, ("email",)),
    ({"bodies": ["B N"]}, ("bodies", "0")),
])
def test_a_malformed_user_answers_400_naming_the_field(shared_api, overrides, field_path):
    answer = shared_api.post("/api/v1/t/kommun/users", {**USER, **overrides}, who="admin")
    assert answer.status_code == 400
    field_errors(answer.get_json(), *field_path)
