"""Browser UI: Tidslinje, Jämför and Registrera beslut, through Flask's test client on the demo municipality."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from domain.errors import EarmarkViolationError, InvalidCommandError, NeedsCouncilDecisionError, NotCompetentError
from web import create_app
from web.cli import DEMO_SLUG, ensure_demo
from web.ops import COMMANDS
from web.ui.record_forms import domain_message
from web.ui.signin import hash_password

REGISTRAR = "registrator@vanersborg.example"
AUDITOR = "revisor@vanersborg.example"
REPORTER_BUN = "sekreterare.bun@vanersborg.example"
VIEWER = "lasare@vanersborg.example"
TIMELINE = f"/t/{DEMO_SLUG}/tidslinje"
COMPARE = f"/t/{DEMO_SLUG}/jamfor"
RECORD = f"/t/{DEMO_SLUG}/registrera"
REALLOCATION = RECORD + "?form=omdisposition&organ=BUN"


def _config(data: Path) -> dict:
    return {"DATA_DIR": str(data), "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory) -> Path:
    """The demo municipality built once (closed, ready to copy), with a viewer besides the demo users."""
    data = tmp_path_factory.mktemp("ui-demo") / "data"
    app = create_app(_config(data))
    tenants = app.extensions["styrkedja"]
    try:
        ensure_demo(tenants)
        viewer, _ = tenants.platform.add_user(DEMO_SLUG, VIEWER, "Lars Läsare", "viewer", [])
        tenants.platform.set_password(viewer.id, hash_password(_password(data)))
    finally:
        tenants.close()
    return data


def _password(data: Path) -> str:
    return re.search(r"lösenord för alla: (\S+)", (data / "demo-inloggning.txt").read_text(encoding="utf-8")).group(1)


@pytest.fixture
def app(demo_data, tmp_path):
    """A private copy of the demo municipality, for tests that record."""
    target = tmp_path / "data"
    shutil.copytree(demo_data, target)
    flask_app = create_app(_config(target))
    yield flask_app
    flask_app.extensions["styrkedja"].close()


def sign_in(app, email: str):
    client = app.test_client()
    answer = client.post("/logga-in", data={"email": email, "password": _password(Path(app.config["DATA_DIR"]))})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client


def head(app) -> int:
    return app.extensions["styrkedja"].get(DEMO_SLUG).ledger_head()[0]


def text_of(html: str) -> str:
    """The visible text of the page's main content, whitespace collapsed (no-break spaces kept as spaces)."""
    main = html.split("<main", 1)[-1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).replace("\u00a0", " ")


def entry_positions(html: str) -> list[int]:
    return [int(p) for p in re.findall(r'<li class="tl-entry[^"]*" id="pos-(\d+)"', html)]


def entry_html(html: str, position: int) -> str:
    start = html.index(f'id="pos-{position}"')
    end = html.find('<li class="tl-entry', start)
    return html[start:end if end > 0 else len(html)]


REALLOCATION_FORM = {
    "form": "omdisposition", "year": "2024", "from_area": "FORSKOLA", "to_area": "GRUNDSKOLA",
    "reason": "Fler elever i grundskolan än planerat.", "decision.body": "BUN", "decision.date": "2024-09-23",
    "decision.paragraph": "§70", "decision.registry_number": "BUN 2024/88",
}


# --- Tidslinje -----------------------------------------------------------------------------------


def test_timeline_pages_newest_first_and_keeps_the_moment(app):
    client = sign_in(app, REGISTRAR)
    first = client.get(TIMELINE + "?as_of=2024-06-01")
    assert first.status_code == 200
    html = first.get_data(as_text=True)
    positions = entry_positions(html)
    assert len(positions) == 25
    assert positions == sorted(positions, reverse=True) and positions[0] == head(app)
    older = re.search(r'<a rel="next" href="([^"]+)">Äldre händelser</a>', html)
    assert older, "a link to older entries"
    link = older.group(1).replace("&amp;", "&")
    assert "as_of=2024-06-01" in link and f"cursor={positions[-1]}" in link
    second = client.get(link).get_data(as_text=True)
    assert entry_positions(second) == list(range(positions[-1] - 1, positions[-1] - 26, -1))
    assert "Till de senaste händelserna" in second


