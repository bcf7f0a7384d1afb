"""The Swedish browser UI in a real browser: Chromium (Debian's) driven by Playwright against `styrkedja serve`.

One server (embedded SQLite, reports in-process) and one browser serve the whole file. Every page is checked
with axe-core and saved as a full-page screenshot under test-output/browser/. Needs /usr/bin/chromium; without
it the tests are skipped, unless STYRKEDJA_REQUIRE_SERVICES=1 makes that a failure.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest
from browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    SCREENSHOTS,
    AxeLog,
    ledger_position,
    main_text,
    plain,
    run_cli,
    screenshot,
    server_environment,
    start_server,
)

SLUG = "vanersborg"
T = f"/t/{SLUG}"
OTHER = "grannby"
OTHER_EMAIL = "lasare@grannby.example"
OTHER_PASSWORD = "grannbys-eget-langa-losenord"
USERS = {"revisor": "revisor@vanersborg.example", "registrator": "registrator@vanersborg.example",
         "admin": "admin@vanersborg.example", "grannby": OTHER_EMAIL}
GUIDELINE = "Riktlinjer för Vänersborgs kommuns styrning och ledning"
BUN = "Barn- och utbildningsnämnden"
MENU = ["Styrkedjan", "Nämnder", "Tidslinje", "Jämför", "Uppdrag", "Rapporter", "Revision", "Författningssamling",
        "Registrera beslut", "Användare"]
HEADINGS = {"Styrkedjan": "Styrkedjan", "Nämnder": "Nämnder och andra organ", "Tidslinje": "Tidslinje",
            "Jämför": "Jämför vad som gällde vid två datum", "Uppdrag": "Riktade uppdrag", "Rapporter": "Rapporter",
            "Revision": "Revision", "Författningssamling": "Författningssamling",
            "Registrera beslut": "Registrera beslut", "Användare": "Användare"}


# --- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_available() -> str:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import axe_playwright_python  # noqa: F401
            import playwright  # noqa: F401
        except ImportError as error:
            missing = f"Playwright or axe-playwright-python is not installed ({error})"
    if missing:
        if os.environ.get("STYRKEDJA_REQUIRE_SERVICES") == "1":
            pytest.fail(missing + "; STYRKEDJA_REQUIRE_SERVICES=1 makes that a failure", pytrace=False)
        pytest.skip(missing)
    return CHROMIUM


@pytest.fixture(scope="session")
def server(chromium_available, tmp_path_factory):
    """`styrkedja serve` on a free port; the second municipality and its user are made first, over the CLI."""
    folder = tmp_path_factory.mktemp("browser")
    data = folder / "data"
    env = server_environment(data)
    run_cli(env, "tenants", "create", OTHER, "--name", "Grannby kommun", "--municipality-code", "9999")
    run_cli(env, "users", "add", "--tenant", OTHER, "--email", OTHER_EMAIL, "--name", "Lena Läsare",
            "--role", "viewer")
    run_cli(env, "users", "password", "--tenant", OTHER, "--email", OTHER_EMAIL, "--password", OTHER_PASSWORD)
    running = start_server(data, folder / "serve.log")  # builds the demo municipality before it answers
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser(chromium_available):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_available, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_log():
    log = AxeLog()
    yield log
    log.write()


class Visitors:
    """One browser context per visitor, signed in through the form the first time it is asked for."""

    def __init__(self, browser, server) -> None:
        self.browser = browser
        self.server = server
        self.contexts: dict[str, object] = {}

    def new_context(self):
        context = self.browser.new_context(base_url=self.server.base_url, locale="sv-SE",
                                           timezone_id="Europe/Stockholm", accept_downloads=True,
                                           viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        return context

    def page(self, who: str):
        if who not in self.contexts:
            context = self.new_context()
            if who != "anonymous":
                sign_in(context.new_page(), USERS[who],
                        OTHER_PASSWORD if who == "grannby" else self.server.demo_password)
            self.contexts[who] = context
        return self.contexts[who].new_page()

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()


def sign_in(page, email: str, password: str) -> None:
    page.goto("/logga-in")
    page.get_by_label("E-postadress").fill(email)
    page.get_by_label("Lösenord").fill(password)
    page.locator("main").get_by_role("button", name="Logga in").click()
    page.wait_for_load_state()
    assert "/logga-in" not in page.url, main_text(page)
    page.close()


@pytest.fixture(scope="session")
def visitors(browser, server):
    people = Visitors(browser, server)
    yield people
    people.close()


@pytest.fixture
def pages(visitors):
    """Pages opened during a test, closed after it: pages("revisor")."""
    opened = []

    def open_page(who: str):
        page = visitors.page(who)
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        page.close()


def goto(page, path: str, status: int = 200):
    answer = page.goto(path)
    assert answer is not None and answer.status == status, f"{path}: {answer and answer.status}\n{main_text(page)}"
    return answer


def ascii_name(label: str) -> str:
    """"Registrera beslut" -> "registrera-beslut", "Jämför" -> "jamfor": file names without å, ä, ö."""
    return label.lower().translate(str.maketrans("åäö ", "aao-"))


def h1(page) -> str:
    return plain(page.locator("h1").first.inner_text())


def frame_of(page, body_name: str) -> str:
    """The amount in the Styrkedjan page's frame table for a body."""
    row = page.locator("section[aria-labelledby=frames-heading] table tbody tr").filter(
        has=page.get_by_role("link", name=body_name, exact=True))
    return plain(row.locator("td.num").first.inner_text())


