"""Swedish formatting of numbers, amounts, periods and decisions, shared by report content and rendering."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

NBSP = "\u00a0"
MINUS = "\u2212"
DASH = "–"

MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober",
          "november", "december")
INTERIM_MONTHS = {"T1": 4, "T2": 8}


def to_decimal(value) -> Decimal:
    """A number from the ledger (int, float or numeric text) as an exact Decimal."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def plain_number(value: Decimal) -> int | float:
    """A Decimal back to the JSON number the ledger would carry (integers stay integers)."""
    value = value.normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def _group(digits: str) -> str:
    groups = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return NBSP.join(groups)


def format_number(value, decimals: int | None = None, signed: bool = False) -> str:
    """`1023000` -> `1 023 000`, `83.9` -> `83,9` (no-break spaces, decimal comma, true minus sign)."""
    if value is None:
        return DASH
    number = to_decimal(value)
    if decimals is not None:
        number = number.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    if number == 0:
        number = abs(number)
    sign = MINUS if number < 0 else ("+" if signed and number > 0 else "")
    text = format(abs(number), "f")
    whole, _, fraction = text.partition(".")
    return sign + _group(whole) + ("," + fraction if fraction else "")


def format_sek(value, signed: bool = False) -> str:
    """`1023000` -> `1 023 000 kr`: whole kronor, no-break spaces as thousands separators and before kr."""
    if value is None:
        return DASH
    return format_number(value, decimals=0, signed=signed) + NBSP + "kr"


def format_value(value, unit: str | None = None) -> str:
    """An indicator value with its unit: `83,9 %`, `120 antal` is shown as `120`."""
    if value is None:
        return DASH
    text = format_number(value)
    if unit == "%":
        return text + NBSP + "%"
    return text


def period_key(period: str) -> tuple[int, int, int]:
    """Sort key of a follow-up period: 2024-04 < 2024-T1 < 2024-08 < 2024-T2 < 2024-12 < 2024."""
    year, rest = int(period[:4]), period[5:]
    if not rest:
        return (year, 12, 2)
    if rest in INTERIM_MONTHS:
        return (year, INTERIM_MONTHS[rest], 1)
    return (year, int(rest), 0)


def period_months(period: str) -> int:
    """How many months of its year a period covers."""
    return period_key(period)[1]


def period_end(period: str) -> dt.date:
    """The last day a period covers."""
    year, month, _ = period_key(period)
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def period_label(period: str) -> str:
    """`2024-03` -> `mars 2024`, `2024-T1` -> `T1 2024 (jan–apr)`, `2024` -> `Helår 2024`."""
    year, rest = period[:4], period[5:]
    if not rest:
        return f"Helår {year}"
    if rest == "T1":
        return f"T1 {year} (jan{DASH}apr)"
    if rest == "T2":
        return f"T2 {year} (jan{DASH}aug)"
    return f"{MONTHS[int(rest) - 1]} {year}"


def decision_ref(decision: dict | None) -> str:
    """`KF 2022-12-14 §190, KS 2021/432`: who decided, when and where it is written."""
    if not decision:
        return DASH
    parts = [decision.get("body") or "", decision.get("date") or ""]
    if decision.get("kind") == "delegated":
        parts.append(f"delegationsbeslut ({decision.get('delegation')})")
    elif decision.get("paragraph"):
        parts.append(decision["paragraph"])
    text = " ".join(p for p in parts if p)
    if decision.get("registry_number"):
        text += f", {decision['registry_number']}"
    return text


STOCKHOLM = ZoneInfo("Europe/Stockholm")


def swedish_time(moment: str | None) -> str | None:
    """A stored moment (ISO 8601, UTC when it names no zone) as the Swedish reader's clock shows it, to the second:
    2026-12-06 16:40:57 svensk tid."""
    if not moment:
        return moment
    parsed = dt.datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return f"{parsed.astimezone(STOCKHOLM):%Y-%m-%d %H:%M:%S} svensk tid"