def test_timeline_filters_by_body_kind_and_period(app):
    client = sign_in(app, REGISTRAR)
    html = client.get(TIMELINE + "?organ=BUN&typ=FrameSet").get_data(as_text=True)
    text = text_of(html)
    assert len(entry_positions(html)) == 3  # BUN's frames 2022, 2023, 2024
    assert text.count("Ekonomisk ram fastställd –") == 3
    assert "Barn- och utbildningsnämnden · 2024" in text and "1 148 000 000 kr" in text
    assert "Inga äldre händelser" in text
    # Each entry: organ, date, paragraph, registry number, who recorded it, and its hash.
    assert "Organ Kommunfullmäktige (KF)" in text
    assert "21 juni 2023" in text and "§98" in text and "Diarienummer" in text
    assert "Registrerad av demo (exempeldata)" in text
    assert re.search(r'<code class="hash" title="[0-9a-f]{64}">[0-9a-f]{12}…</code>', html)

    html = client.get(TIMELINE + "?typ=BudgetReallocated&fran=2024-08-01&till=2024-08-31").get_data(as_text=True)
    assert len(entry_positions(html)) == 1
    assert "Budget för FORSKOLA" in text_of(html) and "338 000 000 kr" in text_of(html)
    html = client.get(TIMELINE + "?typ=BudgetReallocated&fran=2024-09-01").get_data(as_text=True)
    assert entry_positions(html) == []

    bad = client.get(TIMELINE + "?fran=2024-13-01&typ=Nonsense").get_data(as_text=True)
    assert "Ange datumet som ÅÅÅÅ-MM-DD." in bad and 'aria-invalid="true"' in bad
    assert "Beslutsdatum från: Ange datumet som ÅÅÅÅ-MM-DD." in text_of(bad)  # the summary names the field
    assert len(entry_positions(bad)) == 25  # the bad filters are not applied


def test_retracted_entry_is_struck_through_with_its_retraction(app):
    views = app.extensions["styrkedja"].views(DEMO_SLUG)
    views.catch_up()
    (retraction,), _ = views.timeline(type_="EventRetracted")
    retracted = retraction["data"]["retracted_position"]
    client = sign_in(app, REGISTRAR)
    html = client.get(TIMELINE + f"?cursor={retraction['position'] + 1}").get_data(as_text=True)
    entry = entry_html(html, retracted)
    assert "tl-retracted" in html.split(f'id="pos-{retracted}"')[0][-40:]
    assert "<del>" in entry
    assert f"Återkallad genom position {retraction['position']}" in text_of(entry).replace(" :", ":")
    assert "felregistrering" in text_of(entry)
    # The retraction itself points back at what it retracted.
    assert f"Återkallar registreringen på position {retracted}" in text_of(entry_html(html, retraction["position"]))
    # Seen as the records stood before the retraction, the entry is not struck through.
    (original,), _ = views.timeline(cursor=retracted + 1, limit=1)
    known_at = quote(original["recorded_at"])
    before = client.get(TIMELINE + f"?known_at={known_at}").get_data(as_text=True)
    assert entry_positions(before)[0] == retracted
    assert "<del>" not in entry_html(before, retracted) and "Återkallad" not in text_of(entry_html(before, retracted))


# --- Jämför --------------------------------------------------------------------------------------


def test_compare_shows_a_frame_change_between_two_dates(app):
    client = sign_in(app, REGISTRAR)
    text = text_of(client.get(COMPARE + "?from=2023-12-31&to=2024-01-01").get_data(as_text=True))
    assert "Ekonomiska ramar" in text and "Målvärden" in text
    assert "Tillkommit Barn- och utbildningsnämnden · 2024" in text and "1 148 000 000 kr" in text
    assert "Beslut: Kommunfullmäktige, 21 juni 2023, §98" in text

    # KF raises BUN's 2024 frame from March: the comparison shows before → after and the decision.
    answer = client.post(RECORD + "?form=ram", data={
        "form": "ram", "plan": "MRP2024", "body": "BUN", "year": "2024", "amount_sek": "1 160 000 000",
        "earmarks.0.purpose": "Lovskola och läxhjälp", "earmarks.0.amount_sek": "4000000",
        "decision.body": "KF", "decision.date": "2024-02-21", "decision.paragraph": "§21",
        "decision.effective_from": "2024-03-01"})
    assert answer.status_code == 303, text_of(answer.get_data(as_text=True))
    html = client.get(COMPARE + "?from=2024-02-01&to=2024-04-01").get_data(as_text=True)
    text = text_of(html)
    assert "Ändrat Barn- och utbildningsnämnden · 2024" in text
    assert "före: 1 148 000 000 kr → efter: 1 160 000 000 kr" in text
    assert "Beslut: Kommunfullmäktige, 21 februari 2024, §21 (gäller från 1 mars 2024)" in text
    assert f"#pos-{head(app)}" in html