def submit_moment(page, as_of: str) -> None:
    form = page.locator("form.moment-form")
    form.get_by_label("Gällande den").fill(as_of)
    with page.expect_navigation():
        form.get_by_role("button", name="Visa").click()
    assert f"as_of={as_of}" in page.url


# --- sign in and the menu ----------------------------------------------------------------------------


def test_sign_in_page_refuses_a_wrong_password_in_swedish(pages, server, axe_log):
    page = pages("anonymous")
    goto(page, "/logga-in")
    assert h1(page) == "Logga in"
    axe_log.assert_clean(page, "logga-in")
    page.get_by_label("E-postadress").fill(USERS["revisor"])
    page.get_by_label("Lösenord").fill("inte-det-riktiga-losenordet")
    page.locator("main").get_by_role("button", name="Logga in").click()
    assert page.get_by_role("alert").inner_text().strip() == "Fel e-postadress eller lösenord."
    assert "/logga-in" in page.url
    axe_log.assert_clean(page, "logga-in-fel")


def test_an_admin_browses_every_page_of_the_menu(pages, axe_log):
    page = pages("admin")
    goto(page, f"{T}/?as_of=2024-09-30")
    menu = page.get_by_role("navigation", name="Huvudmeny")
    assert [plain(t) for t in menu.get_by_role("link").all_inner_texts()] == MENU
    failures = {}
    for number, label in enumerate(MENU, start=1):
        with page.expect_navigation():
            menu.get_by_role("link", name=label, exact=True).click()
        assert h1(page) == HEADINGS[label], page.url
        assert menu.get_by_role("link", name=label, exact=True).get_attribute("aria-current") == "page"
        assert "as_of=2024-09-30" in page.url  # the menu keeps the moment shown
        name = f"{number:02d}-{ascii_name(label)}"
        lines = axe_log.check(page, name)
        if lines:
            failures[name] = lines
    assert not failures, "axe-core violations:\n" + "\n".join(
        f"{name}:\n" + "\n".join(lines) for name, lines in failures.items())


def test_a_body_page_a_document_the_start_page_and_a_missing_page(pages, axe_log):
    page = pages("revisor")
    goto(page, f"{T}/namnder?as_of=2024-09-30")
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name=BUN, exact=True).first.click()
    assert h1(page) == f"{BUN} BUN"
    assert "Ekonomisk ram 2024" in main_text(page)
    axe_log.assert_clean(page, "namnd-bun")

    goto(page, f"{T}/forfattningssamling")
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name=GUIDELINE).click()
    assert h1(page) == GUIDELINE
    axe_log.assert_clean(page, "dokument")

    goto(page, "/")
    assert "Vänersborgs kommun" in main_text(page)
    axe_log.assert_clean(page, "start")

    goto(page, f"{T}/namnd/FINNSINTE", status=404)
    assert h1(page) == "Sidan finns inte"
    axe_log.assert_clean(page, "fel-404")


