"""Rendering report documents: Swedish number formats, SVG charts, and byte-identical HTML, PDF and CSV."""

from __future__ import annotations

import copy
import io
import re
import zipfile
from html.parser import HTMLParser

import pytest

from workers.charts import bar_chart, bullet_chart, line_chart, nice_ticks, render_chart
from workers.formatting import decision_ref, format_value, period_key, period_label
from workers.render import (
    csv_cell,
    format_number,
    format_sek,
    pdf_identifier,
    print_layout,
    print_widths,
    render,
    render_html,
)

NBSP = "\u00a0"
META = {
    "tenant": "testkommun", "tenant_name": "Testkommunen", "kind": "discharge_basis",
    "title": "Ansvarsprövningsunderlag 2024: Barn- och utbildningsnämnden", "year": 2024, "body": "BUN",
    "body_name": "Barn- och utbildningsnämnden", "period": None, "as_of": "2025-04-30", "known_at": None,
    "position": 42, "head_hash": "ab" * 32, "generated_at": "2025-03-01T12:00:00.123456+00:00", "lang": "sv",
}


def column(key, label, fmt, **options):
    return {"key": key, "label": label, "format": fmt, "detail": options.get("detail", False),
            "unit_key": options.get("unit_key")}


def document() -> dict:
    """A small document in the shape workers.content.collect returns."""
    return {
        "meta": dict(META),
        "sections": [
            {"id": "ram", "heading": "Ekonomisk ram 2024", "blocks": [
                {"type": "facts", "items": [{"label": "Ram", "value": 1_023_000, "format": "sek"},
                                            {"label": "Ramjusteringar", "value": -4_500, "format": "sek_signed"}]},
                {"type": "paragraph", "text": "Ramen är fastställd av kommunfullmäktige."},
                {"type": "notice", "level": "warning", "text": "Prognosen överstiger ramen."},
                {"type": "table", "table": "ram"},
                {"type": "table", "table": "tom"},
                {"type": "chart", "chart": "staplar"},
                {"type": "chart", "chart": "linje"},
            ]},
            {"id": "mal", "heading": "Mål och målvärden", "blocks": [
                {"type": "table", "table": "malvarden"}, {"type": "chart", "chart": "mal"}]},
        ],
        "tables": {
            "ram": {"title": "Ram och beslut", "columns": [
                column("date", "Datum", "date"), column("organ", "Organ", "code"),
                column("paragraph", "Paragraf", "text"), column("registry_number", "Diarienummer", "text"),
                column("matter", "Ärende", "lines"), column("amount", "Belopp", "sek"),
                column("deviation", "Avvikelse", "sek_signed"), column("flag", "Flaggad", "yesno"),
                column("secret", "Intern", "text", detail=True)],
                "rows": [{"date": "2023-06-21", "organ": "KF", "paragraph": "§98", "registry_number": "KS 2023/1",
                          "matter": ["Ram 2024 fastställs", "Uppdrag <U1>; ges"], "amount": 1_023_000,
                          "deviation": -14_000_000, "flag": True, "secret": "bara i CSV"}],
                "footer": [{"date": "Summa", "organ": None, "paragraph": None, "registry_number": None,
                            "matter": None, "amount": 1_023_000, "deviation": -14_000_000, "flag": None,
                            "secret": None}],
                "empty": "Inga beslut.", "note": "Avvikelse = ram − prognos.", "group": None},
            "tom": {"title": "Omdispositioner 2024", "columns": [column("date", "Datum", "date")], "rows": [],
                    "footer": [], "empty": "Inga omdispositioner.", "note": None, "group": None},
            "malvarden": {"title": "Målvärden", "columns": [
                column("goal", "Inriktningsmål", "code", detail=True), column("owner", "Mål/resultat", "code"),
                column("target", "Målvärde", "number", unit_key="unit"),
                column("outcome", "Utfall", "number", unit_key="unit"),
                column("deviation", "Avvikelse", "number_signed"), column("unit", "Enhet", "text", detail=True)],
                "rows": [{"goal": "IM1", "owner": "IM1", "target": 85, "outcome": 83.9, "deviation": -1.1,
                          "unit": "%"},
                         {"goal": "IM1", "owner": "BUN-FR1", "target": 120, "outcome": 118, "deviation": -2,
                          "unit": "antal"},
                         {"goal": "IM2", "owner": "IM2", "target": 7.5, "outcome": None, "deviation": None,
                          "unit": "%"}],
                "footer": [], "empty": "Inga målvärden.", "note": None,
                "group": {"key": "goal", "titles": {"IM1": "IM1 Alla ska kunna påverka", "IM2": "IM2 Skolan"}}},
        },
        "charts": [
            {"id": "staplar", "type": "bar", "unit": "kr", "title": "Budget och utfall per period",
             "description": "Budget jämförd med utfall.", "categories": ["mars 2024", "T1 2024 (jan–apr)"],
             "series": [{"name": "Budget", "values": [255_500_000, 340_666_667]},
                        {"name": "Utfall", "values": [258_500_000, None]}]},
            {"id": "linje", "type": "line", "unit": "kr", "title": "Prognos och ram",
             "description": "Prognosen jämförd med ramen.", "categories": ["mars 2024", "T1 2024 (jan–apr)"],
             "series": [{"name": "Ram", "values": [1_022_000_000, 1_022_000_000]},
                        {"name": "Prognos helår", "values": [1_034_000_000, 1_036_000_000]}]},
            {"id": "mal", "type": "bullet", "title": "Målvärde och utfall", "description": "Utfall mot målvärde.",
             "items": [{"label": "IM1 · N15436", "target": 85, "outcome": 83.9, "unit": "%",
                        "direction": "increase"},
                       {"label": "IM5 · IND-SJUK", "target": 8, "outcome": 7.8, "unit": "%",
                        "direction": "decrease"}]},
        ],
    }


