"""Small deterministic SVG charts (bar, line, målvärde-bullet) with Swedish text alternatives, built as strings."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal
from html import escape

from workers.formatting import format_number, format_sek, format_value, to_decimal

WIDTH = 680
FONT = "DejaVu Sans, Arial, sans-serif"
# Blue and orange stay apart for the common colour-vision deficiencies; dashes and markers differ too.
COLOURS = ("#1f4e79", "#d9822b", "#2e7d32", "#7b3f98")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
INK, GRID, MUTED = "#1a1a1a", "#d0d0d0", "#555555"
REACHED, NOT_REACHED = "#2e7d32", "#b4472a"


def render_chart(chart: dict) -> str:
    """The SVG of a chart specification from a report document."""
    kind = chart.get("type")
    if kind == "bar":
        return bar_chart(chart["id"], chart["title"], chart.get("description", ""), chart["categories"],
                         chart["series"], chart.get("unit"))
    if kind == "line":
        return line_chart(chart["id"], chart["title"], chart.get("description", ""), chart["categories"],
                          chart["series"], chart.get("unit"))
    if kind == "bullet":
        return bullet_chart(chart["id"], chart["title"], chart.get("description", ""), chart["items"])
    raise ValueError(f"Unknown chart type {kind!r}.")


# --- helpers ---------------------------------------------------------------------------------------


def _n(x: float) -> str:
    """A coordinate with one decimal, the same on every platform."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _value_text(value, unit: str | None) -> str:
    if unit == "kr":
        return format_sek(value)
    return format_value(value, unit)


def _axis_text(value: Decimal, unit: str | None, scale: Decimal) -> str:
    """Tick labels in mnkr or tkr when amounts are large."""
    if unit == "kr" and scale != 1:
        suffix = "mnkr" if scale == Decimal(1_000_000) else "tkr"
        return format_number(value / scale) + "\u00a0" + suffix
    return format_number(value)


def _scale(unit: str | None, top: Decimal) -> Decimal:
    if unit != "kr":
        return Decimal(1)
    if top >= 10_000_000:
        return Decimal(1_000_000)
    if top >= 10_000:
        return Decimal(1_000)
    return Decimal(1)


def nice_ticks(low: Decimal, high: Decimal, count: int = 5) -> list[Decimal]:
    """Round tick values covering [low, high]: steps of 1, 2, 2.5 or 5 times a power of ten."""
    low, high = to_decimal(low), to_decimal(high)
    if high <= low:
        high = low + (abs(low) / 100 if low else Decimal(1))
    raw = (high - low) / count
    exponent = raw.adjusted()
    base = Decimal(10) ** exponent
    step = next(m * base for m in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))
                if m * base >= raw)
    start = (low / step).to_integral_value(rounding=ROUND_FLOOR) * step
    ticks = [start]
    while ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return [t.normalize() if t != 0 else Decimal(0) for t in ticks]


def _wrap(label: str, limit: int = 12) -> list[str]:
    """A category label on one or two lines."""
    if len(label) <= limit or " " not in label:
        return [label]
    if " (" in label:
        head, _, tail = label.partition(" (")
        return [head, "(" + tail]
    middle = len(label) // 2
    spaces = [i for i, ch in enumerate(label) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - middle))
    return [label[:cut], label[cut + 1:]]


# An average character of DejaVu Sans at the charts' font-size 11, in px: how many fit under a bar group.
_CHAR_PX = 6.6
_MONTH_ABBREVIATIONS = {"januari": "jan", "februari": "feb", "mars": "mar", "april": "apr", "juni": "jun",
                        "juli": "jul", "augusti": "aug", "september": "sep", "oktober": "okt", "november": "nov",
                        "december": "dec"}


def _axis_labels(categories: list[str], slot: float) -> list[list[str]]:
    """The labels under the axis, each on one or two lines that fit its slot: if one does not, every month
    name is shortened (all alike). The full category stays in the description and in each bar's or point's title.
    """
    limit = max(3, int((slot - 4) / _CHAR_PX))
    labels = [_wrap(category, limit) for category in categories]
    if any(len(line) > limit for lines in labels for line in lines):
        labels = [_wrap(" ".join(_MONTH_ABBREVIATIONS.get(word, word) for word in category.split(" ")), limit)
                  for category in categories]
    return labels


def _truncate(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    cid = escape(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" role="img" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" aria-labelledby="{cid}-title {cid}-desc" '
        f'font-family="{FONT}" font-size="11">',
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]


def _legend(series: list[dict], y: int, line: bool = False) -> list[str]:
    parts, x = [], 70
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        if line:
            dash = f' stroke-dasharray="{DASHES[i % len(DASHES)]}"' if DASHES[i % len(DASHES)] else ""
            parts.append(f'<line x1="{x}" y1="{y - 4}" x2="{x + 22}" y2="{y - 4}" stroke="{colour}" '
                         f'stroke-width="2.5"{dash}/>')
            parts.append(_marker(i, x + 11, y - 4, colour))
            x += 28
        else:
            parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour}"/>')
            x += 17
        parts.append(f'<text x="{x}" y="{y}" fill="{INK}">{escape(s["name"])}</text>')
        x += 12 + int(len(s["name"]) * 6.6)
    return parts