def test_the_menu_follows_the_role(pages):
    page = pages("revisor")
    goto(page, f"{T}/")
    items = page.get_by_role("navigation", name="Huvudmeny").get_by_role("link").all_inner_texts()
    assert "Revision" in items and "Registrera beslut" not in items and "Användare" not in items
    goto(page, f"{T}/registrera", status=403)
    assert h1(page) == "Behörighet saknas"


# --- the moment shown ---------------------------------------------------------------------------------


def test_changing_as_of_on_styrkedjan_changes_the_frames(pages, axe_log):
    page = pages("revisor")
    goto(page, f"{T}/")
    submit_moment(page, "2023-06-30")
    assert "Ekonomiska ramar 2023" in main_text(page)
    assert frame_of(page, BUN) == "1 105 000 000 kr"
    assert "gällande 30 juni 2023" in plain(page.locator("#moment-summary").inner_text())
    screenshot(page, "styrkedjan-2023")
    submit_moment(page, "2024-06-30")
    assert "Ekonomiska ramar 2024" in main_text(page)
    assert frame_of(page, BUN) == "1 148 000 000 kr"
    axe_log.assert_clean(page, "styrkedjan-2024")
    # The scrubber steps to the previous day on which a decision took effect.
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("Föregående beslutsdag")).click()
    assert re.search(r"as_of=2024-0[1-6]-\d\d", page.url)


def test_changing_as_of_on_the_body_page_shows_the_reallocation(pages):
    page = pages("revisor")
    goto(page, f"{T}/namnd/BUN?as_of=2024-05-15")
    before = main_text(page)
    assert "Inga omdispositioner 2024." in before
    assert "Förskola FORSKOLA 338 000 000 kr – 338 000 000 kr" in before
    submit_moment(page, "2024-09-01")
    after = main_text(page)
    assert "Inga omdispositioner 2024." not in after
    assert "Förskola FORSKOLA 338 000 000 kr −4 500 000 kr 333 500 000 kr" in after
    assert "BUN 2024-08-26 §61 Förskola Grundskola och förskoleklass 4 500 000 kr" in after
    screenshot(page, "namnd-bun-2024-09-01")


# --- keyboard -----------------------------------------------------------------------------------------


def test_the_skip_link_is_the_first_tab_stop_and_leads_to_the_content(pages):
    page = pages("revisor")
    goto(page, f"{T}/namnder?as_of=2024-09-30")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => [document.activeElement.className, document.activeElement.textContent]")
    assert focused == ["skip-link", "Hoppa till innehållet"]
    box = page.locator(".skip-link").bounding_box()
    # Wholly on screen, with room above it for the focus ring.
    assert box and box["x"] > 0 and box["y"] > 0, f"the focused skip link is not wholly on screen: {box}"
    screenshot(page, "hoppa-till-innehallet", full_page=False)
    page.keyboard.press("Enter")
    page.wait_for_url("**#innehall", timeout=5000)  # the fragment navigation lands after the key press returns
    assert page.evaluate("() => document.activeElement.id") == "innehall"
    page.keyboard.press("Tab")  # the next stop is inside the content, past the menu and the moment form
    assert page.evaluate("() => !!document.activeElement.closest('main')")


OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('main *')].filter(el => !el.closest('[role=region]')
      && el.getBoundingClientRect().right > width + 1);
  return [document.documentElement.scrollWidth - width, wide.slice(0, 5).map(el => el.tagName + '#' + el.id)];
}"""


@pytest.mark.parametrize(("who", "path"), [
    ("revisor", f"{T}/?as_of=2024-09-30"), ("revisor", f"{T}/rapporter"), ("revisor", f"{T}/namnd/BUN"),
    ("revisor", f"{T}/tidslinje"), ("revisor", f"{T}/uppdrag"), ("revisor", f"{T}/forfattningssamling"),
    ("revisor", f"{T}/forfattningssamling/RIKTLINJE-STYRNING"),
    ("registrator", f"{T}/registrera?form=omdisposition&organ=BUN")])
def test_a_narrow_screen_needs_no_sideways_scrolling(pages, who, path):
    """WCAG 1.4.10 (reflow): at 320 px only the wide tables scroll, each in its own region."""
    page = pages(who)
    page.set_viewport_size({"width": 320, "height": 800})
    goto(page, path)
    overflow, elements = page.evaluate(OVERFLOWING)
    assert overflow <= 0 and not elements, f"{path} is {overflow} px too wide at 320 px: {elements}"


def test_the_menu_marks_the_section_of_a_page_beneath_it(pages):
    page = pages("revisor")
    goto(page, f"{T}/namnd/BUN")
    menu = page.get_by_role("navigation", name="Huvudmeny")
    assert menu.get_by_role("link", name="Nämnder").get_attribute("aria-current") == "true"
    goto(page, f"{T}/namnder")
    assert menu.get_by_role("link", name="Nämnder").get_attribute("aria-current") == "page"


# --- recording a decision -------------------------------------------------------------------------------


def test_a_registrar_records_a_reallocation_after_a_refusal(pages, axe_log):
    page = pages("registrator")
    goto(page, f"{T}/")
    with page.expect_navigation():
        page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Registrera beslut").click()
    with page.expect_navigation():
        page.get_by_role("navigation", name="Välj vad du vill registrera").get_by_role(
            "link", name="Omdisposition", exact=True).click()
    page.get_by_label("Nämnd").select_option("BUN")
    with page.expect_navigation():
        page.get_by_role("button", name="Fortsätt").click()
    assert "Nämnd: Barn- och utbildningsnämnden (BUN)" in main_text(page)
    axe_log.assert_clean(page, "registrera-omdisposition")
    start, head = ledger_position(page)
    assert start == head

    form = page.locator("form.record-form")
    form.get_by_label("År").fill("2024")
    form.get_by_label("Från verksamhetsområde").select_option("FORSKOLA")
    form.get_by_label("Till verksamhetsområde").select_option("GRUNDSKOLA")
    form.get_by_label("Belopp (kr)").fill("60 000 000")
    form.get_by_label("Skäl").fill("Fler elever i grundskolan än planerat.")
    page.locator("#omdisposition-decision-date").fill("2024-09-23")
    page.locator("#omdisposition-decision-paragraph").fill("§70")
    page.locator("#omdisposition-decision-registry_number").fill("BUN 2024/88")
    with page.expect_navigation():
        form.get_by_role("button", name="Registrera omdispositionen").click()

    # Refused: too large for the nämnd; the reason in Swedish next to the field, nothing recorded.
    assert "Beslutet registrerades inte" in plain(page.get_by_role("alert").inner_text())
    error = plain(page.locator("#omdisposition-amount_sek-error").inner_text())
    assert "kräver beslut av kommunfullmäktige" in error and "57 400 000 kr" in error, error
    amount = page.locator("#omdisposition-amount_sek")
    assert amount.get_attribute("aria-invalid") == "true"
    assert "omdisposition-amount_sek-error" in amount.get_attribute("aria-describedby")
    assert amount.input_value() == "60 000 000"
    assert ledger_position(page) == (start, start), "nothing recorded on a refusal"
    axe_log.assert_clean(page, "registrera-omdisposition-fel")
    # The summary's link leads to the field.
    page.get_by_role("alert").get_by_role("link").first.click()
    assert page.evaluate("() => document.activeElement.id") == "omdisposition-amount_sek"

    amount.fill("2 500 000")
    with page.expect_navigation():
        form.get_by_role("button", name="Registrera omdispositionen").click()
    assert page.url.split("?")[0].endswith(f"{T}/tidslinje")
    assert plain(page.locator(".notice").inner_text()) == f"Beslutet registrerades som position {start + 1}."
    entry = page.locator("li.tl-entry").first
    assert entry.get_attribute("id") == f"pos-{start + 1}"
    text = plain(entry.inner_text())
    assert "Omdisposition – Barn- och utbildningsnämnden · 2024" in text
    assert "Registrerad av Rita Registrator" in text and "BUN 2024/88" in text
    assert "333 500 000 kr" in text and "331 000 000 kr" in text
    assert ledger_position(page) == (start + 1, start + 1)
    axe_log.assert_clean(page, "tidslinje-efter-registrering")


# --- reports --------------------------------------------------------------------------------------------


def test_an_auditor_requests_and_downloads_a_discharge_basis_for_bun_2023(pages, axe_log):
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    page = pages("revisor")
    goto(page, f"{T}/rapporter")
    form = page.locator("form.report-form").filter(has=page.locator("input[name=kind][value=discharge_basis]"))
    form.get_by_label("År").select_option("2023")
    form.get_by_label("Nämnd").select_option("BUN")
    pdf = form.get_by_label("PDF", exact=True)
    if pdf.count():
        pdf.check()
    with page.expect_navigation():
        form.get_by_role("button", name=re.compile("^Beställ ansvarsprövningsunderlag")).click()
    assert re.search(rf"{T}/rapporter/[0-9a-f]{{32}}", page.url), page.url
    assert h1(page) == f"Ansvarsprövningsunderlag 2023 – {BUN}"
    with contextlib.suppress(PlaywrightError):  # the page may be reloading itself just then
        screenshot(page, "rapport-bestalld")
    # The page reloads itself every other second until the report is built.
    expect(page.locator(".report-status-finished")).to_be_visible(timeout=60_000)
    assert "Klar" in main_text(page)
    axe_log.assert_clean(page, "rapport-klar")

    with page.expect_download() as waiting:
        page.get_by_role("link", name=re.compile("^Ladda ned rapporten")).click()
    download = waiting.value
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF"), data[:40]
    assert download.suggested_filename.endswith(".pdf")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "ansvarsprovningsunderlag-bun-2023.pdf").write_bytes(data)

    goto(page, f"{T}/rapporter")
    assert f"Ansvarsprövningsunderlag 2023 – {BUN}" in main_text(page)
    axe_log.assert_clean(page, "rapporter-med-bestallning")


# --- other municipalities and anonymous visitors ---------------------------------------------------------


def test_a_user_of_another_municipality_gets_404(pages, axe_log):
    page = pages("grannby")
    goto(page, f"/t/{OTHER}/")
    assert "Grannby kommun" in page.title()
    axe_log.assert_clean(page, "grannby-styrkedjan")
    for path in ("/", "/namnder", "/namnd/BUN", "/tidslinje", "/jamfor", "/uppdrag", "/rapporter", "/revision",
                 "/registrera", "/admin/anvandare"):
        goto(page, f"{T}{path}", status=404)
        assert h1(page) == "Sidan finns inte", path
        assert "Barn- och utbildningsnämnden" not in page.content()
    screenshot(page, "grannby-404")


def test_an_anonymous_visitor_reads_the_published_statute_book(pages, axe_log):
    page = pages("anonymous")
    goto(page, f"{T}/forfattningssamling")
    assert h1(page) == "Författningssamling"
    text = main_text(page)
    assert GUIDELINE in text
    assert "Logga in för att se även de som bara publiceras på intranätet" in text
    axe_log.assert_clean(page, "forfattningssamling-anonym")
    with page.expect_navigation():
        page.locator("main").get_by_role("link", name=GUIDELINE).click()
    assert h1(page) == GUIDELINE
    assert "Hemsida Ja" in main_text(page)
    axe_log.assert_clean(page, "dokument-anonym")
    # The rest of the municipality is behind sign-in.
    goto(page, f"{T}/namnder")
    assert "/logga-in?next=" in page.url and h1(page) == "Logga in"
