"""Reports read only their scope: the narrowed reads give the same documents as reading the whole ledger."""

from __future__ import annotations

import datetime as dt

import pytest

from projections.tenants import Tenants
from web.demo import build_demo
from workers.content import DISCHARGE_BODY_KINDS, collect, read

YEARS = (2022, 2023, 2024, 2025)
# Before the year's follow-up, after its audit report and discharge, and today.
AS_OF = (dt.date(2024, 5, 15), dt.date(2025, 6, 30), dt.date(2026, 11, 27))


@pytest.fixture
def demo(store_config):
    tenants = Tenants(store_config)
    try:
        tenants.create("vanersborg", "Vänersborgs kommun", "1487")
        build_demo(tenants.get("vanersborg"))
        views = tenants.views("vanersborg")
        views.catch_up()
        yield tenants, views
    finally:
        tenants.close()


def documents(views, kind: str, *, year: int, as_of: dt.date, upto: int, body: str | None = None,
              period: str | None = None) -> tuple[dict, dict]:
    """The document as the report builds it, and as built from every entry of the ledger."""
    args = {"year": year, "body": body, "period": period, "as_of": as_of, "known_at": None, "upto": upto,
            "head_hash": "0" * 64, "generated_at": "2025-03-01T12:00:00+00:00"}
    return collect(views, kind, **args), collect(views, kind, whole_ledger=True, **args)


@pytest.mark.parametrize("store_config", ["sqlite", "postgres"], indirect=True)
def test_every_discharge_basis_of_the_demo_equals_the_one_read_from_the_whole_ledger(demo):
    _, views = demo
    head = views.head()
    [retraction], _ = views.timeline(type_="EventRetracted", limit=1)
    reader = read(views, "discharge_basis", year=2024, body="BUN", period=None, as_of=AS_OF[-1], upto=head,
                  whole_ledger=True)
    bodies = sorted(code for code, b in reader.bodies.items() if b["kind"] in DISCHARGE_BODY_KINDS)
    assert {"BUN", "SN", "KS", "KFN"} <= set(bodies)
    compared = 0
    for upto in (head, retraction["position"] - 1):
        for body in bodies:
            for year in YEARS:
                for as_of in AS_OF:
                    narrow, whole = documents(views, "discharge_basis", year=year, body=body, as_of=as_of, upto=upto)
                    assert narrow == whole, (body, year, as_of, upto)
                    compared += len(whole["tables"]["beslut"]["rows"])
    assert compared > 500  # the decisions tables were not all empty


@pytest.mark.parametrize("store_config", ["sqlite", "postgres"], indirect=True)
def test_every_interim_and_annual_report_of_the_demo_equals_the_one_read_from_the_whole_ledger(demo):
    _, views = demo
    head = views.head()
    for year in YEARS:
        for as_of in AS_OF:
            for kind, period in (("interim", "T1"), ("interim", "T2"), ("annual", None)):
                narrow, whole = documents(views, kind, year=year, period=period, as_of=as_of, upto=head)
                assert narrow == whole, (kind, period, year, as_of)


@pytest.mark.parametrize("store_config", ["sqlite"], indirect=True)
def test_the_discharge_basis_reads_nothing_of_other_bodies_follow_up(demo):
    _, views = demo
    narrow = read(views, "discharge_basis", year=2024, body="BUN", period=None, as_of=AS_OF[-1],
                  upto=views.head())
    whole = read(views, "discharge_basis", year=2024, body="BUN", period=None, as_of=AS_OF[-1],
                 upto=views.head(), whole_ledger=True)
    assert {b for (b, _, _) in narrow.financial} == {"BUN"}
    assert {p[:4] for (_, p, _) in narrow.financial} == {"2024"}
    assert any(b == "SN" for (b, _, _) in whole.financial)
    assert not [key for key in narrow.history if key.startswith(("frame|SN|", "frame|BUN|2023", "measure|SN|"))]
    assert sum(map(len, narrow.history.values())) < sum(map(len, whole.history.values())) / 2


def positions_in(text: str) -> set[int]:
    """`4–6, 9` -> {4, 5, 6, 9}."""
    found: set[int] = set()
    for part in str(text).split(", "):
        first, _, last = part.partition("\u2013")
        found.update(range(int(first), int(last or first) + 1))
    return found


@pytest.mark.parametrize("store_config", ["sqlite"], indirect=True)
def test_the_pdfs_compact_tables_account_for_every_row_the_html_and_csv_have(demo):
    _, views = demo
    head = views.head()
    checked = 0
    for body, year in (("BUN", 2023), ("BUN", 2024), ("SN", 2024), ("KS", 2023)):
        document, _ = documents(views, "discharge_basis", year=year, body=body, as_of=AS_OF[-1], upto=head)
        for name, key in (("uppdrag_historik", "position"), ("malvarden_beslut", "positions"),
                          ("ekonomi_omraden", "positions")):
            table = document["tables"].get(name)
            if table is None or not table["rows"]:
                continue
            printed = table["print"]
            assert len(printed["rows"]) <= len(table["rows"])
            assert set().union(*(positions_in(row[key]) for row in printed["rows"])) == {
                row["position"] for row in table["rows"]}, (body, year, name)
            assert "PDF-versionen" in printed["note"] and "CSV" in printed["note"]
            checked += 1
        history = document["tables"]["uppdrag_historik"]
        statuses = [row for row in history["rows"] if row["event"].startswith("Status ")]
        summed = sum(int(row["event"].rsplit("(", 1)[1].rstrip(")")) for row in history["print"]["rows"]
                     if row["event"].startswith("Statusrapporter"))
        assert summed == len(statuses), (body, year)
        # Every other table prints its decisions with date, organ, paragraph and diarienummer in one cell.
        for row in document["tables"]["beslut"]["print"]["rows"]:
            full = next(r for r in document["tables"]["beslut"]["rows"] if r["positions"] == row["positions"])
            assert row["decided"].startswith(f"{full['date']} {full['organ']}")
            assert (full["paragraph"] or "") in row["decided"] and (full["registry_number"] or "") in row["decided"]
    assert checked >= 4