def _marker(index: int, x: float, y: float, colour: str) -> str:
    if index % 2:
        return f'<rect x="{_n(x - 3.5)}" y="{_n(y - 3.5)}" width="7" height="7" fill="{colour}"/>'
    return f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3.5" fill="{colour}"/>'


def _summary(categories: list[str], series: list[dict], unit: str | None) -> str:
    parts = []
    for i, category in enumerate(categories):
        values = [f"{s['name']} {_value_text(s['values'][i], unit)}" for s in series
                  if s["values"][i] is not None]
        parts.append(f"{category}: " + (", ".join(values) if values else "uppgift saknas"))
    return "; ".join(parts) + "."


def _y_axis(ticks: list[Decimal], to_y, left: int, right: int, unit: str | None, scale: Decimal) -> list[str]:
    parts = []
    for tick in ticks:
        y = to_y(tick)
        parts.append(f'<line x1="{left}" y1="{_n(y)}" x2="{right}" y2="{_n(y)}" stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{_n(y + 4)}" text-anchor="end" fill="{MUTED}">'
                     f'{escape(_axis_text(tick, unit, scale))}</text>')
    return parts


def _x_labels(categories: list[str], centre, y: int, slot: float) -> list[str]:
    parts = []
    for i, lines in enumerate(_axis_labels(categories, slot)):
        spans = "".join(f'<tspan x="{_n(centre(i))}" dy="{0 if j == 0 else 13}">{escape(text)}</tspan>'
                        for j, text in enumerate(lines))
        parts.append(f'<text x="{_n(centre(i))}" y="{y}" text-anchor="middle" fill="{INK}">{spans}</text>')
    return parts


# --- charts ----------------------------------------------------------------------------------------


def bar_chart(chart_id: str, title: str, description: str, categories: list[str], series: list[dict],
              unit: str | None = None) -> str:
    """Grouped vertical bars from zero, one group per category (period or body), one bar per series."""
    height, left, right, top, bottom = 300, 86, WIDTH - 16, 40, 250
    values = [to_decimal(v) for s in series for v in s["values"] if v is not None]
    high = max([*values, Decimal(0)])
    low = min([*values, Decimal(0)])
    ticks = nice_ticks(low, high)
    lo, hi = ticks[0], ticks[-1]
    scale = _scale(unit, max(abs(lo), abs(hi)))

    def to_y(v: Decimal) -> float:
        return bottom - float((v - lo) / (hi - lo)) * (bottom - top)

    group = (right - left) / max(len(categories), 1)
    bar = min(28.0, group * 0.8 / max(len(series), 1))

    def centre(i: int) -> float:
        return left + group * (i + 0.5)

    parts = _open(chart_id, title, f"{description} {_summary(categories, series, unit)}".strip(), height)
    parts += _legend(series, 20)
    parts += _y_axis(ticks, to_y, left, right, unit, scale)
    zero = to_y(Decimal(0))
    for i, category in enumerate(categories):
        first = centre(i) - bar * len(series) / 2
        for j, s in enumerate(series):
            value = s["values"][i]
            if value is None:
                continue
            y = to_y(to_decimal(value))
            top_y, h = min(y, zero), abs(zero - y)
            tip = f"{category}, {s['name']}: {_value_text(value, unit)}"
            parts.append(f'<rect x="{_n(first + j * bar)}" y="{_n(top_y)}" width="{_n(bar - 2)}" height="{_n(h)}" '
                         f'fill="{COLOURS[j % len(COLOURS)]}"><title>{escape(tip)}</title></rect>')
    parts.append(f'<line x1="{left}" y1="{_n(zero)}" x2="{right}" y2="{_n(zero)}" stroke="{INK}" stroke-width="1"/>')
    parts += _x_labels(categories, centre, bottom + 16, group)
    parts.append("</svg>")
    return "\n".join(parts)


