"""The ledger: gap-free positions, event ids that name them, the hash chain, and verification of stores and exports."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
from decimal import Decimal

import pytest

from domain.errors import DomainError
from domain.ledger import FORMAT, GENESIS_HASH, event_id, position_of, verify_export


@pytest.fixture
def history(org, by):
    """A tenant with a varied history, refused commands in between."""
    org.open_term("2023-2026", 2023, 2026)
    org.define_indicator("N15", "Behöriga lärare", "%", "increase")
    org.establish_goal("IM1", "2023-2026", "Alla barn lyckas i skolan", by("KF"))
    org.fix_goal_target("IM1", "N15", 2024, Decimal("82.5"), by("KF"))
    for refused_command in (
        lambda: org.fix_goal_target("IM1", "N15", 2024, Decimal(90), by("BUN")),
        lambda: org.establish_goal("IM1", "2023-2026", "Igen", by("KF")),
    ):
        with contextlib.suppress(DomainError):
            refused_command()
    org.draft_plan("MRP2024", 2024)
    org.set_frame("MRP2024", "BUN", 2024, 1_000_000, [], by("KF"))
    org.set_allocation("BUN", 2024, "GRUNDSKOLA", 1_000_000, by("BUN", dt.date(2023, 12, 12)))
    org.adopt_budget("BUN", 2024, by("BUN", dt.date(2023, 12, 12)))
    org.issue_assignment("U2024-03", "BUN", "Läsfrämjande", "Plan för läsfrämjande", dt.date(2025, 6, 30), by("KF"))
    return org


def records(app) -> list[dict]:
    return [entry.as_record() for entry in app.ledger_entries()]


def export_lines(app) -> list[str]:
    """An export as the ledger_export report writes it: a header, then one event per line."""
    head_position, head_hash, _ = app.ledger_head()
    header = {"format": FORMAT, "tenant": app.tenant, "exported_at": "2026-11-27T08:00:00+00:00",
              "head_position": head_position, "head_hash": head_hash}
    # Line k holds position k: line 0 is the header.
    return [json.dumps(header)] + [json.dumps(entry.as_record()) for entry in app.ledger_entries()]


# --- positions and ids ---------------------------------------------------------------------------------


def test_positions_run_from_one_without_gaps(history):
    positions = [record["position"] for record in records(history)]
    assert positions == list(range(1, len(positions) + 1))
    assert history.ledger_head()[0] == len(positions)


def test_refused_commands_take_no_position(history, refused, by):
    head = history.ledger_head()[0]
    refused(history, "not_competent", history.adopt_vision, "Vision", by("KS"))
    history.adopt_vision("Vision", by("KF"))
    assert history.ledger_head()[0] == head + 1


def test_the_founding_bodies_take_the_first_two_positions(app):
    assert [(r["position"], r["type"], r["data"]["code"]) for r in records(app)] == [
        (1, "BodyEstablished", "KF"), (2, "BodyEstablished", "KS")]


def test_a_command_answers_with_its_entrys_id_position_and_hash(org, by):
    answer = org.adopt_vision("Vänersborg växer", by("KF"))
    entry = org.entry_at(answer["position"])
    assert answer == {"event_id": entry.as_record()["id"], "position": entry.position,
                      "recorded_at": entry.as_record()["recorded_at"], "hash": entry.hash}
    assert org.ledger_head()[:2] == (answer["position"], answer["hash"])


def test_opening_a_body_year_takes_no_position(org, by, ledger_types):
    org.draft_plan("MRP2024", 2024)
    head = org.ledger_head()[0]
    org.set_frame("MRP2024", "BUN", 2024, 1_000_000, [], by("KF"))
    assert org.ledger_head()[0] == head + 1
    assert "BodyYearOpened" not in ledger_types(org)


def test_event_ids_map_back_to_their_positions(history):
    for record in records(history):
        assert record["id"] == event_id(history.tenant, record["position"])
        assert position_of(history.tenant, record["id"]) == record["position"]
        assert position_of(history.tenant, record["id"].upper()) == record["position"]


def test_an_event_id_names_a_position_only_in_its_own_tenant(history):
    some_id = records(history)[4]["id"]
    assert position_of("grannkommun", some_id) is None
    assert event_id("grannkommun", 5) != some_id


@pytest.mark.parametrize("text", ["", "inte-ett-id", "00000000-0000-0000-0000-000000000005",
                                  "d651634b-3ea7-8117-8000-00000000000"])
def test_a_string_that_is_no_event_id_names_no_position(text):
    assert position_of("testkommun", text) is None


def test_entry_at_finds_every_position_and_nothing_beyond(history):
    head = history.ledger_head()[0]
    assert [history.entry_at(p).position for p in range(1, head + 1)] == list(range(1, head + 1))
    assert history.entry_at(head + 1) is None


# --- the chain -----------------------------------------------------------------------------------------


def test_every_entry_is_chained_to_the_one_before(history):
    previous = GENESIS_HASH
    for record in records(history):
        content = {k: v for k, v in record.items() if k not in ("hash", "prev_hash")}
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert record["prev_hash"] == previous
        assert record["hash"] == hashlib.sha256((previous + "\n" + canonical).encode("utf-8")).hexdigest()
        previous = record["hash"]
    assert history.ledger_head()[1] == previous


def test_an_entry_has_the_documented_fields(history):
    record = records(history)[-1]
    assert set(record) == {"position", "id", "type", "tenant", "recorded_at", "recorded_by", "decision", "data",
                           "prev_hash", "hash"}
    assert record["tenant"] == "testkommun"
    assert dt.datetime.fromisoformat(record["recorded_at"]).tzinfo is not None


def test_target_values_and_money_are_plain_json_numbers(history):
    fixed = next(r for r in records(history) if r["type"] == "TargetValueFixed")
    assert fixed["data"]["value"] == 82.5
    frame = next(r for r in records(history) if r["type"] == "FrameSet")
    assert frame["data"]["amount_sek"] == 1_000_000
    assert isinstance(frame["data"]["amount_sek"], int)


def test_record_time_never_runs_backwards(history):
    times = [dt.datetime.fromisoformat(record["recorded_at"]) for record in records(history)]
    assert times == sorted(times)


# --- verification of the store ---------------------------------------------------------------------------


def test_the_stored_ledger_verifies(history):
    verification = history.verify_ledger()
    assert verification.ok
    assert verification.checked == history.ledger_head()[0]
    assert verification.first_bad_position is None
    assert verification.head_hash == history.ledger_head()[1]


def _ledger_rows(app):
    connection = sqlite3.connect(app.config.data_dir / f"{app.tenant}.sqlite")
    return connection, app.ledger_id.hex


def test_verify_ledger_names_a_stored_entry_edited_behind_the_platforms_back(app):
    connection, ledger = _ledger_rows(app)
    with connection:
        connection.execute("UPDATE stored_events SET state = CAST(REPLACE(CAST(state AS TEXT), 'Kommunstyrelsen', "
                           "'Kommunstyrelsan') AS BLOB) WHERE originator_id = ? AND originator_version = 2", (ledger,))
    connection.close()
    verification = app.verify_ledger()
    assert not verification.ok
    assert verification.first_bad_position == 2


def test_verify_ledger_names_a_stored_entry_deleted_behind_the_platforms_back(org):
    connection, ledger = _ledger_rows(org)
    with connection:
        connection.execute("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = 3", (ledger,))
    connection.close()
    verification = org.verify_ledger()
    assert (verification.ok, verification.checked, verification.first_bad_position) == (False, 2, 3)


# --- verification of an export -----------------------------------------------------------------------------


def test_an_untouched_export_verifies(history):
    verification = verify_export(export_lines(history))
    assert verification.ok
    assert verification.checked == history.ledger_head()[0]


def test_an_export_with_an_edited_line_fails_at_that_position(history):
    lines = export_lines(history)
    frame = next(i for i, line in enumerate(lines[1:], start=1) if json.loads(line)["type"] == "FrameSet")
    record = json.loads(lines[frame])
    record["data"]["amount_sek"] = 2_000_000
    lines[frame] = json.dumps(record)
    verification = verify_export(lines)
    assert not verification.ok
    assert verification.first_bad_position == record["position"]


def test_an_export_with_an_edited_line_and_a_recomputed_hash_fails_at_the_next_position(history):
    lines = export_lines(history)
    record = json.loads(lines[5])
    record["data"]["title"] = "Något annat"
    content = {k: v for k, v in record.items() if k not in ("hash", "prev_hash")}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    record["hash"] = hashlib.sha256((record["prev_hash"] + "\n" + canonical).encode()).hexdigest()
    lines[5] = json.dumps(record)
    verification = verify_export(lines)
    assert not verification.ok
    assert verification.first_bad_position == 6


def test_an_export_with_a_deleted_line_fails_at_that_position(history):
    lines = export_lines(history)
    del lines[4]
    verification = verify_export(lines)
    assert not verification.ok
    assert verification.first_bad_position == 4
    assert verification.checked == 3


def test_an_export_with_swapped_lines_fails_at_the_first_of_them(history):
    lines = export_lines(history)
    lines[6], lines[7] = lines[7], lines[6]
    verification = verify_export(lines)
    assert not verification.ok
    assert verification.first_bad_position == 6


def test_an_export_cut_off_before_its_stated_head_fails(history):
    lines = export_lines(history)[:-1]
    verification = verify_export(lines)
    assert not verification.ok
    assert verification.first_bad_position == history.ledger_head()[0]


def test_an_export_with_an_unreadable_line_fails_at_that_position(history):
    lines = export_lines(history)
    lines[3] = lines[3][:-10]
    verification = verify_export(lines)
    assert (verification.ok, verification.first_bad_position) == (False, 3)


@pytest.mark.parametrize("header", ["", "not json", json.dumps({"format": "something-else/1"})])
def test_an_export_without_its_header_fails(history, header):
    lines = export_lines(history)
    lines[0] = header
    verification = verify_export(lines)
    assert (verification.ok, verification.first_bad_position) == (False, 1)


def test_an_export_of_one_tenant_does_not_verify_against_another_tenants_head(history, make_app):
    other = make_app(tenant="grannkommun")
    lines = export_lines(history)
    header = json.loads(lines[0])
    header["head_hash"] = other.ledger_head()[1]
    lines[0] = json.dumps(header)
    assert not verify_export(lines).ok