def test_compare_defaults_to_the_year_of_the_moment(app):
    client = sign_in(app, REGISTRAR)
    html = client.get(COMPARE + "?as_of=2024-12-31").get_data(as_text=True)
    assert 'value="2024-01-01"' in html and 'value="2024-12-31"' in html
    assert "Omdispositioner" in text_of(html)
    # An added item reads in the order of the act, areas by name, amounts without a doubled "kr".
    assert ("Från verksamhetsområde: Förskola (FORSKOLA) · Till verksamhetsområde: Grundskola och förskoleklass "
            "(GRUNDSKOLA) · Belopp: 4 500 000 kr · Skäl: ") in text_of(html).replace("\u00a0", " ")
    bad = client.get(COMPARE + "?from=2024-05-01&to=2024-01-01").get_data(as_text=True)
    assert "Till-datumet kan inte vara före från-datumet." in bad
    assert "Till och med: Till-datumet kan inte vara före från-datumet." in text_of(bad)  # the summary names it


# --- Registrera beslut ---------------------------------------------------------------------------


def test_reallocation_refused_in_swedish_then_recorded(app):
    client = sign_in(app, REGISTRAR)
    start = head(app)
    counted = COMMANDS.labels(DEMO_SLUG, "reallocate")
    counted_before = counted._value.get()
    refused = client.post(REALLOCATION, data={**REALLOCATION_FORM, "amount_sek": "60 000 000"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    text = text_of(html)
    assert "Beslutet registrerades inte" in text
    assert "kräver beslut av kommunfullmäktige" in text and "57 400 000 kr" in text
    assert '<a href="#omdisposition-amount_sek">' in html
    field = re.search(r'<input[^>]*id="omdisposition-amount_sek"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field and "omdisposition-amount_sek-error" in field
    assert 'value="60 000 000"' in field  # what was typed is kept
    assert head(app) == start, "nothing recorded on a refusal"

    recorded = client.post(REALLOCATION, data={**REALLOCATION_FORM, "amount_sek": "2 500 000"})
    assert recorded.status_code == 303
    assert head(app) == start + 1
    assert counted._value.get() == counted_before + 1  # the metric counts the browser's decision, not the refusal
    assert recorded.headers["Location"].endswith(TIMELINE)
    page = client.get(recorded.headers["Location"]).get_data(as_text=True)
    assert f"Beslutet registrerades som position {start + 1}." in text_of(page)
    assert entry_positions(page)[0] == start + 1
    entry = text_of(entry_html(page, start + 1))
    assert "Omdisposition – Barn- och utbildningsnämnden · 2024" in entry
    assert "Registrerad av Rita Registrator" in entry and "BUN 2024/88" in entry
    assert "före: 333 500 000 kr → efter: 331 000 000 kr" in entry


def test_schema_errors_are_shown_per_field_and_nothing_is_recorded(app):
    client = sign_in(app, REGISTRAR)
    start = head(app)
    answer = client.post(REALLOCATION, data={**REALLOCATION_FORM, "amount_sek": "fyra miljoner",
                                             "decision.date": "2024-02-30", "decision.paragraph": "", "reason": ""})
    assert answer.status_code == 400
    html = answer.get_data(as_text=True)
    text = text_of(html)
    assert "Ange ett belopp i hela kronor, t.ex. 4 500 000." in text.replace("\u00a0", " ")
    assert "Ange ett datum som ÅÅÅÅ-MM-DD" in text
    assert "Ange paragrafen i protokollet" in text and "Fyll i skäl." in text
    for field in ("amount_sek", "decision-date", "decision-paragraph", "reason"):
        assert f'<a href="#omdisposition-{field}">' in html
    assert head(app) == start


def test_a_body_that_may_not_decide_is_refused(app):
    client = sign_in(app, REGISTRAR)
    start = head(app)
    answer = client.post(RECORD + "?form=malvarde", data={
        "form": "malvarde", "goal": "IM2", "indicator": "N15419", "year": "2025", "value": "77,5",
        "decision.body": "KS", "decision.date": "2024-06-05", "decision.paragraph": "§113"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "Organet får inte fatta detta beslut" in text_of(html)
    assert '<a href="#malvarde-decision-body">' in html
    assert head(app) == start
    ok = client.post(RECORD + "?form=malvarde", data={
        "form": "malvarde", "goal": "IM2", "indicator": "N15419", "year": "2025", "value": "77,5",
        "decision.body": "KF", "decision.date": "2024-06-19", "decision.paragraph": "§96"})
    assert ok.status_code == 303 and head(app) == start + 1
    entry = text_of(entry_html(client.get(ok.headers["Location"]).get_data(as_text=True), start + 1))
    assert "Målvärde fastställt – IM2 · N15419 · 2025" in entry and "före: 78 → efter: 77,5" in entry


def test_a_repeated_submission_records_once(app):
    client = sign_in(app, REGISTRAR)
    start = head(app)
    form = {**REALLOCATION_FORM, "amount_sek": "1000000", "idempotency_key": "8f0c6c1e3a1b4d5c"}
    for _ in range(2):  # e.g. the browser's back button and the form sent again
        answer = client.post(REALLOCATION, data=form)
        assert answer.status_code == 303
        page = text_of(client.get(answer.headers["Location"]).get_data(as_text=True))
        assert f"Beslutet registrerades som position {start + 1}." in page
    assert head(app) == start + 1


@pytest.mark.parametrize("email", [AUDITOR, VIEWER])
def test_readers_get_403_on_the_record_page(app, email):
    client = sign_in(app, email)
    start = head(app)
    assert client.get(RECORD).status_code == 403
    assert client.get(RECORD + "?form=uppfoljning&organ=BUN").status_code == 403
    assert client.post(REALLOCATION, data={**REALLOCATION_FORM, "amount_sek": "1000"}).status_code == 403
    assert head(app) == start
    assert 'href="/t/vanersborg/registrera' not in client.get(TIMELINE).get_data(as_text=True)


def test_reporter_records_follow_up_for_its_body_only(app):
    client = sign_in(app, REPORTER_BUN)
    start = head(app)
    page = client.get(RECORD)
    assert page.status_code == 200
    text = text_of(page.get_data(as_text=True))
    assert "Registrera uppföljning" in text and "Barn- och utbildningsnämnden (BUN)" in text
    assert "Omdisposition" not in text and "Ekonomisk ram" not in text
    assert client.get(RECORD + "?form=ram").status_code == 403
    report = {"form": "uppfoljning", "period": "2024-11", "outcome_sek": "1 050 000 000",
              "forecast_sek": "1 147 000 000", "reported_on": "2024-12-12"}
    refused = client.post(RECORD + "?form=uppfoljning&organ=SN", data=report)
    assert refused.status_code == 403
    assert "Du får inte registrera för Socialnämnden (SN)." in text_of(refused.get_data(as_text=True))
    assert head(app) == start
    recorded = client.post(RECORD + "?form=uppfoljning&organ=BUN", data=report)
    assert recorded.status_code == 303 and head(app) == start + 1
    page = client.get(recorded.headers["Location"]).get_data(as_text=True)
    assert f"Uppföljningen registrerades som position {start + 1}." in text_of(page)
    assert "Registrerad av Sara Sekreterare (BUN)" in text_of(entry_html(page, start + 1))


def test_domain_messages_are_swedish_with_their_field():
    message, field = domain_message(NeedsCouncilDecisionError(
        "Moving 60000000 kr exceeds 5 % of the frame (57400000 kr): a larger change needs a decision of "
        "Kommunfullmäktige."))
    assert field == "amount_sek" and "60\u00a0000\u00a0000\u00a0kr" in message and "kommunfullmäktige" in message
    message, field = domain_message(NeedsCouncilDecisionError(
        "Moving 30000000 kr brings BUN's own reallocations in 2024 to 70000000 kr, over 5 % of the frame "
        "(57400000 kr): a larger change needs a decision of Kommunfullmäktige."))
    assert field == "amount_sek"
    assert message == ("Omdispositionen är för stor för nämnden: med den blir nämndens egna omdispositioner 2024 "
                       "sammanlagt 70\u00a0000\u00a0000\u00a0kr, mer än 5 % av ramen (57\u00a0400\u00a0000\u00a0kr). "
                       "En så stor förändring kräver beslut av kommunfullmäktige.")
    message, field = domain_message(NotCompetentError("Only Kommunfullmäktige may fix a målvärde; KS may not."))
    assert message.startswith("Organet får inte fatta detta beslut") and field == "decision.body"
    message, field = domain_message(EarmarkViolationError("The earmarked parts exceed the line's amount.",
                                                          "earmarks"))
    assert "särskilda ändamål" in message.lower() and field == "earmarks.0.amount_sek"
    message, field = domain_message(InvalidCommandError("A follow-up cannot be reported in the future.",
                                                        "reported_on"))
    assert "framtiden" in message and field == "reported_on"
    message, field = domain_message(InvalidCommandError(
        "A follow-up of 2026-T1 cannot be reported before 2026-01-01, when the period begins.", "reported_on"))
    assert (message, field) == ("Rapporterat den kan inte vara före 2026-01-01, då perioden 2026-T1 börjar.",
                                "reported_on")
    message, field = domain_message(InvalidCommandError("The purpose 'Lovskola' is earmarked twice.",
                                                        "earmarks.1.purpose"))
    assert "”Lovskola” står två gånger" in message and field == "earmarks.1.purpose"
    message, field = domain_message(NotCompetentError(
        "SBN may not withdraw an uppdrag given to BUN: only Kommunfullmäktige, or a nämnd for its own förvaltning, "
        "may."))
    assert "SBN får inte återkalla uppdrag till BUN" in message and field == "decision.body"
    message, _ = domain_message(NotCompetentError("Uppdrag U1 was issued by KF; BUN may not revise it."))
    assert "BUN får inte ändra det" in message


def test_record_times_read_in_swedish_time_summer_and_winter():
    from web.ui.filters import tidpunkt

    assert tidpunkt("2026-12-06T15:32:00.120000+00:00") == "6 december 2026 kl. 16:32"
    assert tidpunkt("2026-07-01T22:30:00+00:00") == "2 juli 2026 kl. 00:30"


def test_form_messages_fit_the_field_they_are_about():
    from web.ui.record_forms import FORMS_BY_SLUG, validation_message

    def field(slug: str, name: str):
        return FORMS_BY_SLUG[slug].field(name)

    target_year = field("malvarde", "year")
    assert validation_message("Not a valid integer.", target_year, "År") == \
        "Ange ett årtal med fyra siffror, t.ex. 2025."
    amount = field("omdisposition", "amount_sek")
    assert validation_message("Not a valid integer.", amount, "Belopp") == \
        "Ange ett belopp i hela kronor, t.ex. 4 500 000."
    assert validation_message("Must be greater than or equal to 0 and less than or equal to 1000000000000000.",
                              amount, "Belopp").replace("\u00a0", " ") == \
        "Ange ett värde från 0 kr till 1 000 000 000 000 000 kr."
    assert validation_message("Not a number.", field("malvarde", "value"), "Målvärde") == \
        "Ange ett tal, t.ex. 85 eller 7,5."
    follow_up = FORMS_BY_SLUG["uppfoljning"]
    assert validation_message("Missing data for required field.", follow_up.field("reported_on"),
                              "Rapporterat den") == "Ange vilket datum uppföljningen rapporterades."
    forecast = follow_up.field("forecast_sek")
    assert validation_message("Missing data for required field.", forecast, forecast.label) == \
        "Fyll i prognos för helåret."
