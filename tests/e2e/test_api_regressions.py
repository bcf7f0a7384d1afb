"""Regression tests for defects the HTTP tests found in web/ and domain/ (now fixed)."""

from __future__ import annotations

from apisupport import decision, field_errors


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
