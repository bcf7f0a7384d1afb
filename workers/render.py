"""Render a report document as HTML, PDF (WeasyPrint) or a zip of CSV tables, byte for byte reproducibly."""

from __future__ import annotations

import builtins
import csv
import datetime as dt
import gc
import hashlib
import io
import json
import os
import threading
import zipfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from workers.charts import render_chart
from workers.formatting import DASH, format_number, format_sek, format_value, swedish_time, to_decimal

FORMATS = ("html", "pdf", "csv")
TEMPLATES = Path(__file__).parent / "templates"
KIND_SV = {"discharge_basis": "Ansvarsprövningsunderlag", "interim": "Delårsrapport",
           "annual": "Årsredovisning, mål och budget"}
NUMERIC = frozenset({"sek", "sek_signed", "number", "number_signed", "position"})
META_FILE = "om_rapporten.csv"
_PDF_LOCK = threading.Lock()


def render(document: dict, fmt: str) -> bytes:
    """The artifact's bytes; the same document always gives the same bytes (no clock is read)."""
    if fmt == "html":
        return render_html(document).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(document)
    if fmt == "csv":
        return render_csv(document)
    raise ValueError(f"Unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}.")


# --- cells ---------------------------------------------------------------------------------------


def format_cell(value, fmt: str = "text") -> str:
    """A table cell or fact value as a person reads it, in Swedish."""
    if value is None or value == "":
        return DASH
    if fmt == "sek":
        return format_sek(value)
    if fmt == "sek_signed":
        return format_sek(value, signed=True)
    if fmt == "number":
        return format_number(value)
    if fmt == "number_signed":
        return format_number(value, signed=True)
    if fmt == "yesno":
        return "Ja" if value else "Nej"
    if fmt == "position":
        return str(value)
    if fmt == "lines":
        return Markup("<br>").join(value) if isinstance(value, list) else str(value)
    return str(value)


def table_cell(row: dict, column: dict) -> str:
    """A cell of a printed table: amounts without `kr` (the header says it), values with their unit."""
    value, fmt = row.get(column["key"]), column["format"]
    if value is None or value == "":
        return DASH
    if fmt in ("sek", "sek_signed"):
        return format_number(value, decimals=0, signed=fmt == "sek_signed")
    if column.get("unit_key") and fmt == "number":
        return format_value(value, row.get(column["unit_key"]))
    return format_cell(value, fmt)


def header_label(column: dict) -> str:
    return column["label"] + (" (kr)" if column["format"] in ("sek", "sek_signed") else "")


def _printed(table: dict, for_print: bool = False) -> dict:
    """The columns a person sees and the rows in their groups (one unnamed group when not grouped).

    In the PDF, a table's compact form when it has one (content.py: fewer rows and cells, every fact kept).
    """
    if for_print and table.get("print"):
        table = {**table, **table["print"]}
    columns = [c for c in table["columns"] if not c.get("detail")]
    group = table.get("group")
    groups: list[dict] = []
    for row in table["rows"]:
        title = group["titles"].get(row[group["key"]], row[group["key"]]) if group else None
        if not groups or groups[-1]["title"] != title:
            groups.append({"title": title, "rows": []})
        groups[-1]["rows"].append(row)
    widths, small = print_layout(columns, table["rows"], table.get("footer") or []) if for_print else (None, False)
    return {**table, "printed_columns": columns, "groups": groups, "print_widths": widths, "print_small": small}


# --- print column widths -------------------------------------------------------------------------

# Advance widths of DejaVu Sans (the report font), regular and bold, for U+0020..U+007E, in 1/2048 em. Only the
# proportions of a printed table's columns come from them; WeasyPrint still sets the text with the installed font.
_ADVANCES = (
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690, 1303, 1303,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087, 2048, 1401, 1405,
    1430, 1577, 1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612, 1235, 1612, 1423, 1300,
    1251, 1499, 1401, 2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024, 1024, 1255, 1300, 1126, 1300,
    1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253, 1300, 1300, 842, 1067, 803, 1298,
    1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716)
