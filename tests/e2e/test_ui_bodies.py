"""Browser pages Nämnder, Nämnd, Uppdrag and Författningssamling over Flask's test client, on the demo municipality."""

from __future__ import annotations

import re
from html import unescape

import pytest

from web import create_app
from web.cli import DEMO_SLUG, ensure_demo

T = f"/t/{DEMO_SLUG}"
OTHER = "grannby"
OTHER_EMAIL = "lasare@grannby.example"
GUIDELINE = "Riktlinjer för Vänersborgs kommuns styrning och ledning"
INTRANET_DOC = "Personalpolicy (exempel, endast intranät)"


def text(response) -> str:
    """The page as text a reader sees: tags out, entities decoded, no-break spaces as spaces, blanks collapsed."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    plain = unescape(re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ")
    return re.sub(r"\s+", " ", plain)


def headings(response, level: int) -> list[str]:
    html = response.get_data(as_text=True)
    found = re.findall(rf"<h{level}\b[^>]*>(.*?)</h{level}>", html, flags=re.S)
    return [re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", h)).replace("\u00a0", " ")).strip() for h in found]


def sign_in(client, email: str, password: str) -> None:
    response = client.post("/logga-in", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo municipality, an intranet-only document, and a second municipality with a user of its own."""
    from domain.context import current_actor
    from web.demo import meeting
    from web.ui.signin import hash_password

    data = tmp_path_factory.mktemp("ui-bodies") / "data"
    app = create_app({"DATA_DIR": str(data), "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    tenants = app.extensions["styrkedja"]
    ensure_demo(tenants)
    password = (data / "demo-inloggning.txt").read_text(encoding="utf-8").split("lösenord för alla: ")[1].split()[0]
    token = current_actor.set("test")
    try:
        tenants.get(DEMO_SLUG).adopt_document(
            "POLICY-EXEMPEL", meeting("KF", "2023-09-20", "§120", registry_number="KS 2023/55"), type="policy",
            name=INTRANET_DOC, owner="Kommunstyrelseförvaltningen", responsible="HR-chef",
            validity="Tills vidare", follow_up="En gång per mandatperiod", subject="Personal",
            published=["intranet"], description="Exempeldata", related=[])
    finally:
        current_actor.reset(token)
    tenants.create(OTHER, "Grannby kommun", "1488")
    user, _ = tenants.platform.add_user(OTHER, OTHER_EMAIL, "Lena Läsare", "viewer", [])
    tenants.platform.set_password(user.id, hash_password(password))
    yield app, password
    tenants.close()


@pytest.fixture(scope="module")
def member(site):
    app, password = site
    client = app.test_client()
    sign_in(client, "revisor@vanersborg.example", password)
    return client


@pytest.fixture
def anonymous(site):
    return site[0].test_client()


@pytest.fixture(scope="module")
def stranger(site):
    """Signed in to the other municipality only."""
    app, password = site
    client = app.test_client()
    sign_in(client, OTHER_EMAIL, password)
    return client


# --- Nämnder --------------------------------------------------------------------------------------


def test_body_list_flags_the_forecast_over_the_frame_until_a_measure_is_decided(member):
    before = member.get(f"{T}/namnder?as_of=2024-05-15&year=2024")
    assert before.status_code == 200
    assert headings(before, 1) == ["Nämnder och andra organ"]
    page = text(before)
    assert "Barn- och utbildningsnämnden" in page and "1 148 000 000 kr" in page
    assert "Prognosen överskrider ramen 2024" in headings(before, 2)
    assert "Socialnämnden : prognos 1 036 000 000 kr mot ram 1 022 000 000 kr" in page
    assert "Åtgärd saknas" in page

    after = text(member.get(f"{T}/namnder?as_of=2024-06-01&year=2024"))
    assert "Åtgärd beslutad" in after and "Åtgärd saknas" not in after


def test_body_list_answers_a_bad_year_with_a_note(member):
    response = member.get(f"{T}/namnder?as_of=2024-05-15&year=tjugo")
    assert response.status_code == 200
    assert "Ange året med fyra siffror" in text(response)


# --- Nämnd ----------------------------------------------------------------------------------------


def test_body_page_shows_frame_budget_follow_up_and_discharge_for_bun_in_may(member):
    response = member.get(f"{T}/namnd/BUN?as_of=2024-05-15")
    assert response.status_code == 200
    assert headings(response, 1) == ["Barn- och utbildningsnämnden BUN"]
    level2 = headings(response, 2)
    for heading in ("Ekonomisk ram 2024", "Verksamhetsplan med detaljbudget 2024", "Ekonomisk uppföljning 2024",
                    "Beslutade åtgärder", "Uppdrag", "Resultat och målvärden", "Revision och ansvarsprövning"):
        assert heading in level2
    page = text(response)
    assert "Ram enligt mål- och resursplan 1 148 000 000 kr (KF 2023-06-21 §98, MRP2024)" in page
    assert "Lovskola och läxhjälp: 4 000 000 kr" in page
    # The detailed budget as adopted, before any omdisposition.
    assert "Förskola FORSKOLA 338 000 000 kr – 338 000 000 kr" in page
    assert "Inga omdispositioner 2024." in page
    # The latest follow-up in May is T1: forecast 1 147 500 000 kr against the frame.
    assert "T1 2024 (jan–apr) 14 maj 2024 382 500 000 kr 1 147 500 000 kr 1 148 000 000 kr +500 000 kr Inom ramen" \
        in page
    assert "T2 2024" not in page
    assert "Prognosen överskrider ramen" not in page
    # Uppdrag to the nämnd and the one it gave its förvaltning, with status.
    assert "Utveckla övergången mellan grundskola och gymnasieskola" in page
    assert "Kartlägga förskolans lokalbehov 2025–2030" in page
    # Resultat with målvärden and outcome, audit report and discharge.
    assert "Fler elever i åk 9 är behöriga till gymnasiets yrkesprogram" in page
    assert "83,9 % (Helår 2023, hela kommunen)" in page
    assert "2023 28 mars 2024 Tillstyrker ansvarsfrihet" in page and "Beviljad" in page
    # Charts carry Swedish text alternatives, with their numbers in tables too.
    html = response.get_data(as_text=True)
    assert 'role="img"' in html and "<title id=\"ram-diagram-title\">Ekonomisk ram per år" in html
    assert "Diagrammets värden som tabell" in page
    assert "style=" not in html


def test_body_page_figures_differ_at_a_later_date(member):
    response = member.get(f"{T}/namnd/BUN?as_of=2024-09-30")
    assert response.status_code == 200
    page = text(response)
    # The omdisposition of 2024-08-26 has moved 4,5 mnkr from förskola to grundskola.
    assert "Förskola FORSKOLA 338 000 000 kr −4 500 000 kr 333 500 000 kr" in page
    assert "Grundskola och förskoleklass GRUNDSKOLA 585 000 000 kr +4 500 000 kr 589 500 000 kr" in page
    assert "BUN 2024-08-26 §61 Förskola Grundskola och förskoleklass 4 500 000 kr" in page
    assert "T2 2024 (jan–aug) 13 september 2024 764 700 000 kr 1 147 000 000 kr" in page
    # Links keep the moment shown.
    assert "as_of=2024-09-30" in response.get_data(as_text=True)


def test_body_page_flags_missing_measure_and_then_the_measure(member):
    may = member.get(f"{T}/namnd/SN?as_of=2024-05-15")
    page = text(may)
    assert "Prognosen överskrider ramen" in headings(may, 2)
    assert "Åtgärd saknas" in page and "14 000 000 kr över ramen" in page
    june = text(member.get(f"{T}/namnd/SN?as_of=2024-06-01"))
    assert "Åtgärd beslutad SN 2024-05-21 §71" in june and "Åtgärd saknas" not in june
    assert "14 500 000 kr" in june


def test_body_page_year_selector_shows_an_earlier_year_with_its_adjustment(member):
    response = member.get(f"{T}/namnd/BUN?as_of=2024-09-30&year=2022")
    assert response.status_code == 200
    page = text(response)
    assert "Ekonomisk ram 2022" in headings(response, 2)
    assert "KF 2022-04-13 §48 +3 900 000 kr Tilläggsanslag 3,9 mnkr" in page
    assert "Ram efter justeringar 1 065 900 000 kr" in page
    assert 'aria-current="true" class="current">2022<' in response.get_data(as_text=True)


def test_unknown_body_is_404(member):
    response = member.get(f"{T}/namnd/FINNSINTE")
    assert response.status_code == 404
    assert "Sidan finns inte" in text(response)


def test_body_pages_need_sign_in(anonymous):
    for path in (f"{T}/namnd/BUN", f"{T}/namnder", f"{T}/uppdrag"):
        response = anonymous.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/logga-in")


def test_user_of_another_municipality_gets_404(stranger):
    for path in (f"{T}/namnd/BUN", f"{T}/namnder", f"{T}/uppdrag"):
        assert stranger.get(path).status_code == 404
    assert stranger.get(f"/t/{OTHER}/namnder").status_code == 200


# --- Uppdrag --------------------------------------------------------------------------------------


def test_assignments_list_every_uppdrag_with_its_history(member):
    response = member.get(f"{T}/uppdrag?as_of=2024-09-30")
    assert response.status_code == 200
    assert headings(response, 1) == ["Riktade uppdrag"]
    page = text(response)
    for code in ("U2023-01", "U2023-02", "U2023-03", "U2024-01", "BUN-U2024-01"):
        assert code in page
    assert "Plan för laddinfrastruktur vid kommunens verksamhetslokaler U2023-02" in headings(response, 2)
    # The revision of U2023-02 and its withdrawn sibling.
    assert "21 juni 2023 Uppdrag reviderat" in page and "Redovisas senast: 30 juni 2024" in page
    assert "Återkallat" in page and "Skäl för återkallelse" in page
    assert "Genomfört (T1 2024 (jan–apr))" in page


def test_assignments_filter_by_body_and_state(member):
    page = text(member.get(f"{T}/uppdrag?as_of=2024-09-30&body=SBN"))
    assert "Visar 1 av 5 uppdrag som rör Samhällsbyggnadsnämnden" in page
    assert "U2023-02" in page and "U2024-01" not in page
    withdrawn = text(member.get(f"{T}/uppdrag?as_of=2024-09-30&state=withdrawn"))
    assert "Visar 1 av 5 uppdrag" in withdrawn and "U2023-03" in withdrawn and "U2023-01" not in withdrawn
    # Before the revision the due date was the original one, and the withdrawal had not happened.
    early = text(member.get(f"{T}/uppdrag?as_of=2023-03-01"))
    assert "31 december 2023" in early and "Uppdrag reviderat" not in early and "Återkallat" not in early


# --- Författningssamling --------------------------------------------------------------------------


def test_statute_book_is_public_for_website_documents(anonymous):
    response = anonymous.get(f"{T}/forfattningssamling")
    assert response.status_code == 200
    assert headings(response, 1) == ["Författningssamling"]
    page = text(response)
    assert GUIDELINE in page
    assert "2023-06-21 §104 Kommunfullmäktige KS 2021/432" in page
    assert INTRANET_DOC not in page
    assert "Logga in för att se även de som bara publiceras på intranätet" in page

    detail = anonymous.get(f"{T}/forfattningssamling/RIKTLINJE-STYRNING")
    assert detail.status_code == 200
    metadata = text(detail)
    for label, value in (("Dokumenttyp", "Riktlinjer"), ("Antagen", "2023-06-21 §104"),
                         ("Antagen av", "Kommunfullmäktige"), ("Dokumentägare", "Kommunstyrelseförvaltningen"),
                         ("Dokumentansvarig", "Kommundirektör"), ("Giltighet", "Tills vidare"),
                         ("Diarienummer", "KS 2021/432"), ("Uppföljning", "En gång per mandatperiod"),
                         ("Ämnesområde", "Kommunfullmäktiges regler"), ("Intranät", "Nej"), ("Hemsida", "Ja")):
        assert f"{label} {value}" in metadata
    assert "Andra regelverk som omnämns Mål- och resursplan, vision, riktlinjer för styrande dokument" in metadata

    hidden = anonymous.get(f"{T}/forfattningssamling/POLICY-EXEMPEL")
    assert hidden.status_code == 302 and hidden.headers["Location"].startswith("/logga-in")
    assert anonymous.get(f"{T}/forfattningssamling/FINNSINTE").status_code == 404


def test_statute_book_shows_every_document_to_members(member):
    page = text(member.get(f"{T}/forfattningssamling"))
    assert GUIDELINE in page and INTRANET_DOC in page
    assert member.get(f"{T}/forfattningssamling/POLICY-EXEMPEL").status_code == 200
    # Before the guideline was adopted it is not in the statute book.
    assert GUIDELINE not in text(member.get(f"{T}/forfattningssamling?as_of=2023-01-01"))
