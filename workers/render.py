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
from workers.formatting import DASH, format_number, format_sek, format_value, to_decimal

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
    return {**table, "printed_columns": columns, "groups": groups}


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
              ("Registrerat till och med", meta["known_at"] or "senaste registrering vid körningen"),
              ("Liggarposition", str(meta["position"])),
              ("Liggarens hash vid positionen", meta["head_hash"]),
              ("Skapad", meta["generated_at"])]
    return items


# --- HTML and PDF --------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["cell"] = format_cell
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