_BOLD_ADVANCES = (
    713, 934, 1067, 1716, 1425, 2052, 1786, 627, 936, 936, 1071, 1716, 778, 850, 778, 748, 1425, 1425,
    1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 819, 819, 1716, 1716, 1716, 1188, 2048, 1585, 1561,
    1503, 1700, 1399, 1399, 1681, 1714, 762, 762, 1587, 1305, 2038, 1714, 1741, 1501, 1741, 1577, 1475,
    1397, 1663, 1585, 2259, 1579, 1483, 1485, 936, 748, 936, 1716, 1024, 1024, 1382, 1466, 1214, 1466,
    1389, 891, 1466, 1458, 702, 702, 1362, 702, 2134, 1458, 1407, 1466, 1466, 1010, 1219, 979, 1458,
    1335, 1892, 1321, 1335, 1192, 1458, 748, 1458, 1716)
_OTHER_ADVANCES = {"\u00a0": (651, 713), "å": (1255, 1382), "ä": (1255, 1382), "ö": (1253, 1407),
                   "Å": (1401, 1585), "Ä": (1401, 1585), "Ö": (1612, 1741), "é": (1260, 1389), "§": (1024, 1024),
                   "–": (1024, 1024), "×": (1716, 1716), "−": (1716, 1716), "…": (2048, 2048)}
_PRINT_WIDTH_PT = 182 / 25.4 * 72  # A4 less the @page side margins (report.css)
_CELL_FONT_PT, _CELL_PADDING_PT = 7.5, 6.0  # report.css, @media print: table, th, td
_SMALL_CELL_FONT_PT = 6.5  # report.css, @media print: table.small, for a table too wide at the usual size
_NOWRAP = NUMERIC | {"date", "code"}  # report.css: .num, .date, .code and .position do not wrap


def _text_pt(text: str, bold: bool = False, font_pt: float = _CELL_FONT_PT) -> float:
    """Width of one unbroken line of table text in points (1 em for a character not listed)."""
    ascii_advances = _BOLD_ADVANCES if bold else _ADVANCES
    units = sum(ascii_advances[ord(ch) - 32] if " " <= ch <= "~" else _OTHER_ADVANCES.get(ch, (2048, 2048))[bold]
                for ch in text)
    return units / 2048 * font_pt


def _cell_pt(lines: list[str], nowrap: bool, bold: bool = False, font_pt: float = _CELL_FONT_PT
             ) -> tuple[float, float]:
    """A cell's (min-content, max-content) width in points, padding included."""
    widest = max(_text_pt(line, bold, font_pt) for line in lines)
    narrowest = widest if nowrap else max(_text_pt(word, bold, font_pt) for line in lines for word in line.split()
                                          or [""])
    return narrowest + _CELL_PADDING_PT, widest + _CELL_PADDING_PT


def _cell_lines(row: dict, column: dict, footer: bool = False) -> list[str]:
    """A printed cell's text, line by line, as report.html writes it."""
    value = row.get(column["key"])
    if column["format"] == "lines" and isinstance(value, list):
        return [str(line) for line in value] or [""]
    if footer:
        return ["" if value is None else str(table_cell(row, column))]
    return [str(table_cell(row, column))]


def print_layout(columns: list[dict], rows: list[dict], footer: list[dict]) -> tuple[list[str] | None, bool]:
    """A printed table's column widths, and whether it needs the small type to fit the page at all.

    Without widths (a table too wide even in small type) it keeps the automatic layout and runs past the margin.
    """
    widths = print_widths(columns, rows, footer)
    if widths is not None or not columns:
        return widths, False
    widths = print_widths(columns, rows, footer, _SMALL_CELL_FONT_PT)
    return widths, widths is not None


