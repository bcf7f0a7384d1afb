"""Rule 10: follow-ups report what has happened, so none is dated after today (as no decision is), nor before
the period it reports on has begun."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

TOMORROW = dt.date.today() + dt.timedelta(days=1)
REPORTING_YEAR = dt.date.today().year


@pytest.fixture
def followed(org, by):
    """BUN with a frame for this year, an indicator, and KF's uppdrag U1 to BUN under inriktningsmål IM1."""
    org.draft_plan("MRP", REPORTING_YEAR)
    org.set_frame("MRP", "BUN", REPORTING_YEAR, 1_000_000, [], by("KF"))
    org.define_indicator("N15", "Behöriga lärare", "%", "increase")
    org.open_term("T", REPORTING_YEAR - 1, REPORTING_YEAR + 2)
    org.establish_goal("IM1", "T", "Alla barn lyckas i skolan", by("KF"))
    org.issue_assignment("U1", "BUN", "Läsfrämjande", "Ta fram en plan", dt.date(REPORTING_YEAR + 1, 6, 30),
                         by("KF"), goal="IM1")
    return org


FOLLOW_UPS = {
    "financial outcome": lambda app, day: app.report_financial(
        "BUN", f"{REPORTING_YEAR}-01", 80_000, 1_000_000, day),
    "indicator outcome": lambda app, day: app.report_indicator("N15", str(REPORTING_YEAR), Decimal("87.5"), day,
                                                               body="BUN"),
    "attainment of a goal": lambda app, day: app.assess("goal:IM1", str(REPORTING_YEAR), "partly_met",
                                                        "Fler elever når målen", day),
    "attainment of an uppdrag": lambda app, day: app.assess("assignment:U1", str(REPORTING_YEAR), "met",
                                                            "Planen är antagen", day),
    "status of an uppdrag": lambda app, day: app.report_assignment_status(
        "U1", "ongoing", f"{REPORTING_YEAR}-T1", "Arbetet pågår", day),
}
KINDS = list(FOLLOW_UPS)


@pytest.mark.parametrize("kind", KINDS)
def test_a_follow_up_dated_in_the_future_is_refused(followed, refused, kind):
    error = refused(followed, "invalid_command", FOLLOW_UPS[kind], followed, TOMORROW)
    assert error.field == "reported_on"


@pytest.mark.parametrize("kind", KINDS)
def test_a_follow_up_dated_today_is_recorded(followed, last, kind):
    FOLLOW_UPS[kind](followed, dt.date.today())
    assert last(followed)["data"]["reported_on"] == dt.date.today().isoformat()


@pytest.mark.parametrize("kind", KINDS)
def test_a_follow_up_dated_before_its_period_begins_is_refused(followed, refused, kind):
    # Every period above begins on the first of January of this year (a delårsperiod runs from the year's start).
    error = refused(followed, "invalid_command", FOLLOW_UPS[kind], followed, dt.date(REPORTING_YEAR - 1, 12, 31))
    assert error.field == "reported_on"
    assert f"before {REPORTING_YEAR}-01-01" in error.message


def test_a_follow_up_of_a_period_outside_the_calendar_is_refused_naming_the_period(followed, refused):
    # Year 0000 passed the pattern and then failed to be dated (a 500 found by the fuzzing).
    for period in ("0000", "0000-T1", "2201-04"):
        error = refused(followed, "invalid_command", followed.report_indicator, "N15", period, Decimal("1"),
                        dt.date.today(), body="BUN")
        assert error.field == "period", period
