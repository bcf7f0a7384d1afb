"""Regression tests for defects the HTTP tests found in web/ and domain/ (now fixed)."""

from __future__ import annotations

from apisupport import decision, error_code, field_errors


def test_a_body_that_is_not_valid_json_answers_400(api):
    payload = api.refused(400, "/bodies", data='{"code": "SN",', content_type="application/json")
    field_errors(payload, "json")


def test_a_reporter_limited_to_bun_may_not_assess_another_body_s_uppdrag(api):
    api.refused(403, "/follow-ups/assessments", {
        "subject": "assignment:U-SBN", "period": "2024-T1", "attainment": "met", "analysis": "Klart.",
        "reported_on": "2024-05-10"}, who="reporter_bun")


def test_a_second_council_cannot_be_established(api):
    api.refused(422, "/bodies", {"code": "KF2", "name": "Ett andra fullmäktige", "kind": "council",
                                 "decision": decision("KF")})


def test_the_founding_council_cannot_be_retracted(api):
    founding = api.events(limit=1)[0]
    assert (founding["type"], founding["data"]["code"]) == ("BodyEstablished", "KF")
    api.refused(422, f"/events/{founding['id']}/retraction", {"reason": "Av misstag."})


def test_a_query_without_a_token_answers_401_even_when_its_parameters_are_malformed(shared_api):
    # The query string used to be parsed before the caller was known: 400 told a stranger what was wrong.
    for path in ("/state?as_of=igår", "/events?after=-1", "/timeline?limit=0", "/diff?from=x"):
        answer = shared_api.get(path, who=None)
        assert (answer.status_code, error_code(answer.get_json())) == (401, "unauthenticated"), path


def test_a_report_request_to_another_municipality_answers_404_whatever_its_body(shared_api):
    answer = shared_api.post("/reports", {"kind": "no such kind"}, who="other_admin")
    assert (answer.status_code, error_code(answer.get_json())) == (404, "not_found")


def test_the_openapi_document_describes_the_error_bodies_the_api_really_sends(shared_api):
    document = shared_api.get("/api/v1/openapi.json", who=None).get_json()
    schemas, responses = document["components"]["schemas"], document["components"]["responses"]

    def body_of(response: str) -> dict:
        ref = responses[response]["content"]["application/json"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]

    assert body_of("BAD_REQUEST")["required"] == ["errors"]
    for refusal in ("UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "CONFLICT", "UNPROCESSABLE_ENTITY",
                    "SERVICE_UNAVAILABLE"):
        assert body_of(refusal)["required"] == ["error"], refusal
    recording = document["paths"]["/api/v1/t/{tenant}/bodies"]["post"]["responses"]
    assert {"201", "400", "401", "403", "404", "409", "422", "503"} <= set(recording)
    state = document["paths"]["/api/v1/t/{tenant}/state"]["get"]["responses"]
    assert {"200", "400", "401", "403", "404", "503"} <= set(state)


def test_a_budget_year_beyond_the_calendar_in_the_path_is_no_such_budget(api):
    # It used to be recorded, and then every /state of the municipality answered 500.
    for year in ("99999999999999999999999", "0", "1899", "2201"):
        api.refused(404, f"/bodies/BUN/budgets/{year}/allocations", {
            "area": "GRUNDSKOLA", "amount_sek": 1, "decision": decision("BUN")})
    assert api.get("/state").status_code == 200


def test_an_amount_beyond_any_municipalitys_budget_is_refused_naming_the_field(api):
    payload = api.refused(400, "/bodies/BUN/budgets/2025/allocations", {
        "area": "GRUNDSKOLA", "amount_sek": 10**30, "decision": decision("BUN")})
    field_errors(payload, "amount_sek")
    payload = api.refused(400, "/follow-ups/indicators", {
        "indicator": "N15", "period": "2024", "value": 10**400, "reported_on": "2025-01-10"})
    field_errors(payload, "value")


def test_a_position_beyond_a_64_bit_integer_answers_400_naming_the_parameter(shared_api):
    huge = 10**23
    for path, name in ((f"/events?after={huge}", "after"), (f"/timeline?cursor={huge}", "cursor"),
                       (f"/state?min_position={huge}", "min_position")):
        answer = shared_api.get(path)
        assert answer.status_code == 400, (path, answer.get_json())
        field_errors(answer.get_json(), name)


def test_a_moment_whose_utc_falls_outside_the_calendar_answers_400_naming_the_parameter(shared_api):
    answer = shared_api.get("/state?known_at=9999-12-31T23:59:59-05:00")
    assert answer.status_code == 400
    field_errors(answer.get_json(), "known_at")
    payload = shared_api.refused(400, "/reports", {"kind": "annual", "year": 2024, "format": "csv",
                                                   "known_at": "0001-01-01T00:00:00+14:00"}, who="admin")
    field_errors(payload, "known_at")


def test_text_with_a_nul_character_is_refused_naming_the_field(api):
    # PostgreSQL refuses NUL in a text value: a timeline ?subject= with one answered 500 there.
    payload = api.refused(400, "/bodies/BUN/areas", {"code": "NUL", "name": "Skol\u0000a", "decision": decision("BUN")})
    field_errors(payload, "name")
    payload = api.refused(400, "/follow-ups/measures", {
        "body": "BUN", "year": 2024, "description": "Åtgärd.", "decision": decision("BUN", paragraph="§\u00001")})
    field_errors(payload, "decision", "paragraph")
    answer = api.get("/timeline?subject=a%00b")
    assert answer.status_code == 400
    field_errors(answer.get_json(), "subject")


def test_after_a_request_the_thread_records_in_nobodys_name(api):
    # The test client runs the app in the caller's thread: the request's user used to stay the current
    # actor afterwards, so a demo recorded next in that thread named the last API user as its recorder.
    from domain.context import current_actor

    api.post("/indicators", {"code": "N99", "name": "Nyckeltal", "unit": "%", "direction": "increase"})

    assert current_actor.get() is None