def print_widths(columns: list[dict], rows: list[dict], footer: list[dict], font_pt: float = _CELL_FONT_PT
                 ) -> list[str] | None:
    """Column widths (CSS percentages) for a printed table, from its own text, as automatic layout picks them.

    WeasyPrint's automatic table layout sets a cell's text once per word to find its min-content width, a
    third of the PDF's CPU at 100,000 events. With these widths the table is laid out as `table-layout:
    fixed`, within a point of the automatic widths. Like the automatic layout, each column gets its
    max-content width when all fit, else its min-content width plus a share of the rest in proportion to
    what it lacks. None (automatic layout) when even the min-content widths do not fit.
    """
    if not columns:
        return None
    mins, maxes = [], []
    for index, column in enumerate(columns):
        nowrap = column["format"] in _NOWRAP
        # A numeric column's header wraps (report.css: thead th.num).
        cells = [_cell_pt([header_label(column)], nowrap and column["format"] not in NUMERIC, True, font_pt)]
        cells += [_cell_pt(_cell_lines(row, column), nowrap, False, font_pt) for row in rows]
        cells += [_cell_pt([format_cell(row.get(column["key"]), "text")] if index == 0
                           else _cell_lines(row, column, footer=True), nowrap, True, font_pt) for row in footer]
        mins.append(max(low for low, _ in cells))
        maxes.append(max(high for _, high in cells))
    low, high = sum(mins), sum(maxes)
    if low > _PRINT_WIDTH_PT:
        return None
    if high <= _PRINT_WIDTH_PT:
        widths = [width * _PRINT_WIDTH_PT / high for width in maxes]
    else:
        share = (_PRINT_WIDTH_PT - low) / (high - low)
        widths = [a + (b - a) * share for a, b in zip(mins, maxes, strict=True)]
    return [f"{width / _PRINT_WIDTH_PT * 100:.3f}%" for width in widths]


def csv_cell(value, fmt: str = "text") -> str:
    """A cell for a spreadsheet: plain numbers with decimal comma, no thousands separators or units."""
    if value is None:
        return ""
    if fmt == "yesno" or isinstance(value, bool):
        return "Ja" if value else "Nej"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, (int, float)) and fmt in NUMERIC:
        return format(to_decimal(value), "f").replace(".", ",")
    return str(value)


# --- meta ----------------------------------------------------------------------------------------


