"""`styrkedja restore`: a tenant recreated from its export answers as the original did; bad exports are refused."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from integration_support import by

from domain.base import UNLEDGERED_EVENTS, GovernedAggregate
from domain.restore import KINDS, RestoreRefusedError, event_classes
from domain.stores import StoreConfig
from projections.export import export_lines
from projections.restore import restore
from projections.tenants import Tenants
from web import create_app
from web.cli import main
from web.demo import build_demo

SLUG = "vanersborg"


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """The demo municipality, built by its commands in an embedded store, and its export."""
    tenants = Tenants(StoreConfig(data_dir=tmp_path_factory.mktemp("original")))
    tenants.create(SLUG, "Vänersborgs kommun", "1487", {"reallocation_council_threshold_percent": 4})
    app = tenants.get(SLUG)
    build_demo(app)
    # A retraction, so the restore must find the retracted entry's aggregate by its position.
    wrong = app.establish_body("TEMP", "Tillfällig beredning", "council_committee", by("KF", dt.date(2024, 2, 1)))
    app.retract(wrong["event_id"], "Felregistrerad.")
    lines = list(export_lines(app, about=tenants.platform.find_tenant(SLUG)))
    yield tenants, lines
    tenants.close()


def reader(tenants: Tenants):
    """A viewer's HTTP client on the given store."""
    flask_app = create_app({"TENANTS": tenants, "TESTING": True})
    user = tenants.platform.user_by_email(SLUG, "lasare@example.se")
    if user is None:
        _, token = tenants.platform.add_user(SLUG, "lasare@example.se", "Läsare", "viewer", [])
    else:
        token = tenants.platform.rotate_token(user.id)
    client = flask_app.test_client()

    def get(path: str):
        answer = client.get(f"/api/v1/t/{SLUG}{path}", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()
    return get


def all_events(get) -> list[dict]:
    events, after = [], 0
    while True:
        page = get(f"/events?after={after}&limit=1000")
        events += page
        if len(page) < 1000:
            return events
        after = page[-1]["position"]


def moments(lines: list[str]) -> list[tuple[str, str]]:
    """25 (as_of, known_at) points across the demo's decision years and its record times."""
    records = [json.loads(line) for line in lines[1:]]
    step = max(1, len(records) // 5)
    known = [records[i]["recorded_at"] for i in range(0, len(records), step)][:5]
    as_ofs = ["2022-06-30", "2023-01-01", "2023-12-31", "2024-07-01", "2025-12-31"]
    return [(a, k) for a in as_ofs for k in known]


def test_every_aggregate_with_ledgered_events_has_a_kind_the_restore_knows():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ledgered = {cls for cls in subclasses(GovernedAggregate)
                if any(name not in UNLEDGERED_EVENTS and name != "EventRetracted" for name in event_classes(cls))
                and not cls.__name__.startswith("_") and cls.__subclasses__() == []}
    assert ledgered <= set(KINDS), ledgered - set(KINDS)


def test_a_restored_tenant_answers_exactly_as_the_original(original, store_config):
    source, lines = original
    target = Tenants(store_config)
    try:
        restored = restore(target, lines)
        assert restored.resumed is False
        before, after = reader(source), reader(target)
        assert after("/ledger") == before("/ledger")
        assert after("/ledger")["head_position"] == json.loads(lines[0])["head_position"]
        assert all_events(after) == all_events(before)
        assert after("/ledger/verify") == {"ok": True, "checked": restored.head_position, "first_bad_position": None}
        points = moments(lines)
        assert len(points) >= 20
        for as_of, known_at in points:
            query = f"/state?as_of={as_of}&known_at={known_at.replace('+', '%2B')}"
            assert after(query) == before(query), (as_of, known_at)
        assert after("/state") == before("/state")
        tenant = target.platform.find_tenant(SLUG)
        assert (tenant.name, tenant.municipality_code, tenant.settings) == (
            "Vänersborgs kommun", "1487", {"reallocation_council_threshold_percent": 4})
    finally:
        target.close()


def test_a_command_after_a_restore_takes_the_next_position_and_chains_on(original, store_config):
    _, lines = original
    header = json.loads(lines[0])
    target = Tenants(store_config)
    try:
        restore(target, lines)
        app = target.get(SLUG)
        # The rules see the restored state: BUN exists, a second BUN is refused.
        with pytest.raises(Exception, match="BUN"):
            app.establish_body("BUN", "Dubblett", "committee", by("KF", dt.date(2024, 5, 2)))
        answer = app.add_area("BUN", "NYTT", "Nytt område", by("BUN", dt.date(2024, 5, 2)))
        assert answer["position"] == header["head_position"] + 1
        assert app.entry_at(answer["position"]).prev_hash == header["head_hash"]
        # A restored entry can itself be retracted: its aggregate was found again.
        restored_entry = json.loads(lines[5])
        retraction = app.retract(restored_entry["id"], "Prov efter återläsning.")
        assert retraction["position"] == header["head_position"] + 2
        assert app.verify_ledger().ok
    finally:
        target.close()


def tampered(lines: list[str], index: int) -> list[str]:
    record = json.loads(lines[index])
    record["recorded_by"] = "mallory"
    return [*lines[:index], json.dumps(record, ensure_ascii=False, sort_keys=True), *lines[index + 1:]]


def test_a_tampered_export_is_refused_naming_the_position_and_nothing_is_written(original, store_config):
    _, lines = original
    target = Tenants(store_config)
    try:
        with pytest.raises(RestoreRefusedError) as refused:
            restore(target, tampered(lines, 40))
        assert refused.value.position == 40
        assert "position 40" in refused.value.message
        assert target.platform.find_tenant(SLUG) is None
        assert not (store_config.data_dir / f"{SLUG}.sqlite").exists()
    finally:
        target.close()


def test_restoring_over_an_existing_tenant_is_refused_and_changes_nothing(original, store_config):
    _, lines = original
    target = Tenants(store_config)
    try:
        target.create(SLUG, "Vänersborgs kommun", "1487")
        head = target.get(SLUG).ledger_head()
        with pytest.raises(RestoreRefusedError, match="exists already"):
            restore(target, lines)
        assert target.get(SLUG).ledger_head() == head
    finally:
        target.close()


def test_a_restore_interrupted_before_listing_leaves_no_tenant_and_finishes_when_run_again(
        original, store_config, monkeypatch):
    _, lines = original
    target = Tenants(store_config)
    try:
        def crash(*args, **kwargs):
            raise KeyboardInterrupt("killed")
        with monkeypatch.context() as patch:
            patch.setattr(target.platform, "create_tenant", crash)
            with pytest.raises(KeyboardInterrupt):
                restore(target, lines)
        assert target.platform.find_tenant(SLUG) is None
        again = restore(target, lines)
        assert again.resumed is True
        assert target.get(SLUG).ledger_head()[:2] == (again.head_position, again.head_hash)
    finally:
        target.close()


def test_the_command_line_restores_into_the_configured_store_and_says_users_must_be_added(
        original, tmp_path, monkeypatch, capsys):
    _, lines = original
    export = tmp_path / "export.jsonl"
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv("STYRKEDJA_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["restore", str(export)]) == 0
    out = capsys.readouterr().out
    assert json.loads(lines[0])["head_hash"] in out
    assert "styrkedja users add" in out
    assert main(["restore", str(export)]) == 1
    assert "exists already" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(tampered(lines, 7)) + "\n", encoding="utf-8")
    monkeypatch.setenv("STYRKEDJA_DATA_DIR", str(tmp_path / "other"))
    assert main(["restore", str(bad)]) == 1
    assert "position 7" in capsys.readouterr().err
    assert not (tmp_path / "other" / f"{SLUG}.sqlite").exists()


def test_the_command_line_export_names_the_municipality_in_its_header(original, tmp_path, monkeypatch, capsys):
    source, _ = original
    monkeypatch.setenv("STYRKEDJA_DATA_DIR", str(source.config.data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["export", "--tenant", SLUG]) == 0
    header = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (header["tenant"], header["name"], header["municipality_code"]) == (SLUG, "Vänersborgs kommun", "1487")


def test_an_export_whose_header_names_no_municipality_needs_its_name_and_code(original, tmp_path):
    source, _ = original
    bare = list(export_lines(source.get(SLUG)))  # as a ledger_export report writes it
    target = Tenants(StoreConfig(data_dir=tmp_path))
    try:
        with pytest.raises(RestoreRefusedError, match="municipality code"):
            restore(target, bare)
        assert target.platform.find_tenant(SLUG) is None
        restored = restore(target, bare, name="Vänersborgs kommun", municipality_code="1487")
        assert restored.head_position == json.loads(bare[0])["head_position"]
    finally:
        target.close()


def test_an_export_cannot_be_restored_under_another_name(original, tmp_path):
    _, lines = original
    target = Tenants(StoreConfig(data_dir=tmp_path))
    try:
        with pytest.raises(RestoreRefusedError, match="cannot become grannby"):
            restore(target, lines, slug="grannby")
        assert target.platform.tenants() == []
    finally:
        target.close()


def rechained(lines: list[str], index: int, change) -> list[str]:
    """A forged export whose chain still verifies: one record changed, every hash after it recomputed."""
    from domain.ledger import canonical_json, chain_hash

    header, records = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    change(records[index - 1])
    prev = records[index - 2]["hash"] if index > 1 else "0" * 64
    for record in records[index - 1:]:
        record["prev_hash"] = prev
        content = {k: v for k, v in record.items() if k not in ("prev_hash", "hash")}
        record["hash"] = prev = chain_hash(prev, canonical_json(content))
    header["head_hash"] = prev
    return [json.dumps(header)] + [json.dumps(r, ensure_ascii=False) for r in records]


@pytest.mark.parametrize("change", [
    lambda r: r.update(type="SomethingNewer"),
    lambda r: r["data"].update(unexpected="field"),
], ids=["unknown type", "content the domain would not record"])
def test_a_re_chained_export_the_domain_cannot_rebuild_is_refused_with_its_position(original, tmp_path, change):
    _, lines = original
    forged = rechained(lines, 30, change)
    target = Tenants(StoreConfig(data_dir=tmp_path))
    try:
        with pytest.raises(RestoreRefusedError, match="position 30") as refused:
            restore(target, forged)
        assert refused.value.position == 30
        assert target.platform.tenants() == []
    finally:
        target.close()
