"""Shared fixtures for the domain's unit tests: a fresh tenant on its own SQLite file, decisions, refusals."""

from __future__ import annotations

import datetime as dt

import pytest

from domain.application import Governance
from domain.decisions import Decision
from domain.errors import DomainError
from domain.stores import StoreConfig

TENANT = "testkommun"
# The usual meeting date of the tests: autumn before the first plan year 2024.
MEETING = dt.date(2023, 11, 20)


def decision(body: str, date: dt.date = MEETING, paragraph: str = "§150", **kwargs) -> Decision:
    return Decision(body, date, paragraph=paragraph, **kwargs)


@pytest.fixture
def by():
    """`by("KF")` is a meeting decision of KF on the usual date; `by("BUN", dt.date(2024, 3, 1))` another date."""
    return decision


@pytest.fixture
def make_app(tmp_path):
    """Build a provisioned tenant (bodies KF and KS) on a fresh SQLite file, optionally with settings."""
    made: list[Governance] = []

    def make(settings: dict | None = None, tenant: str = TENANT) -> Governance:
        app = Governance(tenant, StoreConfig(data_dir=tmp_path / tenant), settings=settings, create_table=True)
        app.provision()
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()


@pytest.fixture
def app(make_app) -> Governance:
    return make_app()


@pytest.fixture
def refused():
    """Run a command that must be refused: check the error code and that the ledger did not move.

    `refused(app, "not_competent", app.adopt_vision, "text", decision)` answers the raised error.
    """

    def check(app: Governance, code: str, command, *args, **kwargs) -> DomainError:
        head_before = app.ledger_head()[:2]
        with pytest.raises(DomainError) as raised:
            command(*args, **kwargs)
        assert raised.value.code == code, f"expected {code}, got {raised.value.code}: {raised.value}"
        assert app.ledger_head()[:2] == head_before, "a refused command recorded something"
        return raised.value

    return check


def entry_types(app: Governance) -> list[str]:
    return [entry.as_record()["type"] for entry in app.ledger_entries()]


def last_record(app: Governance) -> dict:
    return app.ledger_entries(after=app.ledger_head()[0] - 1)[0].as_record()


@pytest.fixture
def ledger_types():
    """The type of every ledger entry, in order."""
    return entry_types


@pytest.fixture
def last():
    """The newest ledger entry as a record (the export/feed shape)."""
    return last_record


@pytest.fixture
def org(app, by) -> Governance:
    """A tenant with two nämnder, each with its own förvaltning, and BUN's activity areas."""
    app.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF"))
    app.establish_body("BUF", "Barn- och utbildningsförvaltningen", "administration", by("KF"), parent="BUN")
    app.establish_body("SBN", "Samhällsbyggnadsnämnden", "committee", by("KF"))
    app.establish_body("SBF", "Samhällsbyggnadsförvaltningen", "administration", by("KF"), parent="SBN")
    app.establish_body("KLF", "Kommunledningsförvaltningen", "administration", by("KF"), parent="KS")
    app.add_area("BUN", "GRUNDSKOLA", "Grundskola", by("BUN"))
    app.add_area("BUN", "FORSKOLA", "Förskola", by("BUN"))
    app.add_area("BUN", "FRITIDS", "Fritidshem", by("BUN"))
    return app
