"""Charts of the Nämnd page as inline SVG: presentation attributes only (the CSP forbids inline styles).

Each chart carries a Swedish <title> and <desc> (role="img"), and the page shows the same numbers in a table.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from markupsafe import Markup

from workers.charts import bullet_chart, line_chart, nice_ticks
from workers.formatting import format_number, format_sek, to_decimal

WIDTH, HEIGHT = 680, 320
LEFT, RIGHT, TOP, BOTTOM = 96, WIDTH - 20, 56, 268
FONT = "DejaVu Sans, Arial, sans-serif"
INK, GRID, MUTED = "#1a1a1a", "#d0d0d0", "#555555"
LINE, SET_MARK, ADJUST_MARK = "#1f4e79", "#1f4e79", "#b4472a"


def _n(x: float) -> str:
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _mnkr(value: Decimal) -> str:
    return format_number(value / Decimal(1_000_000), decimals=1) + "\u00a0mnkr"


def frame_chart(chart_id: str, title: str, description: str, years: list[dict]) -> Markup:
    """The frame per year as a line, with one marker per decision: the frame set, then each adjustment.

    `years`: [{"year": 2022, "amount_sek": final, "steps": [{"kind": "set"|"adjustment", "amount_sek": after,
    "delta_sek": change, "ref": "KF 2022-04-13 §48"}]}], in year order.
    """
    cid = escape(chart_id)
    amounts = [to_decimal(s["amount_sek"]) for y in years for s in y["steps"]] or [Decimal(0)]
    low, high = min(amounts), max(amounts)
    pad = (high - low) / 10 if high > low else (abs(high) / 50 or Decimal(1))
    ticks = nice_ticks(low - pad, high + pad)
    lo, hi = ticks[0], ticks[-1]

    def to_y(v) -> float:
        return BOTTOM - float((to_decimal(v) - lo) / (hi - lo)) * (BOTTOM - TOP)

    step = (RIGHT - LEFT) / max(len(years), 1)

    def centre(i: int) -> float:
        return LEFT + step * (i + 0.5)

    summary = []
    for y in years:
        parts = []
        for s in y["steps"]:
            if s["kind"] == "set":
                parts.append(f"ram {format_sek(s['amount_sek'])} fastställd {s['ref']}")
            else:
                parts.append(f"justering {format_sek(s['delta_sek'], signed=True)} {s['ref']}")
        summary.append(f"{y['year']}: " + ", ".join(parts) + f"; ram efter beslut {format_sek(y['amount_sek'])}")
    desc = f"{description} " + ". ".join(summary) + "."

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" role="img" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{cid}-title {cid}-desc" '
        f'font-family="{FONT}" font-size="11">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
    ]
    # Legend: the line, the frame set by the MRP, an adjustment.
    out.append(f'<line x1="{LEFT}" y1="16" x2="{LEFT + 22}" y2="16" stroke="{LINE}" stroke-width="2.5"/>'
               f'<text x="{LEFT + 28}" y="20" fill="{INK}">Ram efter beslut</text>')
    out.append(f'<circle cx="{LEFT + 150}" cy="16" r="5" fill="{SET_MARK}"/>'
               f'<text x="{LEFT + 160}" y="20" fill="{INK}">Ram fastställd (mål- och resursplan)</text>')
    out.append(_diamond(LEFT + 384, 16)
               + f'<text x="{LEFT + 394}" y="20" fill="{INK}">Ramjustering (tilläggsanslag)</text>')
    scale_note = "Belopp i miljoner kronor (mnkr)"
    out.append(f'<text x="{LEFT}" y="40" fill="{MUTED}">{scale_note}</text>')
    for tick in ticks:
        y = to_y(tick)
        out.append(f'<line x1="{LEFT}" y1="{_n(y)}" x2="{RIGHT}" y2="{_n(y)}" stroke="{GRID}" stroke-width="1"/>')
        out.append(f'<text x="{LEFT - 6}" y="{_n(y + 4)}" text-anchor="end" fill="{MUTED}">'
                   f'{escape(format_number(tick / Decimal(1_000_000)))}</text>')
    # Each year's markers sit side by side around the year; the line joins each year's last marker.
    marker_xs = [[centre(i) + (k - (len(y["steps"]) - 1) / 2) * 14 for k in range(len(y["steps"]))]
                 for i, y in enumerate(years)]
    finals = [(marker_xs[i][-1], to_y(y["amount_sek"])) for i, y in enumerate(years)]
    if len(finals) > 1:
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in finals)
        out.append(f'<polyline points="{points}" fill="none" stroke="{LINE}" stroke-width="2.5"/>')
    for i, y in enumerate(years):
        steps = y["steps"]
        xs = marker_xs[i]
        if len(steps) > 1:
            path = " ".join(f"{_n(x)},{_n(to_y(s['amount_sek']))}" for x, s in zip(xs, steps, strict=True))
            out.append(f'<polyline points="{path}" fill="none" stroke="{MUTED}" stroke-width="1" '
                       f'stroke-dasharray="3 2"/>')
        for x, s in zip(xs, steps, strict=True):
            sy = to_y(s["amount_sek"])
            if s["kind"] == "set":
                tip = f"{y['year']}: ram {format_sek(s['amount_sek'])} fastställd {s['ref']}"
                out.append(f'<circle cx="{_n(x)}" cy="{_n(sy)}" r="5" fill="{SET_MARK}">'
                           f'<title>{escape(tip)}</title></circle>')
            else:
                tip = (f"{y['year']}: justering {format_sek(s['delta_sek'], signed=True)} {s['ref']}, "
                       f"ram därefter {format_sek(s['amount_sek'])}")
                out.append(_diamond(x, sy, tip))
        out.append(_amount_label(i, finals, xs[-1], _mnkr(to_decimal(y["amount_sek"]))))
        out.append(f'<text x="{_n(centre(i))}" y="{BOTTOM + 18}" text-anchor="middle" fill="{INK}">{y["year"]}</text>')
    out.append(f'<line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="{INK}" stroke-width="1"/>')
    out.append("</svg>")
    return Markup("\n".join(out))


def _amount_label(i: int, finals: list[tuple[float, float]], x: float, text: str) -> str:
    """The frame's amount above its last marker, on the side away from the line."""
    y = finals[i][1]
    rises_next = i + 1 < len(finals) and finals[i + 1][1] < y
    falls_in = i > 0 and finals[i - 1][1] < y
    if rises_next and not falls_in:
        anchor, x = "end", x - 8
    elif falls_in and not rises_next:
        anchor, x = "start", x + 8
    else:
        anchor = "middle"
    return (f'<text x="{_n(x)}" y="{_n(y - 12)}" text-anchor="{anchor}" fill="{INK}" font-weight="bold">'
            f'{escape(text)}</text>')


def _diamond(x: float, y: float, tip: str | None = None) -> str:
    r = 6
    points = f"{_n(x)},{_n(y - r)} {_n(x + r)},{_n(y)} {_n(x)},{_n(y + r)} {_n(x - r)},{_n(y)}"
    if tip is None:
        return f'<polygon points="{points}" fill="{ADJUST_MARK}"/>'
    return f'<polygon points="{points}" fill="{ADJUST_MARK}"><title>{escape(tip)}</title></polygon>'


def target_chart(chart_id: str, title: str, description: str, items: list[dict]) -> Markup:
    """Målvärde against utfall per indicator (a bullet chart from the report charts)."""
    return Markup(bullet_chart(chart_id, title, description, items))


def forecast_chart(chart_id: str, title: str, description: str, periods: list[str], forecasts: list,
                   frames: list) -> Markup:
    """Prognos and ram per follow-up period."""
    series = [{"name": "Prognos helår", "values": forecasts}, {"name": "Ram", "values": frames}]
    return Markup(line_chart(chart_id, title, description, periods, series, unit="kr"))