class _Html(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parsed(html: bytes) -> _Html:
    parser = _Html()
    parser.feed(html.decode("utf-8"))
    return parser


# --- formatting -----------------------------------------------------------------------------------


def test_format_sek_uses_no_break_spaces_and_whole_kronor():
    assert format_sek(1_023_000) == f"1{NBSP}023{NBSP}000{NBSP}kr"
    assert format_sek(0) == f"0{NBSP}kr"
    assert format_sek(999) == f"999{NBSP}kr"
    assert format_sek(-14_000_000) == f"\u221214{NBSP}000{NBSP}000{NBSP}kr"
    assert format_sek(2_700_000, signed=True) == f"+2{NBSP}700{NBSP}000{NBSP}kr"
    assert format_sek(1234.5) == f"1{NBSP}235{NBSP}kr"
    assert format_sek(None) == "–"


def test_format_number_uses_decimal_comma():
    assert format_number(83.9) == "83,9"
    assert format_number(1_234_567.25) == f"1{NBSP}234{NBSP}567,25"
    assert format_number(-2.6, signed=True) == "\u22122,6"
    assert format_number(0.3, signed=True) == "+0,3"
    assert format_number(7.649, decimals=1) == "7,6"
    assert format_number(-0.0) == "0,0"
    assert format_value(83.9, "%") == f"83,9{NBSP}%"
    assert format_value(120, "antal") == "120"


def test_periods_sort_and_read_in_swedish():
    periods = ["2024", "2024-T2", "2024-08", "2024-T1", "2024-04", "2024-03", "2023"]
    assert sorted(periods, key=period_key) == ["2023", "2024-03", "2024-04", "2024-T1", "2024-08", "2024-T2",
                                               "2024"]
    assert [period_label(p) for p in ("2024-03", "2024-T1", "2024-T2", "2024")] == [
        "mars 2024", "T1 2024 (jan–apr)", "T2 2024 (jan–aug)", "Helår 2024"]
    assert decision_ref({"body": "KF", "date": "2023-06-21", "paragraph": "§104",
                         "registry_number": "KS 2021/432"}) == "KF 2023-06-21 §104, KS 2021/432"


def test_csv_cells_are_plain_numbers_with_decimal_comma():
    assert csv_cell(1_023_000, "sek") == "1023000"
    assert csv_cell(83.9, "number") == "83,9"
    assert csv_cell(None, "sek") == ""
    assert csv_cell(True, "yesno") == "Ja"
    assert csv_cell(["a", "b"], "lines") == "a; b"


# --- charts ---------------------------------------------------------------------------------------


def test_charts_are_deterministic_svg_with_swedish_text_alternatives():
    spec = document()["charts"]
    svgs = [render_chart(chart) for chart in spec]
    assert svgs == [render_chart(chart) for chart in copy.deepcopy(spec)]
    for chart, svg in zip(spec, svgs, strict=True):
        assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
        assert f'<title id="{chart["id"]}-title">{chart["title"]}</title>' in svg
        assert f'aria-labelledby="{chart["id"]}-title {chart["id"]}-desc"' in svg and 'role="img"' in svg
        assert "nan" not in svg.lower() and "inf" not in svg.lower()
    bar, line, bullet = svgs
    assert f"mars 2024: Budget 255{NBSP}500{NBSP}000{NBSP}kr, Utfall 258{NBSP}500{NBSP}000{NBSP}kr" in bar
    assert f"300{NBSP}mnkr" in bar  # tick labels in mnkr
    assert "<polyline" in line and "Prognos helår" in line
    assert "IM5 · IND-SJUK: utfall 7,8" in bullet and "målvärdet nått" in bullet
    assert "IM1 · N15436: utfall 83,9" in bullet and "målvärdet inte nått" in bullet


def test_chart_helpers_handle_edge_cases():
    assert [int(t) for t in nice_ticks(0, 1_105_000_000)] == [0, 250_000_000, 500_000_000, 750_000_000,
                                                               1_000_000_000, 1_250_000_000]
    assert [float(t) for t in nice_ticks(7.1, 8.4)] == [7.0, 7.5, 8.0, 8.5]
    assert nice_ticks(0, 0)[-1] > 0
    empty = bar_chart("tom", "Tomt", "Inga värden.", ["A"], [{"name": "S", "values": [None]}], "kr")
    assert "A: uppgift saknas" in empty
    assert "<polyline" not in line_chart("en", "En punkt", "", ["A"], [{"name": "S", "values": [5]}])
    assert 'fill="#2e7d32"' in bullet_chart("b", "B", "", [{"label": "x", "target": 1, "outcome": 2}])
    with pytest.raises(ValueError, match="Unknown chart type"):
        render_chart({"type": "pie", "id": "p", "title": "P"})


# --- HTML -----------------------------------------------------------------------------------------


def test_html_is_swedish_semantic_and_accessible():
    html = render(document(), "html")
    page = parsed(html)
    assert page.tags[0] == ("html", {"lang": "sv"})
    text = " ".join(page.text)
    tables = [attrs for tag, attrs in page.tags if tag == "table"]
    assert len(tables) == 2  # the empty table is a sentence, not an empty grid
    assert html.count(b"<caption>") == 2
    scopes = [attrs.get("scope") for tag, attrs in page.tags if tag == "th"]
    assert {"col", "row", "rowgroup"} <= set(scopes)
    assert None not in scopes
    for label in ("Datum", "Organ", "Paragraf", "Diarienummer", "Belopp (kr)", "Avvikelse (kr)", "Målvärde",
                  "Utfall"):
        assert f">{label}</th>" in html.decode(), label
    assert f"1{NBSP}023{NBSP}000{NBSP}kr" in text  # facts carry the unit
    assert f">1{NBSP}023{NBSP}000</td>" in html.decode()  # table cells have it in the header
    assert f"\u221214{NBSP}000{NBSP}000" in text
    assert f"83,9{NBSP}%" in text and ">118</td>" in html.decode()
    assert "Omdispositioner 2024:" in text and "Inga omdispositioner." in text
    assert "Uppdrag &lt;U1&gt;; ges" in html.decode()  # escaped, one line per item
    assert "bara i CSV" not in text and "Intern" not in text
    assert "IM1 Alla ska kunna påverka" in text and "IM2 Skolan" in text
    assert "Observera:" in text and "@media print" in html.decode()
    assert '<meta name="dcterms.created" content="2025-03-01T12:00:00Z">' in html.decode()
    assert META["head_hash"] in text and "Liggarposition" in text
    assert html.count(b"<svg") == 3 and html.count(b"<figcaption>") == 3


def test_html_and_csv_are_byte_identical_and_contain_no_clock():
    doc = document()
    assert render(doc, "html") == render(copy.deepcopy(doc), "html")
    assert render(doc, "csv") == render(copy.deepcopy(doc), "csv")
    later = copy.deepcopy(doc)
    later["meta"]["generated_at"] = "2026-01-01T00:00:00+00:00"
    assert render(later, "html") != render(doc, "html")


def test_printed_tables_get_column_widths_from_their_text_and_the_screen_keeps_automatic_layout():
    doc = document()
    screen, printed = render_html(doc), render_html(doc, for_print=True)
    assert "<colgroup>" not in screen and 'class="fixed"' not in screen
    widths = re.findall(r'<col style="width: ([0-9.]+)%">', printed)
    assert len(widths) == 8 + 4  # the printed columns of "ram" and "malvarden"
    assert abs(sum(float(w) for w in widths[:8]) - 100) < 0.01
    date, matter, flag = float(widths[0]), float(widths[4]), float(widths[7])
    assert matter > date > flag  # the longest text gets the widest column
    assert render_html(copy.deepcopy(doc), for_print=True) == printed
    # Columns whose words cannot fit side by side keep the automatic layout.
    codes = [{"key": f"c{i}", "label": "Kod", "format": "code"} for i in range(12)]
    assert print_widths(codes, [{f"c{i}": "2024-12-31 KF §123" for i in range(12)}], []) is None


def test_a_table_too_wide_for_the_page_is_printed_in_small_type_within_the_margins():
    amounts = [{"key": f"a{i}", "label": "Belopp (kr)", "format": "sek"} for i in range(9)]
    row = {f"a{i}": 1_079_000_000 for i in range(9)}
    assert print_widths(amounts, [row], []) is None  # nine such amounts do not fit side by side at 7.5 pt

    widths, small = print_layout(amounts, [row], [])

    assert small and abs(sum(float(w.rstrip("%")) for w in widths) - 100) < 0.01
    assert print_layout(amounts[:4], [row], []) == (print_widths(amounts[:4], [row], []), False)


def test_month_labels_under_a_crowded_axis_are_shortened_alike_and_fit_their_slots():
    months = ["januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
              "november", "december"]
    categories = [f"{month} 2024" for month in months]
    svg = bar_chart("c", "Budget", "", categories, [{"name": "Budget", "values": list(range(12))}], "sek")

    labels = re.findall(r'<tspan x="[0-9.]+" dy="[0-9]+">([^<]*)</tspan>', svg)
    assert labels[:6] == ["jan", "2024", "feb", "2024", "mar", "2024"]
    assert max(len(label) for label in labels) <= 7  # a slot of 48 px holds 7 characters
    assert "<title>september 2024, Budget: " in svg  # the full name stays in the text alternative
    few = bar_chart("c", "Budget", "", categories[:3], [{"name": "Budget", "values": [1, 2, 3]}], "sek")
    assert "januari 2024" in re.findall(r'<tspan[^>]*>([^<]*)</tspan>', few)


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="Unknown report format 'docx'"):
        render(document(), "docx")


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_is_a_zip_of_semicolon_tables_with_bom_and_fixed_dates():
    archive = zipfile.ZipFile(io.BytesIO(render(document(), "csv")))
    assert archive.namelist() == ["malvarden.csv", "om_rapporten.csv", "ram.csv", "tom.csv"]
    for info in archive.infolist():
        assert info.date_time == (2025, 3, 1, 12, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        assert archive.read(info).startswith(b"\xef\xbb\xbf")
    ram = archive.read("ram.csv").decode("utf-8-sig").split("\r\n")
    assert ram[0] == ("Datum;Organ;Paragraf;Diarienummer;Ärende;Belopp (kr);Avvikelse (kr);Flaggad;Intern")
    assert ram[1] == ('2023-06-21;KF;§98;KS 2023/1;"Ram 2024 fastställs; Uppdrag <U1>; ges";1023000;-14000000;Ja;'
                      "bara i CSV")
    assert ram[2].startswith("Summa;;;;;1023000;-14000000")
    malvarden = archive.read("malvarden.csv").decode("utf-8-sig").splitlines()
    assert malvarden[0] == "Inriktningsmål;Mål/resultat;Målvärde;Utfall;Avvikelse;Enhet"
    assert malvarden[1] == "IM1;IM1;85;83,9;-1,1;%"
    about = archive.read("om_rapporten.csv").decode("utf-8-sig")
    assert f"Liggarens hash vid positionen;{META['head_hash']}" in about
    assert "Gällande per;2025-04-30" in about


# --- PDF ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return render(document(), "pdf")


def test_pdf_is_byte_identical_with_metadata_from_meta(pdf):
    from pypdf import PdfReader

    assert render(document(), "pdf") == pdf
    reader = PdfReader(io.BytesIO(pdf))
    info = reader.metadata
    assert info["/CreationDate"] == info["/ModDate"] == "D:20250301120000Z"
    assert info["/Title"].startswith("Ansvarsprövningsunderlag 2024")
    assert info["/Author"] == "Testkommunen"
    assert str(reader.trailer["/ID"][0]) == pdf_identifier(META).decode()
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "sv" and "/StructTreeRoot" in root  # tagged for assistive technology
    text = "\n".join(page.extract_text() for page in reader.pages).replace(NBSP, " ")
    assert "1 023 000 kr" in text and "Sida 1 av" in text
    assert re.search(r"Liggarposition 42", text)


def test_pdf_identifier_changes_only_with_its_inputs():
    other = document()
    other["meta"]["position"] = 43
    assert pdf_identifier(other["meta"]) != pdf_identifier(META)
    assert pdf_identifier(dict(META)) == pdf_identifier(META)


def test_pdf_prints_a_tables_compact_form_and_html_and_csv_keep_every_row():
    from pypdf import PdfReader

    doc = document()
    doc["tables"]["ram"]["print"] = {
        "columns": [column("decided", "Datum, organ, §, dnr", "text"), column("matter", "Ärende", "lines")],
        "rows": [{"decided": "2023-06-21 KF §98, KS 2023/1", "matter": ["Ram 2024 fastställs", "Uppdrag <U1>; ges"]}],
        "footer": [], "note": "I PDF-versionen sammanfattad; HTML- och CSV-versionerna har varje rad."}
    screen = render(doc, "html").decode()
    assert "2023-06-21 KF §98, KS 2023/1" not in screen and "Avvikelse = ram − prognos." in screen
    assert "−14 000 000".replace(" ", NBSP) in screen
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(render(doc, "pdf"))).pages)
    text = text.replace(NBSP, " ")
    assert "2023-06-21 KF §98, KS 2023/1" in text and "I PDF-versionen sammanfattad" in text
    assert "14 000 000" not in text and "Uppdrag <U1>; ges" in text
    archive = zipfile.ZipFile(io.BytesIO(render(doc, "csv")))
    assert archive.read("ram.csv").decode("utf-8-sig").splitlines()[0].startswith("Datum;Organ;Paragraf")


