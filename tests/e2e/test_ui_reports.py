"""The browser pages Rapporter, Revision and Användare, through Flask's test client on the embedded default.

The demo municipality (web.cli.ensure_demo) with its demo users signs in by e-mail and password; reports run
in-process. A second municipality, Grannkommunen, has one user who must see nothing of Vänersborg.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest

from domain.ledger import Verification
from web import create_app
from web.cli import ensure_demo
from web.ui.signin import hash_password

SLUG = "vanersborg"
OTHER = "grannkommun"
USERS = {"registrar": "registrator@vanersborg.example", "auditor": "revisor@vanersborg.example",
         "reporter": "sekreterare.bun@vanersborg.example", "admin": "admin@vanersborg.example",
         "other": "admin@grannkommun.example"}
OTHER_PASSWORD = "grannkommunens-eget-losenord"
DISCHARGE_BUN_2023 = {"kind": "discharge_basis", "year": "2023", "body": "BUN", "format": "pdf"}
BASE = f"/t/{SLUG}"
UNAVAILABLE = "Rapporttjänsten är inte tillgänglig just nu; försök igen om en stund."


def _config(data: Path, **extra) -> dict:
    return {"DATA_DIR": str(data), "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "REDIS_URL": None,
            "DATABASE_URL": None, **extra}


class Site:
    """The app, the demo password, and one signed-in test client per user (made on first use)."""

    def __init__(self, app, data: Path) -> None:
        self.app = app
        self.data = data
        text = (data / "demo-inloggning.txt").read_text(encoding="utf-8")
        self.password = text.splitlines()[0].rsplit(": ", 1)[1].strip()
        self._clients: dict[str, object] = {}

    def sign_in(self, email: str, password: str | None = None, app=None):
        client = (app or self.app).test_client()
        answer = client.post("/logga-in", data={"email": email, "password": password or self.password})
        assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
        return client

    def client(self, who: str):
        if who not in self._clients:
            password = OTHER_PASSWORD if who == "other" else None
            self._clients[who] = self.sign_in(USERS[who], password)
        return self._clients[who]

    @property
    def tenants(self):
        return self.app.extensions["styrkedja"]

    @property
    def store(self):
        return self.app.extensions["styrkedja_reports"]["store"]

    def wait_idle(self) -> None:
        self.app.extensions["styrkedja_reports"]["queue"].wait_idle()

    def manifests(self) -> set[str]:
        folder = self.store.root / SLUG
        return {p.name for p in folder.glob("*.json")} if folder.exists() else set()

    def head(self) -> tuple[int, str]:
        position, hash_, _ = self.tenants.get(SLUG).ledger_head()
        return position, hash_


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data = tmp_path_factory.mktemp("ui-reports") / "data"
    app = create_app(_config(data))
    tenants = app.extensions["styrkedja"]
    ensure_demo(tenants)
    tenants.create(OTHER, "Grannkommunen", "1488")
    user, _ = tenants.platform.add_user(OTHER, USERS["other"], "Gun Grann", "admin", [])
    tenants.platform.set_password(user.id, hash_password(OTHER_PASSWORD))
    yield Site(app, data)
    app.extensions["styrkedja_reports"]["queue"].wait_idle()
    tenants.close()


def report_id_of(answer) -> str:
    match = re.fullmatch(rf"{BASE}/rapporter/([0-9a-f]{{32}})", answer.headers["Location"].split("?")[0])
    assert match, answer.headers["Location"]
    return match.group(1)


def text(answer) -> str:
    return answer.get_data(as_text=True)


# --- Rapporter ----------------------------------------------------------------------------------


def test_an_auditor_requests_a_discharge_basis_for_bun_2023_and_downloads_the_pdf(site):
    client = site.client("auditor")
    page = client.get(f"{BASE}/rapporter")
    assert page.status_code == 200
    assert 'name="kind" value="discharge_basis"' in text(page)
    position, head_hash = site.head()

    answer = client.post(f"{BASE}/rapporter", data=DISCHARGE_BUN_2023)
    assert answer.status_code == 303  # post, redirect, get
    rid = report_id_of(answer)
    status = client.get(answer.headers["Location"])
    assert status.status_code == 200
    assert "Ansvarsprövningsunderlag 2023 – Barn- och utbildningsnämnden" in text(status)
    assert "<progress" in text(status)

    site.wait_idle()
    finished = client.get(f"{BASE}/rapporter/{rid}")
    body = text(finished)
    assert "Klar" in body
    assert "data-refresh-seconds" not in body
    assert f"<dd>{position}</dd>" in body
    assert head_hash in body
    assert f'href="{BASE}/rapporter/{rid}/fil"' in body

    download = client.get(f"{BASE}/rapporter/{rid}/fil")
    assert download.status_code == 200
    assert download.mimetype == "application/pdf"
    data = download.get_data()
    assert data.startswith(b"%PDF")
    assert download.headers["X-Content-SHA256"] == hashlib.sha256(data).hexdigest()
    assert f"{SLUG}-discharge_basis-BUN-2023-{position}.pdf" in download.headers["Content-Disposition"]
    manifest = site.store.manifest(SLUG, rid)
    assert manifest["based_on"] == {"position": position, "hash": head_hash}
    assert manifest["sha256"] in body

    listing = text(client.get(f"{BASE}/rapporter"))
    assert f'href="{BASE}/rapporter/{rid}"' in listing
    assert "Ansvarsprövningsunderlag 2023 – Barn- och utbildningsnämnden" in listing


def test_the_same_request_from_the_browser_and_the_api_is_one_report(site):
    """The API and the page share workers/requests.py: the same request at the same position is the same id."""
    token = site.tenants.platform.rotate_token(site.tenants.platform.user_by_email(SLUG, USERS["auditor"]).id)
    api = site.app.test_client().post(f"/api/v1/t/{SLUG}/reports", headers={"Authorization": f"Bearer {token}"},
                                      json={"kind": "annual", "year": 2023, "format": "html"})
    assert api.status_code == 202, api.get_json()
    page = site.client("auditor").post(f"{BASE}/rapporter", data={"kind": "annual", "year": "2023",
                                                                    "format": "html"})
    assert page.status_code == 303
    assert report_id_of(page) == api.get_json()["id"]
    site.wait_idle()


def test_a_request_at_an_earlier_moment_builds_on_that_moment(site):
    client = site.client("auditor")
    answer = client.post(f"{BASE}/rapporter?as_of=2024-06-30&known_at=2000-01-01T00:00",
                         data={"kind": "ledger_export", "format": "jsonl"})
    assert answer.status_code == 303
    assert "as_of=2024-06-30" in answer.headers["Location"]
    manifest = site.store.manifest(SLUG, report_id_of(answer))
    assert manifest["as_of"] == "2024-06-30"
    assert manifest["known_at"] == "2000-01-01T00:00:00+01:00"  # a time typed without zone is Swedish time
    assert manifest["based_on"]["position"] == 0  # nothing was recorded by then
    site.wait_idle()


def test_a_queued_report_refreshes_itself_and_offers_an_update_link(site):
    rid = "queued" + "0" * 26
    site.store.save_manifest(SLUG, rid, {"id": rid, "status": "queued", "progress": 0, "kind": "interim",
                                         "format": "pdf", "year": 2024, "period": "T1", "as_of": "2024-04-30",
                                         "known_at": None, "based_on": {"position": 1}})
    client = site.client("registrar")
    body = text(client.get(f"{BASE}/rapporter/{rid}"))
    assert 'data-refresh-seconds="2"' in body
    assert f'href="{BASE}/rapporter/{rid}">Uppdatera</a>' in body
    assert "I kö" in body
    assert re.search(r'<progress[^>]*value="0"[^>]*>0 %</progress>', body)
    not_ready = client.get(f"{BASE}/rapporter/{rid}/fil")
    assert not_ready.status_code == 302
    assert not_ready.headers["Location"].endswith(f"/rapporter/{rid}")


def test_a_form_with_a_missing_choice_is_answered_in_swedish_and_queues_nothing(site):
    before = site.manifests()
    answer = site.client("auditor").post(f"{BASE}/rapporter", data={"kind": "discharge_basis", "year": "2023",
                                                                     "format": "pdf"})
    assert answer.status_code == 400
    assert "Välj den nämnd underlaget gäller." in text(answer)
    answer = site.client("auditor").post(f"{BASE}/rapporter", data={**DISCHARGE_BUN_2023, "body": "NOSUCH"})
    assert answer.status_code == 400
    assert "Det finns ingen sådan nämnd" in text(answer)
    answer = site.client("auditor").post(f"{BASE}/rapporter", data={"kind": "ledger_export", "format": "pdf"})
    assert answer.status_code == 400
    assert site.manifests() == before


def test_a_registrar_neither_sees_nor_may_request_a_discharge_basis(site):
    client = site.client("registrar")
    page = text(client.get(f"{BASE}/rapporter"))
    assert 'value="discharge_basis"' not in page
    assert "Ansvarsprövningsunderlag" not in page
    before = site.manifests()
    assert client.post(f"{BASE}/rapporter", data=DISCHARGE_BUN_2023).status_code == 403
    assert site.manifests() == before
    # nor open one an auditor requested
    rid = report_id_of(site.client("auditor").post(f"{BASE}/rapporter", data=DISCHARGE_BUN_2023))
    assert client.get(f"{BASE}/rapporter/{rid}").status_code == 403
    assert client.get(f"{BASE}/rapporter/{rid}/fil").status_code == 403
    # while the other kinds are for everyone
    answer = client.post(f"{BASE}/rapporter", data={"kind": "interim", "year": "2024", "period": "T2",
                                                     "format": "html"})
    assert answer.status_code == 303
    site.wait_idle()


def test_with_redis_down_the_page_says_so_in_swedish_and_nothing_is_queued(site):
    # A second app on the same data, its queue on a port where no Redis listens.
    down = create_app(_config(site.data, REDIS_URL="redis://127.0.0.1:1/0"))
    try:
        client = site.sign_in(USERS["auditor"], app=down)
        before = site.manifests()
        answer = client.post(f"{BASE}/rapporter", data={"kind": "annual", "year": "2022", "format": "csv"})
        assert answer.status_code == 503
        assert UNAVAILABLE in text(answer)
        assert site.manifests() == before
    finally:
        down.extensions["styrkedja"].close()


# --- Revision -----------------------------------------------------------------------------------


def test_the_audit_page_shows_the_ledger_head_and_the_discharge_of_each_body(site):
    page = site.client("auditor").get(f"{BASE}/revision?ar=2023")
    assert page.status_code == 200
    body = text(page)
    position, head_hash = site.head()
    assert f"<dd>{position}</dd>" in body
    assert head_hash in body
    assert "Ansvarsprövning 2023" in body
    row = re.search(r'<th scope="row"><a href="[^"]*/namnd/BUN[^"]*">.*?</tr>', body, re.S).group(0)
    assert "Tillstyrker ansvarsfrihet" in row
    assert "Beviljad" in row
    assert 'name="body" value="BUN"' in row and 'name="year" value="2023"' in row


def test_verification_of_an_intact_ledger_shows_ok(site):
    answer = site.client("auditor").post(f"{BASE}/revision/verifiera")
    assert answer.status_code == 200
    position, _ = site.head()
    assert "Händelseloggen är hel." in text(answer)
    assert f"Alla {position} poster" in text(answer)


def test_a_broken_ledger_is_reported_with_its_position_and_reason_in_swedish(site, monkeypatch):
    app = site.tenants.get(SLUG)
    monkeypatch.setattr(app, "verify_ledger",
                        lambda: Verification(False, 9, 10, "the hash does not match the content"))
    body = text(site.client("admin").post(f"{BASE}/revision/verifiera"))
    assert "Händelseloggen är bruten vid position 10:" in body
    assert "kontrollsumman stämmer inte med innehållet" in body


def test_a_discharge_basis_button_on_the_audit_page_requests_the_pdf(site):
    answer = site.client("auditor").post(f"{BASE}/rapporter", data={"kind": "discharge_basis", "body": "SN",
                                                                     "year": "2023", "format": "pdf"})
    assert answer.status_code == 303
    site.wait_idle()
    assert site.store.manifest(SLUG, report_id_of(answer))["status"] == "finished"
    assert "Senast beställda" in text(site.client("auditor").get(f"{BASE}/revision?ar=2023"))


@pytest.mark.parametrize("who", ["registrar", "reporter"])
def test_the_audit_page_is_for_auditors_and_admins(site, who):
    assert site.client(who).get(f"{BASE}/revision").status_code == 403
    assert site.client(who).post(f"{BASE}/revision/verifiera").status_code == 403


# --- Användare ----------------------------------------------------------------------------------


def test_an_admin_sees_the_users_and_adds_one_who_can_then_sign_in(site):
    client = site.client("admin")
    page = text(client.get(f"{BASE}/admin/anvandare"))
    for email in ("registrator@vanersborg.example", "revisor@vanersborg.example", "admin@vanersborg.example"):
        assert email in page
    assert USERS["other"] not in page
    answer = client.post(f"{BASE}/admin/anvandare", data={
        "email": "Nina.Ny@Vanersborg.example", "name": "Nina Ny", "role": "reporter", "bodies": ["BUN", "SN"],
        "password": "ett-riktigt-langt-losenord", "password_repeat": "ett-riktigt-langt-losenord"})
    assert answer.status_code == 303
    assert "Nina Ny (nina.ny@vanersborg.example) har lagts till" in text(client.get(answer.headers["Location"]))
    user = site.tenants.platform.user_by_email(SLUG, "nina.ny@vanersborg.example")
    assert (user.role, user.bodies, user.active) == ("reporter", ["BUN", "SN"], True)
    assert user.password_hash.startswith("$argon2")
    nina = site.sign_in("nina.ny@vanersborg.example", "ett-riktigt-langt-losenord")
    assert "Nina Ny" in text(nina.get(f"{BASE}/rapporter"))


@pytest.mark.parametrize(("form", "message"), [
    ({"password": "elva-tecken", "password_repeat": "elva-tecken"}, "minst 12 tecken"),
    ({"password_repeat": "ett-annat-losenord"}, "Lösenorden är inte likadana."),
    ({"email": "inte-en-adress"}, "Ange en giltig e-postadress"),
    ({"role": "superuser"}, "Välj en roll."),
    ({"bodies": ["NOSUCH"]}, "Välj bara organ i listan."),
    ({"email": "revisor@vanersborg.example"}, "Det finns redan en användare med den e-postadressen"),
])
def test_a_user_that_cannot_be_added_is_explained_and_not_added(site, form, message):
    before = [u.email for u in site.tenants.platform.users_of(SLUG)]
    data = {"email": "ny@vanersborg.example", "name": "Ny Person", "role": "viewer",
            "password": "ett-riktigt-langt-losenord", "password_repeat": "ett-riktigt-langt-losenord", **form}
    answer = site.client("admin").post(f"{BASE}/admin/anvandare", data=data)
    assert answer.status_code == 400
    assert message in text(answer)
    assert [u.email for u in site.tenants.platform.users_of(SLUG)] == before


def test_an_admin_sets_a_password_rotates_a_token_and_deactivates_a_user(site):
    platform = site.tenants.platform
    user, _ = platform.add_user(SLUG, "tillfallig@vanersborg.example", "Tove Tillfällig", "viewer", [])
    client = site.client("admin")
    base = f"{BASE}/admin/anvandare/{user.id}"

    assert client.post(f"{base}/losenord", data={"password": "kort"}).status_code == 400
    answer = client.post(f"{base}/losenord", data={"password": "tove-har-ett-nytt-losenord"})
    assert answer.status_code == 303
    tove = site.sign_in("tillfallig@vanersborg.example", "tove-har-ett-nytt-losenord")
    assert tove.get(f"{BASE}/rapporter").status_code == 200

    shown = client.post(f"{base}/api-nyckel")
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code class="token" id="new-token">(sk_[^<]+)</code>', text(shown)).group(1)
    api = site.app.test_client()
    assert api.get(f"/api/v1/t/{SLUG}/ledger", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert token not in text(client.get(f"{BASE}/admin/anvandare"))  # shown once

    unconfirmed = client.post(f"{base}/inaktivera")
    assert unconfirmed.status_code == 400 and platform.user(user.id).active
    assert "Kryssa i rutan för att bekräfta att Tove Tillfällig ska inaktiveras." in text(unconfirmed)
    assert client.post(f"{base}/inaktivera", data={"confirm": "ja"}).status_code == 303
    assert not platform.user(user.id).active
    # Her open session ends with her access (web/ui/context.py answers 404 rather than sending her to sign in).
    assert tove.get(f"{BASE}/rapporter").status_code in (302, 404)
    refused = site.app.test_client().post("/logga-in", data={"email": "tillfallig@vanersborg.example",
                                                             "password": "tove-har-ett-nytt-losenord"})
    assert refused.status_code == 400
    assert api.get(f"/api/v1/t/{SLUG}/ledger", headers={"Authorization": f"Bearer {token}"}).status_code == 401

    # A deactivation by mistake is undone: her password and key work again.
    assert client.post(f"{base}/aktivera").status_code == 303
    assert platform.user(user.id).active
    assert site.sign_in("tillfallig@vanersborg.example", "tove-har-ett-nytt-losenord").get(
        f"{BASE}/rapporter").status_code == 200
    assert api.get(f"/api/v1/t/{SLUG}/ledger", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    # The trail says what the administrator did to her access, and that the administrator did it.
    admin = platform.user_by_email(SLUG, USERS["admin"])
    trail = site.app.extensions["styrkedja_access"].audit.page(SLUG)
    done = [(e.kind, e.actor_id) for e in trail if e.user_id == str(user.id) and e.actor_id]
    assert done[:4] == [("user_reactivated", str(admin.id)), ("user_deactivated", str(admin.id)),
                        ("token_rotated", str(admin.id)), ("password_set", str(admin.id))]
    page = text(client.get(f"{BASE}/admin/anvandare"))
    assert "Användare inaktiverad" in page and "Användare aktiverad igen" in page and "Lösenord satt" in page


def test_an_admin_cannot_deactivate_themself(site):
    me = site.tenants.platform.user_by_email(SLUG, USERS["admin"])
    answer = site.client("admin").post(f"{BASE}/admin/anvandare/{me.id}/inaktivera")
    assert answer.status_code == 400
    assert "Du kan inte inaktivera dig själv." in text(answer)
    assert site.tenants.platform.user(me.id).active


@pytest.mark.parametrize("who", ["registrar", "auditor", "reporter"])
def test_a_non_admin_gets_403_on_the_users_page(site, who):
    client = site.client(who)
    assert client.get(f"{BASE}/admin/anvandare").status_code == 403
    before = len(site.tenants.platform.users_of(SLUG))
    answer = client.post(f"{BASE}/admin/anvandare", data={
        "email": "smyg@vanersborg.example", "name": "Smyg", "role": "admin",
        "password": "ett-riktigt-langt-losenord", "password_repeat": "ett-riktigt-langt-losenord"})
    assert answer.status_code == 403
    assert len(site.tenants.platform.users_of(SLUG)) == before
    me = site.tenants.platform.user_by_email(SLUG, USERS[who])
    assert client.post(f"{BASE}/admin/anvandare/{me.id}/api-nyckel").status_code == 403


def test_the_users_menu_item_is_for_admins_only(site):
    assert f'href="{BASE}/admin/anvandare"' in text(site.client("admin").get(f"{BASE}/rapporter"))
    assert f'href="{BASE}/admin/anvandare"' not in text(site.client("auditor").get(f"{BASE}/rapporter"))


def test_an_admin_of_vanersborg_cannot_touch_a_user_of_another_municipality(site):
    other = site.tenants.platform.user_by_email(OTHER, USERS["other"])
    client = site.client("admin")
    for action in ("losenord", "api-nyckel", "inaktivera"):
        answer = client.post(f"{BASE}/admin/anvandare/{other.id}/{action}", data={"password": "x" * 20})
        assert answer.status_code == 404, action
    assert client.post(f"{BASE}/admin/anvandare/not-a-uuid/losenord").status_code == 404
    assert site.tenants.platform.user(other.id).active


# --- other municipalities and anonymous visitors --------------------------------------------------


def test_a_user_of_another_municipality_gets_404_on_every_page(site):
    rid = report_id_of(site.client("auditor").post(f"{BASE}/rapporter", data=DISCHARGE_BUN_2023))
    client = site.client("other")
    for path in ("/rapporter", f"/rapporter/{rid}", f"/rapporter/{rid}/fil", "/revision", "/admin/anvandare"):
        assert client.get(f"{BASE}{path}").status_code == 404, path
    for path in ("/rapporter", "/revision/verifiera", "/admin/anvandare"):
        assert client.post(f"{BASE}{path}", data=DISCHARGE_BUN_2023).status_code == 404, path
    # and its own rapporter page lists nothing of Vänersborg
    assert rid not in text(client.get(f"/t/{OTHER}/rapporter"))


def test_an_anonymous_visitor_is_sent_to_sign_in(site):
    anonymous = site.app.test_client()
    for path in ("/rapporter", "/revision", "/admin/anvandare"):
        answer = anonymous.get(f"{BASE}{path}")
        assert answer.status_code == 302
        assert "/logga-in" in answer.headers["Location"]


def test_an_unknown_report_is_404(site):
    client = site.client("auditor")
    for rid in ("0" * 32, "not-an-id"):
        assert client.get(f"{BASE}/rapporter/{rid}").status_code == 404
        assert client.get(f"{BASE}/rapporter/{rid}/fil").status_code == 404


def test_reports_are_listed_newest_first(site):
    client = site.client("auditor")
    first = report_id_of(client.post(f"{BASE}/rapporter", data={"kind": "annual", "year": "2022",
                                                                 "format": "pdf"}))
    time.sleep(1.1)  # requested_at has whole seconds
    second = report_id_of(client.post(f"{BASE}/rapporter", data={"kind": "interim", "year": "2023",
                                                                  "period": "T2", "format": "csv"}))
    listing = text(client.get(f"{BASE}/rapporter"))
    assert listing.index(second) < listing.index(first)
    site.wait_idle()
