"""Regression tests for defects the HTTP tests found in web/ and domain/ (now fixed)."""

from __future__ import annotations

import json
import time

from apisupport import decision, error_code, field_errors

from web.api.commands import COMMANDS


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


def test_a_number_or_a_boolean_sent_as_text_is_refused_naming_the_field(api):
    # marshmallow alone took "85" and "1e3" as numbers and "yes" or 1 as true, and they were recorded.
    for value in ("85", "1e3", " 12.50 ", True):
        payload = api.refused(400, "/goals/IM1/targets", {"indicator": "N15", "year": 2026, "value": value,
                                                          "decision": decision("KF")})
        assert field_errors(payload, "value") == ["Not a number."], value
    for granted in ("yes", 1, "true"):
        payload = api.refused(400, "/discharge/decisions", {
            "body": "BUN", "year": 2024, "granted": granted, "decision": decision("KF", "2025-04-22", "§40")})
        assert field_errors(payload, "granted") == ["Not a boolean (true or false)."], granted
    assert api.recorded("/goals/IM1/targets", {"indicator": "N15", "year": 2026, "value": 92.5,
                                               "decision": decision("KF")})["position"]


def test_a_date_not_written_yyyy_mm_dd_is_refused_naming_the_field(api, shared_api):
    payload = api.refused(400, "/goals/IM1/targets", {"indicator": "N15", "year": 2026, "value": 90,
                                                      "decision": decision("KF", "2023-11-2")})
    assert field_errors(payload, "decision", "date") == ["Not a date of the form YYYY-MM-DD."]
    answer = shared_api.get("/state?as_of=2024-3-1")
    assert answer.status_code == 400
    field_errors(answer.get_json(), "as_of")


def test_a_document_revision_that_changes_nothing_is_malformed_like_the_other_revisions(api):
    payload = api.refused(400, "/documents/D1/revisions", {"decision": decision("KS")})
    field_errors(payload, "name")


def test_a_timeline_whose_to_is_before_its_from_answers_400_as_the_diff_does(shared_api):
    for path in ("/timeline?from=2024-07-01&to=2024-06-01", "/diff?from=2024-07-01&to=2024-06-01"):
        answer = shared_api.get(path)
        assert answer.status_code == 400, path
        field_errors(answer.get_json(), "to")


def test_a_body_sent_without_a_json_content_type_is_refused_saying_so(api):
    payload = api.refused(400, "/indicators", data=json.dumps({
        "code": "N98", "name": "Nyckeltal", "unit": "%", "direction": "increase"}), content_type="text/plain")
    assert field_errors(payload, "json") == ["Send the body as JSON, with Content-Type: application/json."]


def test_a_report_request_the_worker_could_not_build_is_refused_before_it_is_queued(shared_api):
    # An interim report without its period, and an annual one for a body, used to be queued and then fail.
    for body, name in (({"kind": "interim", "year": 2024, "format": "pdf"}, "period"),
                       ({"kind": "annual", "year": 2024, "body": "BUN", "format": "html"}, "body"),
                       ({"kind": "interim", "year": 2024, "period": "T1", "body": "BUN", "format": "pdf"}, "body"),
                       ({"kind": "annual", "year": 2024, "period": "T2", "format": "html"}, "period")):
        payload = shared_api.refused(400, "/reports", body, who="auditor")
        field_errors(payload, name)


def test_the_diff_names_the_record_time_it_was_read_at(shared_api):
    answer = shared_api.get("/diff?from=2023-01-01&to=2024-06-30&known_at=2030-01-01T02:00:00%2B02:00")
    assert answer.status_code == 200, answer.get_json()
    # In UTC, written as /state writes it.
    assert answer.get_json()["known_at"] == "2030-01-01T00:00:00.000000+00:00"
    assert shared_api.get("/state?known_at=2030-01-01T00:00:00Z").get_json()["known_at"] == answer.get_json()[
        "known_at"]
    assert shared_api.get("/diff?from=2023-01-01&to=2024-06-30").get_json()["known_at"] is None


def test_a_min_position_beyond_the_ledger_answers_503_in_the_embedded_default_too(shared_api):
    head = shared_api.head()["head_position"]
    started = time.monotonic()
    answer = shared_api.get(f"/state?min_position={head + 1}")
    assert (answer.status_code, error_code(answer.get_json())) == (503, "projection_lagging")
    assert time.monotonic() - started >= 1.5  # it waited for the position before refusing
    assert shared_api.get(f"/state?min_position={head}").status_code == 200


def test_the_openapi_document_describes_the_idempotency_key_of_every_command(shared_api):
    document = shared_api.get("/api/v1/openapi.json", who=None).get_json()
    operations = {operation.get("operationId"): operation for item in document["paths"].values()
                  for operation in item.values() if isinstance(operation, dict)}
    for command in COMMANDS:
        parameters = operations[command.name].get("parameters", [])
        assert [p["name"] for p in parameters if p.get("in") == "header"] == ["Idempotency-Key"], command.name