def test_moments_read_in_swedish_time_summer_and_winter():
    from workers.formatting import swedish_time

    assert swedish_time("2026-12-06T15:40:57.155071+00:00") == "2026-12-06 16:40:57 svensk tid"
    assert swedish_time("2026-07-01T10:00:00+00:00") == "2026-07-01 12:00:00 svensk tid"
    assert swedish_time("2026-03-29T01:30:00") == "2026-03-29 03:30:00 svensk tid"  # no zone: UTC, after the shift
    assert swedish_time(None) is None


def test_the_basis_of_a_report_states_its_last_record_time_in_swedish_time():
    from workers.render import basis_items

    # The record time of the position, not the build's clock: a rebuild must give the same bytes.
    assert dict(basis_items(META))["Senaste registrering i underlaget"] == "2025-03-01 13:00:00 svensk tid"
    assert "senaste registrering 2025-03-01 13:00:00 svensk tid" in render_html(document())


def test_a_delegated_decision_is_written_where_its_delegation_is():
    from workers.content import _decision_columns

    delegated = {"body": "BUN", "date": "2025-10-01", "kind": "delegated", "delegation": "BUN 2023-01-20 §5 p. 3.2",
                 "registry_number": "BUN 2025/99"}
    assert _decision_columns(delegated)["paragraph"] == "delegationsbeslut (BUN 2023-01-20 §5 p. 3.2)"
    assert _decision_columns({"body": "KF", "date": "2024-06-19", "paragraph": "§95"})["paragraph"] == "§95"
