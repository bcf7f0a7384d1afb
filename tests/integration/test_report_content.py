"""Report content and artifacts of the demo tenant: discharge basis, delårsrapport and årsredovisning."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import subprocess
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

from domain.stores import StoreConfig
from projections.tenants import Tenants
from web.demo import build_demo
from workers.content import collect
from workers.render import render

GENERATED_AT = "2025-03-01T12:00:00+00:00"
TEST_OUTPUT = Path(__file__).resolve().parents[2] / "test-output"

# Every nämnd of the demo has a frame for 2023 and 2024 (web/demo.py FRAMES).
NAMNDER = ("BN", "BUN", "KFN", "KS", "MHN", "OFN", "SBN", "SN", "VN")
OTHER_THAN_BUN = ("Socialnämnden", "Kultur- och fritidsnämnden", "Samhällsbyggnadsnämnden", "Kommunstyrelsen",
                  "Miljö- och hälsoskyddsnämnden", "Byggnadsnämnden", "Valnämnden", "Överförmyndarnämnden",
                  "Socialförvaltningen", "IND-SJUK", "985 000 000", "1 022 000 000", "78 000 000", "112 000 000",
                  "165 000 000", "Äldreomsorg")
OTHER_CODES_THAN_BUN = ("SN", "KFN", "SBN", "KS", "MHN", "BN", "VN", "OFN", "SOCF", "KFF", "SBF", "KSF",
                        "U2023-02", "U2023-03", "U2024-01", "SN-FR1", "SN-ER1", "KFN-FR1", "KS-FR1")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tenants = Tenants(StoreConfig(data_dir=tmp_path_factory.mktemp("reports")))
    tenants.create("vanersborg", "Vänersborgs kommun", "1487")
    build_demo(tenants.get("vanersborg"))
    views = tenants.views("vanersborg")
    views.catch_up()
    yield tenants, views
    tenants.close()


def build(demo, kind: str, *, year: int, as_of: dt.date, body: str | None = None, period: str | None = None,
          upto: int | None = None) -> dict:
    tenants, views = demo
    upto = views.head() if upto is None else upto
    head_hash = tenants.get("vanersborg").entry_at(upto).hash
    return collect(views, kind, year=year, body=body, period=period, as_of=as_of, known_at=None, upto=upto,
                   head_hash=head_hash, generated_at=GENERATED_AT, tenant_name="Vänersborgs kommun")


@pytest.fixture(scope="module")
def bun_2023(demo) -> dict:
    return build(demo, "discharge_basis", year=2023, body="BUN", as_of=dt.date(2024, 12, 31))


@pytest.fixture(scope="module")
def bun_2023_pdf(bun_2023) -> bytes:
    return render(bun_2023, "pdf")


@pytest.fixture(scope="module")
def sn_2024(demo) -> dict:
    return build(demo, "discharge_basis", year=2024, body="SN", as_of=dt.date(2025, 6, 30))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_text(document: dict) -> str:
    parser = _Text()
    parser.feed(render(document, "html").decode("utf-8"))
    return normalise(" ".join(parser.parts))


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return normalise("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def normalise(text: str) -> str:
    return text.replace("\u00a0", " ").replace("\u2212", "-")


def rows(document: dict, table: str) -> list[dict]:
    return document["tables"][table]["rows"]


def assert_nothing_of_other_bodies(text: str) -> None:
    for word in OTHER_THAN_BUN:
        assert word not in text, f"{word!r} of another body appears"
    for code in OTHER_CODES_THAN_BUN:
        assert not re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text), f"code {code} of another body appears"


# --- discharge basis ------------------------------------------------------------------------------


def test_discharge_basis_of_bun_names_its_decisions_and_amounts(bun_2023):
    meta = bun_2023["meta"]
    assert meta["title"] == "Ansvarsprövningsunderlag 2023: Barn- och utbildningsnämnden"
    assert (meta["tenant"], meta["body"], meta["year"], meta["as_of"]) == ("vanersborg", "BUN", 2023, "2024-12-31")
    assert len(meta["head_hash"]) == 64 and meta["position"] > 300

    [frame] = rows(bun_2023, "ram")
    assert (frame["organ"], frame["date"], frame["paragraph"], frame["amount"]) == ("KF", "2022-12-14", "§190",
                                                                                    1_105_000_000)
    assert sum(r["amount"] for r in rows(bun_2023, "detaljbudget")) == 1_105_000_000
    assert rows(bun_2023, "omdispositioner") == []  # BUN's omdisposition is in 2024
    assert [r["code"] for r in rows(bun_2023, "uppdrag")] == ["BUN-U2024-01", "U2023-01"]
    assert {(r["owner"], r["target"], r["outcome"]) for r in rows(bun_2023, "malvarden")} == {
        ("IM2", 75, 72.4), ("IM2", 85, 83.9), ("BUN-FR1", 84, 83.9), ("BUN-ER1", 95, 93)}
    [year_end] = [r for r in rows(bun_2023, "ekonomi_perioder") if r["period"] == "Helår 2023"]
    assert (year_end["outcome"], year_end["deviation"]) == (1_102_300_000, 2_700_000)

    decisions = {(r["date"], r["organ"], r["paragraph"]) for r in rows(bun_2023, "beslut")}
    assert {("2022-12-14", "KF", "§190"), ("2022-12-19", "BUN", "§112"), ("2023-06-21", "KF", "§98"),
            ("2023-11-20", "BUN", "§96"), ("2024-04-17", "KF", "§46")} <= decisions
    assert ("2024-03-28", "Revisorerna", None) in decisions
    dates = [r["date"] for r in rows(bun_2023, "beslut")]
    assert dates == sorted(dates)

    text = html_text(bun_2023)
    for expected in ("§190", "§112", "§46", "§96", "Ansvarsfrihet beviljas", "Tillstyrker ansvarsfrihet",
                     "1 105 000 000 kr", "3 000 000 kr", "Lovskola och läxhjälp", "+2 700 000 kr",
                     "Utveckla övergången mellan grundskola och gymnasieskola", "Diarienummer", "Paragraf"):
        assert expected in text, expected
    assert_nothing_of_other_bodies(text)


def test_discharge_basis_pdf_says_the_same_and_nothing_of_other_bodies(bun_2023, bun_2023_pdf):
    text = pdf_text(bun_2023_pdf)
    for expected in ("Ansvarsprövningsunderlag 2023", "§190", "§112", "§46", "1 105 000 000 kr",
                     "+2 700 000 kr", "Ansvarsfrihet beviljas", f"Liggarposition {bun_2023['meta']['position']}"):
        assert expected in text, expected
    assert bun_2023["meta"]["head_hash"] in re.sub(r"\s", "", text)
    assert_nothing_of_other_bodies(text)


def test_discharge_basis_of_sn_shows_the_measure_and_the_open_discharge(sn_2024):
    [measure] = rows(sn_2024, "atgarder")
    assert (measure["organ"], measure["date"], measure["paragraph"], measure["amount"]) == (
        "SN", "2024-05-21", "§71", 14_500_000)
    over = [r["period"] for r in rows(sn_2024, "ekonomi_perioder") if r["deviation"] < 0]
    assert over == ["februari 2024", "mars 2024", "T1 2024 (jan–apr)"]
    assert [r["code"] for r in rows(sn_2024, "uppdrag")] == ["U2024-01"]
    text = html_text(sn_2024)
    for expected in ("§71", "§139", "§98", "14 500 000 kr", "1 022 000 000 kr",
                     "Revisorerna har inte lämnat någon revisionsberättelse för 2024",
                     "Kommunfullmäktige har inte beslutat om ansvarsfrihet för 2024"):
        assert expected in text, expected
    for other in ("Barn- och utbildningsnämnden", "BUN", "1 148 000 000", "Förskola", "U2023-01"):
        assert other not in text, other
    with pytest.raises(AssertionError):  # the check used for BUN does see another body's content
        assert_nothing_of_other_bodies(text)


def test_discharge_basis_is_deterministic_and_plain_json(demo, bun_2023):
    again = build(demo, "discharge_basis", year=2023, body="BUN", as_of=dt.date(2024, 12, 31))
    assert again == bun_2023
    assert json.loads(json.dumps(bun_2023)) == bun_2023


def test_refuses_unknown_kind_and_missing_or_unknown_body(demo):
    day = dt.date(2024, 12, 31)
    with pytest.raises(ValueError, match="Unknown report kind"):
        build(demo, "budget", year=2023, as_of=day)
    with pytest.raises(ValueError, match="needs a body"):
        build(demo, "discharge_basis", year=2023, as_of=day)
    with pytest.raises(ValueError, match="Unknown body 'XYZ'"):
        build(demo, "discharge_basis", year=2023, body="XYZ", as_of=day)
    with pytest.raises(ValueError, match="only for nämnder"):
        build(demo, "discharge_basis", year=2023, body="BUF", as_of=day)
    with pytest.raises(ValueError, match="period T1 or T2"):
        build(demo, "interim", year=2023, period="T3", as_of=day)


# --- interim and annual ---------------------------------------------------------------------------


def flagged(document: dict) -> list[str]:
    return [r["code"] for r in rows(document, "flaggade")]


def test_interim_flags_sn_until_it_decides_measures(demo):
    before = build(demo, "interim", year=2024, period="T1", as_of=dt.date(2024, 5, 15))
    after = build(demo, "interim", year=2024, period="T1", as_of=dt.date(2024, 6, 30))
    assert [r["code"] for r in rows(before, "ekonomi")] == list(NAMNDER)
    [sn] = [r for r in rows(before, "ekonomi") if r["code"] == "SN"]
    assert (sn["frame"], sn["forecast"], sn["deviation"], sn["flagged"]) == (1_022_000_000, 1_036_000_000,
                                                                            -14_000_000, True)
    assert flagged(before) == ["SN"]
    assert flagged(after) == []
    assert "åtgärder beslutade SN 2024-05-21 §71" in html_text(after)
    assert "Socialnämnden (SN)" in html_text(before)
    # Before the T1 report was made, the March report is the latest and already over the frame.
    earlier = build(demo, "interim", year=2024, period="T1", as_of=dt.date(2024, 4, 30))
    assert flagged(earlier) == ["SN"]
    assert rows(earlier, "flaggade")[0]["basis"].startswith("mars 2024")


def test_interim_uses_the_corrected_outcome_not_the_retracted_one(demo):
    _, views = demo
    [retraction], _ = views.timeline(type_="EventRetracted", limit=1)
    as_of = dt.date(2024, 6, 30)

    def sickness(document: dict) -> float:
        [row] = [r for r in rows(document, "malvarden") if r["owner"] == "IM5"]
        return row["outcome"]

    assert sickness(build(demo, "interim", year=2024, period="T1", as_of=as_of)) == 7.9
    # Read at the position just before the retraction, the erroneous entry still stands.
    assert sickness(build(demo, "interim", year=2024, period="T1", as_of=as_of,
                          upto=retraction["position"] - 1)) == 79


def test_annual_report_covers_every_body_goal_and_assignment(demo):
    document = build(demo, "annual", year=2023, as_of=dt.date(2024, 4, 30))
    assert document["meta"]["title"] == "Årsredovisning 2023: mål och budget"
    assert [r["code"] for r in rows(document, "ekonomi")] == list(NAMNDER)
    assert flagged(document) == []
    assert [r["code"] for r in rows(document, "inriktningsmal")] == ["IM1", "IM2", "IM3", "IM4", "IM5"]
    assert {r["goal"] for r in rows(document, "malvarden")} == {"IM1", "IM2", "IM3", "IM4", "IM5"}
    statuses = {r["code"]: r["status"] for r in rows(document, "uppdrag")}
    assert statuses["U2023-03"] == "Återkallat KF 2023-10-25 §152"
    assert statuses["U2023-01"] == "Pågår"
    assert "Behandlad" in html_text(document) and "KF 2024-04-17 §45" in html_text(document)


# --- artifacts ------------------------------------------------------------------------------------


def test_rendering_twice_gives_identical_bytes(bun_2023, bun_2023_pdf):
    assert render(bun_2023, "html") == render(bun_2023, "html")
    assert render(bun_2023, "csv") == render(bun_2023, "csv")
    assert render(bun_2023, "pdf") == bun_2023_pdf


def test_csv_zip_holds_one_table_per_file(bun_2023):
    archive = zipfile.ZipFile(io.BytesIO(render(bun_2023, "csv")))
    names = archive.namelist()
    assert names == sorted(names)
    assert set(names) == {"om_rapporten.csv"} | {f"{name}.csv" for name in bun_2023["tables"]}
    assert {"ram.csv", "detaljbudget.csv", "omdispositioner.csv", "malvarden.csv", "uppdrag.csv",
            "uppdrag_historik.csv", "ekonomi_perioder.csv", "bedomningar.csv", "atgarder.csv",
            "beslut.csv"} <= set(names)
    assert {info.date_time for info in archive.infolist()} == {(2025, 3, 1, 12, 0, 0)}
    ram = archive.read("ram.csv")
    assert ram.startswith(b"\xef\xbb\xbf")
    lines = ram.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[:4] == ["Datum", "Organ", "Paragraf", "Diarienummer"]
    assert "2022-12-14;KF;§190;;Ram fastställd;1105000000;1105000000" in lines[1]
    about = archive.read("om_rapporten.csv").decode("utf-8-sig")
    assert bun_2023["meta"]["head_hash"] in about and "Liggarposition;" in about


def test_pdf_pages_render_to_png(bun_2023_pdf):
    """Renders the discharge basis for a person to look at under test-output/ (gitignored)."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    TEST_OUTPUT.mkdir(exist_ok=True)
    target = TEST_OUTPUT / "ansvarsprovning-bun-2023.pdf"
    target.write_bytes(bun_2023_pdf)
    for old in TEST_OUTPUT.glob("ansvarsprovning-bun-2023-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(target), str(TEST_OUTPUT / "ansvarsprovning-bun-2023")],
                   check=True, timeout=60)
    pages = sorted(TEST_OUTPUT.glob("ansvarsprovning-bun-2023-*.png"))
    assert len(pages) >= 4
    assert all(page.stat().st_size > 5_000 for page in pages)


def test_postgresql_read_models_give_the_same_documents(demo, bun_2023, clean_pg, tmp_path):
    """The same demo on PostgreSQL: every table, chart and section equal to the SQLite build."""
    tenants = Tenants(StoreConfig(data_dir=tmp_path, database_url=clean_pg))
    try:
        tenants.create("vanersborg", "Vänersborgs kommun", "1487")
        build_demo(tenants.get("vanersborg"))
        views = tenants.views("vanersborg")
        views.catch_up()
        on_pg = (tenants, views)
        assert views.head() == demo[1].head()
        for kind, options in (("discharge_basis", {"year": 2023, "body": "BUN", "as_of": dt.date(2024, 12, 31)}),
                              ("interim", {"year": 2024, "period": "T1", "as_of": dt.date(2024, 5, 15)})):
            expected = bun_2023 if kind == "discharge_basis" else build(demo, kind, **options)
            got = build(on_pg, kind, **options)
            assert {k: v for k, v in got.items() if k != "meta"} == {k: v for k, v in expected.items() if k != "meta"}
            assert got["meta"]["position"] == expected["meta"]["position"]
    finally:
        tenants.close()
