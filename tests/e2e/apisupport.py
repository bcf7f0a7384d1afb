"""Helpers of the HTTP tests: decision objects, a client that speaks as a named user, and the built municipality."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

PREFIX = "/api/v1"
SLUG = "kommun"
OTHER_SLUG = "grannkommun"
MISSING_SLUG = "ingenkommun"
MEETING = "2023-11-20"

# The users of the built municipality, by the name the tests use for them.
USERS: dict[str, dict] = {
    "admin": {"role": "admin", "bodies": []},
    "registrar": {"role": "registrar", "bodies": []},
    "registrar_bun": {"role": "registrar", "bodies": ["BUN"]},
    "reporter_bun": {"role": "reporter", "bodies": ["BUN"]},
    "auditor": {"role": "auditor", "bodies": []},
    "viewer": {"role": "viewer", "bodies": []},
}


def decision(body: str, date: str = MEETING, paragraph: str | None = "§150", **extra: Any) -> dict:
    """A meeting decision as the API takes it: `decision("KF")`, `decision("BUN", "2024-03-18", "§30")`."""
    out: dict[str, Any] = {"body": body, "date": date}
    if paragraph is not None:
        out["paragraph"] = paragraph
    out.update(extra)
    return out


def tomorrow() -> str:
    return (dt.date.today() + dt.timedelta(days=1)).isoformat()


class Api:
    """The Flask test client, speaking as one of the municipality's users (or with any token)."""

    def __init__(self, flask_app, world: World, admin_token: str):
        self.app = flask_app
        self.client = flask_app.test_client()
        self.tokens = world.tokens
        self.user_ids = world.user_ids
        self.ids = world.ids
        self.admin_token = admin_token

    # --- raw requests ------------------------------------------------------------------------

    def headers(self, who: str | None, extra: dict | None = None) -> dict:
        headers = dict(extra or {})
        if who is not None:
            token = self.admin_token if who == "platform_admin" else self.tokens.get(who, who)
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def post(self, path: str, body: Any = None, who: str | None = "registrar", slug: str = SLUG,
             headers: dict | None = None, **kwargs):
        url = path if path.startswith(PREFIX) else f"{PREFIX}/t/{slug}{path}"
        if body is not None:
            kwargs["json"] = body
        return self.client.post(url, headers=self.headers(who, headers), **kwargs)

    def get(self, path: str, who: str | None = "admin", slug: str = SLUG, **kwargs):
        url = path if path.startswith(PREFIX) else f"{PREFIX}/t/{slug}{path}"
        return self.client.get(url, headers=self.headers(who), **kwargs)

    # --- the ledger ----------------------------------------------------------------------------

    def head(self, slug: str = SLUG, who: str = "admin") -> dict:
        answer = self.get("/ledger", who=who, slug=slug)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def events(self, after: int = 0, limit: int = 100, slug: str = SLUG, who: str = "admin") -> list[dict]:
        answer = self.get(f"/events?after={after}&limit={limit}", who=who, slug=slug)
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    def event_at(self, position: int) -> dict:
        [event] = self.events(after=position - 1, limit=1)
        return event

    # --- answers -------------------------------------------------------------------------------

    def recorded(self, path: str, body: Any, who: str = "registrar", headers: dict | None = None) -> dict:
        """Send a command that must be recorded; answer its 201 body."""
        answer = self.post(path, body, who=who, headers=headers)
        assert answer.status_code == 201, f"{path}: {answer.status_code} {answer.get_json()}"
        return answer.get_json()

    def refused(self, status: int, path: str, body: Any = None, who: str | None = "registrar",
                slug: str = SLUG, headers: dict | None = None, **kwargs) -> dict:
        """Send a command that must be refused with `status`; check that neither ledger moved; answer the body."""
        before = {s: self.head(s, who=owner) for s, owner in ((SLUG, "admin"), (OTHER_SLUG, "other_admin"))}
        answer = self.post(path, body, who=who, slug=slug, headers=headers, **kwargs)
        payload = answer.get_json()
        assert answer.status_code == status, f"{path}: expected {status}, got {answer.status_code} {payload}"
        after = {s: self.head(s, who=owner) for s, owner in ((SLUG, "admin"), (OTHER_SLUG, "other_admin"))}
        assert after == before, f"a refused request moved a ledger: {before} -> {after}"
        return payload


