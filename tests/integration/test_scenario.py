"""A year of one nämnd, recorded on SQLite and on PostgreSQL, gives the same gap-free, verifiable ledger."""

from __future__ import annotations

import pytest
from integration_support import (
    RETRACTED_POSITION,
    SCENARIO_TYPES,
    normalised,
    run_scenario,
)

from domain.stores import StoreConfig
from projections.tenants import Tenants


@pytest.fixture
def reference(tmp_path) -> list[tuple]:
    """The scenario's ledger content as recorded on a separate, fresh SQLite store."""
    tenants = Tenants(StoreConfig(data_dir=tmp_path / "reference"))
    try:
        tenants.create("testkommun", "Testkommun", "1234")
        run_scenario(tenants.get("testkommun"))
        return normalised(tenants.get("testkommun"))
    finally:
        tenants.close()


@pytest.fixture
def tenants(store_config):
    made = Tenants(store_config)
    yield made
    made.close()


def test_a_year_of_decisions_gets_positions_one_to_n_in_the_order_recorded(tenants):
    tenants.create("testkommun", "Testkommun", "1234")
    app = tenants.get("testkommun")

    answers = run_scenario(app)

    entries = app.ledger_entries()
    assert [e.position for e in entries] == list(range(1, len(SCENARIO_TYPES) + 1))
    assert [e.as_record()["type"] for e in entries] == SCENARIO_TYPES
    assert [a["position"] for a in answers] == list(range(3, len(SCENARIO_TYPES) + 1))
    by_position = {e.position: e.as_record() for e in entries}
    for answer in answers:
        record = by_position[answer["position"]]
        assert (record["id"], record["hash"], record["recorded_at"]) == (
            answer["event_id"], answer["hash"], answer["recorded_at"])
    assert all(r["tenant"] == "testkommun" for r in by_position.values())


def test_a_year_of_decisions_verifies_and_its_head_is_the_last_answer(tenants):
    tenants.create("testkommun", "Testkommun", "1234")
    app = tenants.get("testkommun")

    answers = run_scenario(app)

    result = app.verify_ledger()
    assert (result.ok, result.checked, result.first_bad_position) == (True, len(SCENARIO_TYPES), None)
    assert result.head_hash == answers[-1]["hash"] == app.ledger_head()[1]


def test_the_retraction_points_at_the_entry_it_takes_out_of_force(tenants):
    tenants.create("testkommun", "Testkommun", "1234")
    app = tenants.get("testkommun")

    answers = run_scenario(app)

    retraction = app.entry_at(answers[-1]["position"]).as_record()
    retracted = app.entry_at(RETRACTED_POSITION).as_record()
    assert retracted["type"] == "FinancialOutcomeReported"
    assert retraction["data"]["retracted_event_id"] == retracted["id"]
    assert retraction["data"]["retracted_position"] == RETRACTED_POSITION
    assert app.body_year("BUN", 2024).is_in_force(retraction["data"]["retracted_version"]) is False


def test_the_same_commands_record_the_same_content_on_every_store(tenants, reference):
    tenants.create("testkommun", "Testkommun", "1234")
    app = tenants.get("testkommun")

    run_scenario(app)

    assert normalised(app) == reference