def _moment(meta: dict) -> dt.datetime:
    """meta.generated_at as an aware UTC datetime, to whole seconds (the only time an artifact states)."""
    moment = dt.datetime.fromisoformat(meta["generated_at"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _w3c(meta: dict) -> str:
    return _moment(meta).strftime("%Y-%m-%dT%H:%M:%SZ")


def pdf_identifier(meta: dict) -> bytes:
    """A PDF file identifier fixed by what the report was built on."""
    basis = json.dumps({k: meta.get(k) for k in ("tenant", "kind", "year", "body", "period", "as_of", "known_at",
                                                 "position", "head_hash", "generated_at")},
                       sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32].encode("ascii")


def basis_items(meta: dict) -> list[tuple[str, str]]:
    """What the artifact was built on, as label and value (shown in every format)."""
    items = [("Kommun", f"{meta.get('tenant_name') or meta['tenant']} ({meta['tenant']})"),
             ("Rapport", KIND_SV.get(meta["kind"], meta["kind"])),
             ("År", str(meta["year"]))]
    if meta.get("body"):
        items.append(("Organ", f"{meta.get('body_name') or meta['body']} ({meta['body']})"))
    if meta.get("period"):
        items.append(("Period", meta["period"]))
    items += [("Gällande per", meta["as_of"]),
              ("Registrerat till och med", swedish_time(meta["known_at"]) or "senaste registrering vid körningen"),
              ("Liggarposition", str(meta["position"])),
              ("Liggarens hash vid positionen", meta["head_hash"]),
              # Not the wall clock of the build (a report is the same bytes whenever it is rebuilt): the
              # record time of the last entry it includes.
              ("Senaste registrering i underlaget", swedish_time(meta["generated_at"]))]
    return items


# --- HTML and PDF --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["cell"] = format_cell
    env.filters["swedish_time"] = swedish_time
    env.globals.update(table_cell=table_cell, header_label=header_label)
    return env


def render_html(document: dict, for_print: bool = False) -> str:
    meta = document["meta"]
    charts = {chart["id"]: Markup(render_chart(chart)) for chart in document.get("charts", [])}
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return _environment().get_template("report.html").render(
        meta=meta, sections=document["sections"], charts=charts,
        tables={name: _printed(table, for_print) for name, table in document["tables"].items()},
        chart_titles={chart["id"]: chart["title"] for chart in document.get("charts", [])},
        basis=basis_items(meta), created=_w3c(meta), css=Markup(css), for_print=for_print,
        numeric=NUMERIC, kind_label=KIND_SV.get(meta["kind"], meta["kind"]),
        short_hash=meta["head_hash"][:12])


class _StableIds:
    """Numbers objects in the order they are first seen, in place of `id()` (a memory address)."""

    def __init__(self) -> None:
        self.numbers: dict[int, int] = {}
        self.seen: list = []  # keeps every numbered object alive, so no address is reused meanwhile

    def __call__(self, obj) -> int:
        key = builtins.id(obj)
        if key not in self.numbers:
            self.numbers[key] = len(self.numbers) + 1
            self.seen.append(obj)
        return self.numbers[key]


@contextmanager
def _reproducible(meta: dict):
    """Remove WeasyPrint's two sources of varying bytes, for the duration of one PDF.

    fontTools stamps each embedded font subset with the current time unless SOURCE_DATE_EPOCH is set
    (we set meta.generated_at), and WeasyPrint's tagged-PDF structure elements are identified by `id()`
    of layout boxes (we number them in document order instead). Both are restored afterwards; the lock
    keeps concurrent renders in one process from seeing each other's settings.
    """
    from weasyprint.pdf import tags

    with _PDF_LOCK:
        previous = os.environ.get("SOURCE_DATE_EPOCH")
        os.environ["SOURCE_DATE_EPOCH"] = str(int(_moment(meta).timestamp()))
        tags.id = _StableIds()
        # WeasyPrint's box tree has no garbage to collect until it is done, and scanning it again and again
        # while it grows cost about a tenth of the PDF's time (docs/performance.md, Reports).
        collecting = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if collecting:
                gc.enable()
            del tags.id
            if previous is None:
                os.environ.pop("SOURCE_DATE_EPOCH", None)
            else:
                os.environ["SOURCE_DATE_EPOCH"] = previous


def render_pdf(document: dict) -> bytes:
    """A tagged A4 PDF whose metadata dates and identifier come from the document's meta only."""
    from weasyprint import HTML

    meta = document["meta"]
    html = render_html(document, for_print=True)
    with _reproducible(meta):
        return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
            pdf_identifier=pdf_identifier(meta), pdf_tags=True, uncompressed_pdf=False)


# --- CSV -----------------------------------------------------------------------------------------


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def render_csv(document: dict) -> bytes:
    """A zip with one semicolon-separated UTF-8 (BOM) file per table and one describing the report."""
    meta = document["meta"]
    files = {META_FILE: _csv_bytes(["Uppgift", "Värde"], [[label, value] for label, value in basis_items(meta)]
                                   + [["Rubrik", meta["title"]]])}
    for name, table in document["tables"].items():
        columns = table["columns"]
        rows = [[csv_cell(row.get(c["key"]), c["format"]) for c in columns] for row in table["rows"]]
        rows += [[csv_cell(row.get(c["key"]), c["format"]) for c in columns] for row in table.get("footer") or []]
        files[f"{name}.csv"] = _csv_bytes([header_label(c) for c in columns], rows)
    stamp = max(_moment(meta), dt.datetime(1980, 1, 1, tzinfo=dt.UTC)).timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


__all__ = ["FORMATS", "csv_cell", "format_cell", "format_number", "format_sek", "pdf_identifier", "render",
           "render_csv", "render_html", "render_pdf", "table_cell"]