def line_chart(chart_id: str, title: str, description: str, categories: list[str], series: list[dict],
               unit: str | None = None) -> str:
    """Lines over ordered categories (periods); the value axis fits the data instead of starting at zero."""
    height, left, right, top, bottom = 300, 86, WIDTH - 16, 40, 250
    values = [to_decimal(v) for s in series for v in s["values"] if v is not None]
    low, high = (min(values), max(values)) if values else (Decimal(0), Decimal(1))
    pad = (high - low) / 10 if high > low else (abs(high) / 100 or Decimal(1))
    ticks = nice_ticks(low - pad, high + pad)
    lo, hi = ticks[0], ticks[-1]
    scale = _scale(unit, max(abs(lo), abs(hi)))

    def to_y(v: Decimal) -> float:
        return bottom - float((v - lo) / (hi - lo)) * (bottom - top)

    step = (right - left) / max(len(categories), 1)

    def centre(i: int) -> float:
        return left + step * (i + 0.5)

    parts = _open(chart_id, title, f"{description} {_summary(categories, series, unit)}".strip(), height)
    parts += _legend(series, 20, line=True)
    parts += _y_axis(ticks, to_y, left, right, unit, scale)
    for j, s in enumerate(series):
        colour = COLOURS[j % len(COLOURS)]
        points = [(centre(i), to_y(to_decimal(v))) for i, v in enumerate(s["values"]) if v is not None]
        if len(points) > 1:
            dash = f' stroke-dasharray="{DASHES[j % len(DASHES)]}"' if DASHES[j % len(DASHES)] else ""
            path = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>')
        for i, v in enumerate(s["values"]):
            if v is None:
                continue
            marker = _marker(j, centre(i), to_y(to_decimal(v)), colour)
            tip = escape(f"{categories[i]}, {s['name']}: {_value_text(v, unit)}")
            parts.append(marker.replace("/>", f"><title>{tip}</title></{'rect' if j % 2 else 'circle'}>"))
    parts.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{INK}" stroke-width="1"/>')
    parts += _x_labels(categories, centre, bottom + 16, step)
    parts.append("</svg>")
    return "\n".join(parts)


def bullet_chart(chart_id: str, title: str, description: str, items: list[dict]) -> str:
    """One row per indicator: the outcome as a bar, the målvärde as a tick, each row on its own scale."""
    row, top, label_w, bar_left, bar_right = 34, 34, 196, 206, 500
    height = top + row * len(items) + 10
    summary = "; ".join(
        f"{item['label']}: utfall {format_value(item['outcome'], item.get('unit'))}, målvärde "
        f"{format_value(item['target'], item.get('unit'))}, "
        + ("målvärdet nått" if _reached(item) else "målvärdet inte nått") for item in items) + "."
    parts = _open(chart_id, title, f"{description} {summary}".strip(), height)
    parts.append(f'<rect x="{bar_left}" y="10" width="12" height="12" fill="{REACHED}"/>'
                 f'<text x="{bar_left + 17}" y="20" fill="{INK}">Utfall, målvärdet nått</text>')
    parts.append(f'<rect x="{bar_left + 160}" y="10" width="12" height="12" fill="{NOT_REACHED}"/>'
                 f'<text x="{bar_left + 177}" y="20" fill="{INK}">Utfall, ej nått</text>')
    parts.append(f'<line x1="{bar_left + 275}" y1="8" x2="{bar_left + 275}" y2="24" stroke="{INK}" stroke-width="3"/>'
                 f'<text x="{bar_left + 282}" y="20" fill="{INK}">Målvärde</text>')
    for i, item in enumerate(items):
        y = top + i * row
        target, outcome = to_decimal(item["target"]), to_decimal(item["outcome"])
        span = max(target, outcome, Decimal(0)) * Decimal("1.15") or Decimal(1)
        width = float(max(outcome, Decimal(0)) / span) * (bar_right - bar_left)
        mark = bar_left + float(max(target, Decimal(0)) / span) * (bar_right - bar_left)
        reached = _reached(item)
        colour = REACHED if reached else NOT_REACHED
        unit = item.get("unit")
        label = escape(_truncate(item["label"], 30))
        tip = escape(f"{item['label']}: utfall {format_value(item['outcome'], unit)}, "
                     f"målvärde {format_value(item['target'], unit)}")
        parts.append(f'<g><title>{tip}</title>')
        parts.append(f'<text x="{label_w}" y="{y + 17}" text-anchor="end" fill="{INK}">{label}</text>')
        parts.append(f'<rect x="{bar_left}" y="{y + 4}" width="{bar_right - bar_left}" height="20" fill="#eeeeee"/>')
        parts.append(f'<rect x="{bar_left}" y="{y + 8}" width="{_n(width)}" height="12" fill="{colour}"/>')
        parts.append(f'<line x1="{_n(mark)}" y1="{y + 1}" x2="{_n(mark)}" y2="{y + 27}" stroke="{INK}" '
                     f'stroke-width="3"/>')
        value = f"{format_value(item['outcome'], unit)} (mål {format_value(item['target'], unit)})"
        parts.append(f'<text x="{bar_right + 8}" y="{y + 17}" fill="{INK}">{escape(value)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _reached(item: dict) -> bool:
    target, outcome = to_decimal(item["target"]), to_decimal(item["outcome"])
    return outcome <= target if item.get("direction") == "decrease" else outcome >= target


__all__ = ["bar_chart", "bullet_chart", "line_chart", "nice_ticks", "render_chart"]
