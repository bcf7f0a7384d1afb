"""Follow-up periods: a year (2024), a month (2024-04) or a delårsperiod (2024-T1, 2024-T2)."""

from __future__ import annotations

import datetime as dt
import re

from domain.errors import InvalidCommandError

PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]|T1|T2))?$")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# The years a follow-up period can lie in: those a budget year can (web/api/schemas.py YEAR); year 0 has no
# first of January to date it from.
FIRST_YEAR, LAST_YEAR = 1900, 2200


def check_period(period: str, monthly: bool = False) -> int:
    """The period's year; refuses anything else with a message naming the field."""
    pattern = MONTH if monthly else PERIOD
    if not isinstance(period, str) or not pattern.match(period):
        expected = "a month, e.g. 2024-04" if monthly else "2024, 2024-04, 2024-T1 or 2024-T2"
        raise InvalidCommandError(f"period is {expected}.", "period")
    year = int(period[:4])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidCommandError(f"period lies in {FIRST_YEAR}-{LAST_YEAR}.", "period")
    return year


def period_start(period: str) -> dt.date:
    """The first day a (checked) period covers: a delårsperiod runs from the start of its year, as the
    delårsrapport does."""
    year = int(period[:4])
    month = period[5:]
    return dt.date(year, int(month), 1) if month.isdigit() else dt.date(year, 1, 1)


def check_reported_on(reported_on: dt.date, period: str) -> None:
    """A follow-up reports what has happened: like a decision, it cannot be dated after today, nor before the
    period it reports on has begun."""
    if reported_on > dt.date.today():
        raise InvalidCommandError("A follow-up cannot be reported in the future.", "reported_on")
    start = period_start(period)
    if reported_on < start:
        raise InvalidCommandError(f"A follow-up of {period} cannot be reported before {start.isoformat()}, when "
                                  "the period begins.", "reported_on")
