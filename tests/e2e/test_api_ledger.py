"""The ledger over HTTP: the event feed with after and limit, the head, verification, and who may read them."""

from __future__ import annotations

import hashlib
import json

import pytest
from apisupport import MISSING_SLUG, OTHER_SLUG, decision, error_code, field_errors

GENESIS = "0" * 64
READS = ("/events", "/ledger", "/ledger/verify")


def recompute(event: dict) -> str:
    """The hash of an event as docs/api.md tells anyone to compute it."""
    content = {k: v for k, v in event.items() if k not in ("hash", "prev_hash")}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((event["prev_hash"] + "\n" + canonical).encode("utf-8")).hexdigest()


def test_the_event_feed_pages_through_the_whole_log_in_order(shared_api):
    head = shared_api.head()
    pages, after = [], 0
    while True:
        page = shared_api.events(after=after, limit=7)
        assert len(page) <= 7
        if not page:
            break
        pages.append(page)
        after = page[-1]["position"]
    events = [event for page in pages for event in page]
    assert all(len(page) == 7 for page in pages[:-1])
    assert [e["position"] for e in events] == list(range(1, head["head_position"] + 1))
    assert events == shared_api.events(limit=1000)


def test_the_event_feed_starts_after_the_given_position(shared_api):
    assert [e["position"] for e in shared_api.events(after=10, limit=3)] == [11, 12, 13]


def test_the_event_feed_after_the_head_is_empty(shared_api):
    assert shared_api.events(after=shared_api.head()["head_position"]) == []
    assert shared_api.events(after=10**9) == []


def test_the_event_feed_answers_100_events_unless_told_otherwise(api):
    for year in range(2030, 2030 + 80):
        api.recorded("/terms", {"code": f"T{year}", "first_year": year, "last_year": year})
    assert api.head()["head_position"] > 100
    assert [e["position"] for e in api.get("/events").get_json()] == list(range(1, 101))


def test_every_event_has_the_ledger_format(shared_api):
    for event in shared_api.events(limit=1000):
        assert set(event) == {"position", "id", "type", "tenant", "recorded_at", "recorded_by", "decision", "data",
                              "prev_hash", "hash"}
        assert event["tenant"] == "kommun"


def test_every_hash_in_the_feed_can_be_recomputed_by_a_client(shared_api):
    prev = GENESIS
    for event in shared_api.events(limit=1000):
        assert event["prev_hash"] == prev
        assert recompute(event) == event["hash"]
        prev = event["hash"]
    assert shared_api.head()["head_hash"] == prev


def test_the_ledger_head_is_the_last_event(shared_api):
    last = shared_api.events(limit=1000)[-1]
    assert shared_api.head() == {"head_position": last["position"], "head_hash": last["hash"]}


def test_a_new_municipality_starts_its_ledger_with_kf_and_ks(shared_api):
    first, second = shared_api.events(limit=2, slug=OTHER_SLUG, who="other_admin")
    assert first["prev_hash"] == GENESIS
    assert [(e["position"], e["type"], e["data"]["code"], e["data"]["kind"]) for e in (first, second)] == [
        (1, "BodyEstablished", "KF", "council"), (2, "BodyEstablished", "KS", "executive_board")]


def test_verification_checks_every_position_and_finds_nothing_wrong(shared_api):
    answer = shared_api.get("/ledger/verify")
    assert answer.status_code == 200
    assert answer.get_json() == {"ok": True, "checked": shared_api.head()["head_position"], "first_bad_position": None}


def test_verification_stays_ok_after_commands_retries_and_refusals(api):
    key = {"Idempotency-Key": "verify-1"}
    api.recorded("/vision", {"text": "Vision", "decision": decision("KF")}, headers=key)
    api.post("/vision", {"text": "Vision", "decision": decision("KF")}, headers=key)
    api.refused(422, "/vision", {"text": "Vision", "decision": decision("KS")})
    api.recorded(f"/events/{api.ids['target']}/retraction", {"reason": "Fel."})
    head = api.head()
    assert api.get("/ledger/verify").get_json() == {"ok": True, "checked": head["head_position"],
                                                    "first_bad_position": None}


@pytest.mark.parametrize(("query", "field_name"), [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=abc", "limit"), ("after=-1", "after"),
    ("after=first", "after"),
])
def test_a_malformed_event_feed_query_answers_400_naming_the_parameter(shared_api, query, field_name):
    answer = shared_api.get(f"/events?{query}")
    assert answer.status_code == 400
    field_errors(answer.get_json(), field_name)


@pytest.mark.parametrize("who", ["admin", "registrar", "registrar_bun", "reporter_bun", "auditor", "viewer"])
@pytest.mark.parametrize("path", READS)
def test_every_role_of_the_municipality_may_read_its_ledger(shared_api, who, path):
    assert shared_api.get(path, who=who).status_code == 200


@pytest.mark.parametrize("path", READS)
def test_the_ledger_of_another_municipality_answers_like_one_that_does_not_exist(shared_api, path):
    foreign = shared_api.get(path, who="other_admin")
    missing = shared_api.get(path, who="other_admin", slug=MISSING_SLUG)
    assert foreign.status_code == missing.status_code == 404
    assert error_code(foreign.get_json()) == "not_found"
    assert foreign.get_json() == missing.get_json()


@pytest.mark.parametrize("path", READS)
def test_reading_the_ledger_without_a_token_answers_401(shared_api, path):
    answer = shared_api.get(path, who=None)
    assert answer.status_code == 401
    assert error_code(answer.get_json()) == "unauthenticated"


@pytest.mark.parametrize("path", READS)
def test_reading_the_ledger_with_a_forged_token_answers_401(shared_api, path):
    answer = shared_api.get(path, who="sk_" + "0" * 32 + "_forged")
    assert answer.status_code == 401
    assert error_code(answer.get_json()) == "invalid_token"