def error_code(payload: dict) -> str:
    assert set(payload) == {"error"}, payload
    assert set(payload["error"]) >= {"code", "message"}, payload
    return payload["error"]["code"]


def field_errors(payload: dict, *path: str) -> list[str]:
    """The messages marshmallow gave the field at `path` of a 400 answer (`"decision", "paragraph"`)."""
    assert set(payload) == {"errors"}, payload
    node: Any = payload["errors"]
    for key in path:
        assert isinstance(node, dict) and key in node, f"no error for {'.'.join(path)} in {json.dumps(payload)}"
        node = node[key]
    assert isinstance(node, list) and node and all(isinstance(m, str) for m in node), node
    return node


# --- the built municipality ------------------------------------------------------------------


@dataclass
class World:
    """Tokens and event ids of the municipality every command test starts from."""

    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)


def build_world(flask_app, admin_token: str) -> World:
    """Build, over HTTP, a municipality in which every command can succeed and every rule can be broken.

    kommun: KF, KS; BUN (nämnd) with förvaltning BUF and areas GRUNDSKOLA, FORSKOLA; SBN (nämnd).
    Documents D1 (in force, by KS) and D-OLD (repealed). Term 2023-2026, indicator N15, goal IM1 with a
    målvärde, BUN's result BUN-R1. Uppdrag U1 (to BUN), U-SBN (to SBN), U-OLD (withdrawn).
    MRP2024 with BUN's frames: 2024 adopted (earmark Lärarlöner 100 000), 2025 balanced but not adopted,
    2026 balanced but its earmark unallocated. The auditors' report on BUN 2024. A retracted measure.
    grannkommun: its own administrator, nothing else.
    """
    world = World()
    client = flask_app.test_client()
    platform = {"Authorization": f"Bearer {admin_token}"}

    def must(answer) -> dict:
        assert answer.status_code in (200, 201), (answer.request.path, answer.status_code, answer.get_json())
        return answer.get_json()

    def add_user(slug: str, name: str, role: str, bodies: list[str], headers: dict) -> None:
        answer = must(client.post(f"{PREFIX}/t/{slug}/users", headers=headers, json={
            "email": f"{name.replace('_', '.')}@{slug}.se", "name": name, "role": role, "bodies": bodies}))
        world.tokens[name] = answer["token"]
        world.user_ids[name] = answer["id"]

    for slug, name, code in ((SLUG, "Kommunen", "1487"), (OTHER_SLUG, "Grannkommunen", "1488")):
        must(client.post(f"{PREFIX}/tenants", headers=platform,
                         json={"slug": slug, "name": name, "municipality_code": code}))
    add_user(SLUG, "admin", "admin", [], platform)
    add_user(OTHER_SLUG, "other_admin", "admin", [], platform)
    world.ids["foreign_event"] = must(client.get(f"{PREFIX}/t/{OTHER_SLUG}/events?limit=1", headers={
        "Authorization": f"Bearer {world.tokens['other_admin']}"}))[0]["id"]

    admin = {"Authorization": f"Bearer {world.tokens['admin']}"}

    def record(path: str, body: dict, headers: dict = admin) -> str:
        return must(client.post(f"{PREFIX}/t/{SLUG}{path}", json=body, headers=headers))["event_id"]

    kf, bun = decision("KF"), decision("BUN")
    record("/bodies", {"code": "BUN", "name": "Barn- och utbildningsnämnden", "kind": "committee", "decision": kf})
    record("/bodies", {"code": "BUF", "name": "Barn- och utbildningsförvaltningen", "kind": "administration",
                       "parent": "BUN", "decision": kf})
    record("/bodies", {"code": "SBN", "name": "Samhällsbyggnadsnämnden", "kind": "committee", "decision": kf})
    record("/bodies/BUN/areas", {"code": "GRUNDSKOLA", "name": "Grundskola", "decision": bun})
    record("/bodies/BUN/areas", {"code": "FORSKOLA", "name": "Förskola", "decision": bun})
    for name, spec in USERS.items():
        if name != "admin":
            add_user(SLUG, name, spec["role"], spec["bodies"], admin)

    document = {"type": "policy", "name": "Policy för informationssäkerhet", "owner": "Kommunstyrelsen",
                "responsible": "Säkerhetschef", "validity": "Tills vidare", "follow_up": "Årligen",
                "subject": "Säkerhet", "published": ["website", "intranet"], "decision": decision("KS")}
    record("/documents", {**document, "code": "D1"})
    record("/documents", {**document, "code": "D-OLD", "name": "Gammal policy"})
    record("/documents/D-OLD/repeal", {"decision": decision("KS", "2023-12-04", "§200")})

    record("/terms", {"code": "2023-2026", "first_year": 2023, "last_year": 2026})
    record("/indicators", {"code": "N15", "name": "Behöriga lärare", "unit": "%", "direction": "increase"})
    record("/goals", {"code": "IM1", "term": "2023-2026", "title": "Alla barn lyckas i skolan", "decision": kf})
    world.ids["target"] = record("/goals/IM1/targets", {"indicator": "N15", "year": 2024, "value": 85,
                                                        "decision": kf})
    record("/bodies/BUN/results", {"code": "BUN-R1", "kind": "expected", "goal": "IM1",
                                   "title": "Fler elever når kunskapskraven", "decision": bun})

    assignment = {"title": "Utred skolskjutsarna", "description": "Redovisas till KF.", "due": "2025-06-30",
                  "decision": kf}
    record("/assignments", {**assignment, "code": "U1", "to_body": "BUN", "goal": "IM1"})
    record("/assignments", {**assignment, "code": "U-SBN", "to_body": "SBN"})
    record("/assignments", {**assignment, "code": "U-OLD", "to_body": "BUN"})
    record("/assignments/U-OLD/withdrawal", {"reason": "Inaktuellt.", "decision": decision("KF", "2024-02-12")})

    record("/plans", {"code": "MRP2024", "first_year": 2024})
    earmark = [{"purpose": "Lärarlöner", "amount_sek": 100_000}]
    for year, earmarks in ((2024, earmark), (2025, []), (2026, earmark)):
        record("/plans/MRP2024/frames", {"body": "BUN", "year": year, "amount_sek": 1_000_000,
                                         "earmarks": earmarks, "decision": kf})
    record("/plans/MRP2024/adoption", {"decision": kf})
    for year, lines in (
        (2024, [("GRUNDSKOLA", 600_000, earmark), ("FORSKOLA", 400_000, [])]),
        (2025, [("GRUNDSKOLA", 500_000, []), ("FORSKOLA", 500_000, [])]),
        (2026, [("GRUNDSKOLA", 1_000_000, [])]),
    ):
        for area, amount, earmarks in lines:
            record(f"/bodies/BUN/budgets/{year}/allocations", {
                "area": area, "amount_sek": amount, "earmarks": earmarks,
                "decision": decision("BUN", f"{year - 1}-11-27", "§95")})
    record("/bodies/BUN/budgets/2024/adoption", {"decision": decision("BUN", "2023-12-11", "§120")})

    auditor = {"Authorization": f"Bearer {world.tokens['auditor']}"}
    record("/discharge/audit-reports", {"body": "BUN", "year": 2024, "recommendation": "grant",
                                        "remarks": "Inga anmärkningar.", "submitted_on": "2025-03-15"}, auditor)
    world.ids["retracted"] = record("/follow-ups/measures", {
        "body": "BUN", "year": 2024, "description": "Felregistrerad åtgärd.",
        "decision": decision("BUN", "2024-09-16", "§70")})
    world.ids["retraction"] = record(f"/events/{world.ids['retracted']}/retraction", {"reason": "Fel nämnd."})
    return world
