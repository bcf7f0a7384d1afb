"""The demo tenant Vänersborg: built through the commands, idempotent, with a verifying ledger."""

from __future__ import annotations

import pytest

from domain.application import Governance
from domain.stores import StoreConfig
from web.demo import EXAMPLE_DATA_NOTE, build_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    app = Governance("vanersborg", StoreConfig(data_dir=tmp_path_factory.mktemp("demo")), create_table=True)
    app.provision()
    before = app.ledger_head()[0]
    recorded = build_demo(app)
    return app, before, recorded


def records(app) -> list[dict]:
    return [entry.as_record() for entry in app.iter_ledger()]


def test_records_a_sensible_number_of_commands(demo):
    app, before, recorded = demo
    assert 200 <= recorded <= 1000
    # Every command is one ledger entry.
    assert app.ledger_head()[0] == before + recorded


def test_running_again_records_nothing(demo):
    app, _, _ = demo
    head = app.ledger_head()[0]
    assert build_demo(app) == 0
    assert app.ledger_head()[0] == head


def test_ledger_verifies(demo):
    app, _, _ = demo
    verification = app.verify_ledger()
    assert verification.ok, verification.reason
    assert verification.checked == app.ledger_head()[0]


def test_guideline_carries_its_paragraph_and_registry_number(demo):
    app, _, _ = demo
    [entry] = [r for r in records(app)
               if r["type"] == "GoverningDocumentAdopted" and r["data"]["code"] == "RIKTLINJE-STYRNING"]
    assert entry["decision"]["body"] == "KF"
    assert entry["decision"]["date"] == "2023-06-21"
    assert entry["decision"]["paragraph"] == "§104"
    assert entry["decision"]["registry_number"] == "KS 2021/432"
    assert entry["data"]["name"] == "Riktlinjer för Vänersborgs kommuns styrning och ledning"
    assert entry["data"]["type"] == "guidelines"


def test_real_facts_are_recorded(demo):
    app, _, _ = demo
    entries = records(app)
    goals = {r["data"]["code"]: r for r in entries if r["type"] == "StrategicGoalEstablished"}
    assert sorted(goals) == ["IM1", "IM2", "IM3", "IM4", "IM5"]
    assert goals["IM2"]["data"]["title"] == "Fler barn och unga uppnår bättre skolresultat och fullföljer sina studier"
    assert all(g["decision"]["date"] == "2022-12-14" and g["decision"]["effective_from"] == "2023-01-01"
               for g in goals.values())
    vision = next(r for r in entries if r["type"] == "VisionAdopted")
    assert vision["decision"]["date"] == "2013-12-11"
    adoptions = [r["decision"]["date"] for r in entries
                 if r["type"] == "ResourcePlanAdopted" and r["data"]["plan"] == "MRP2023"]
    assert adoptions == ["2022-06-22", "2022-12-14"]
    adjustments = {(r["data"]["body"], r["data"]["delta_sek"], r["decision"]["date"])
                   for r in entries if r["type"] == "FrameAdjusted"}
    assert {("BUN", 3_900_000, "2022-04-13"), ("KFN", 863_000, "2022-06-22"),
            ("SBN", 38_000_000, "2022-11-23")} <= adjustments
    discharges_2021 = [r for r in entries if r["type"] == "DischargeDecided" and r["data"]["year"] == 2021]
    assert len(discharges_2021) == 9
    assert all(r["data"]["granted"] and r["decision"]["date"] == "2022-04-13" for r in discharges_2021)


def test_example_data_follows_the_annual_cycle(demo):
    app, _, _ = demo
    entries = records(app)
    assert all(r["decision"]["date"] <= "2026-11-27" for r in entries if r["decision"])
    late = {(r["data"]["body"], r["data"]["year"]): r["data"]["late"]
            for r in entries if r["type"] == "OperationalPlanAdopted"}
    assert sum(late.values()) == 1
    assert late[("KFN", 2023)] is True
    kinds = [(r["data"]["year"], r["data"]["kind"], r["decision"]["body"])
             for r in entries if r["type"] == "ReportAdopted"]
    for kind in ("interim_t1", "interim_t2", "annual"):
        assert kinds.index((2023, kind, "KS")) < kinds.index((2023, kind, "KF"))
    assert {"EventRetracted", "MeasureDecided", "BudgetReallocated", "AssignmentRevised",
            "AssignmentWithdrawn", "AuditReportSubmitted", "AttainmentAssessed"} <= {r["type"] for r in entries}
    retraction = next(r for r in entries if r["type"] == "EventRetracted")
    assert "Exempeldata" in retraction["data"]["reason"]
    assert EXAMPLE_DATA_NOTE.startswith("Exempeldata")
