"""The authorisation matrix: every caller x every API endpoint x own and foreign tenant, against docs/api.md's roles."""

from __future__ import annotations

import re
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

# The built municipality of the HTTP tests (tests/e2e/apisupport.py): every role, two tenants, real data.
E2E = Path(__file__).resolve().parents[1] / "e2e"
if str(E2E) not in sys.path:
    sys.path.insert(0, str(E2E))

from apisupport import OTHER_SLUG, PREFIX, SLUG, build_world, decision  # noqa: E402

from web import create_app  # noqa: E402

# --- who may do what (docs/api.md, "Platform" and "Roles") ------------------------------------------
# ok: allowed (2xx, or a 4xx the operation documents for what the body asks); 403: the role may not;
# 404: not a member of the tenant (answered exactly as a tenant that does not exist); scoped: allowed for
# a request concerning one of the user's bodies (BUN), 403 for another body's (SBN).
ROLE_TABLE = """
access        platform_admin  admin   registrar  registrar_bun  reporter_bun  auditor  viewer
decide        404             ok      ok         scoped         403           403      403
report        404             ok      ok         scoped         scoped        403      403
audit         404             403     403        403            403           ok       403
read          404             ok      ok         ok             ok            ok       ok
audit_read    404             ok      403        403            403           ok       403
tenant_admin  ok              ok      403        403            403           403      403
own_token     404             ok      ok         ok             ok            ok       ok
platform      ok              403     403        403            403           403      403
public        ok              ok      ok         ok             ok            ok       ok
"""
# Callers that are nobody: refused with 401 before anything else is looked at, on every endpoint but `public`.
NOBODY = ("deactivated", "no_token", "malformed_token")
# Platform-wide access has no tenant in the path; tenant_admin also lets the platform admin into any tenant.
TENANT_FREE = ("platform", "public")


def _parse(table: str) -> dict[str, dict[str, str]]:
    header, *rows = (line.split() for line in table.strip().splitlines())
    return {row[0]: dict(zip(header[1:], row[1:], strict=True)) for row in rows}


ACCESS = _parse(ROLE_TABLE)
MEMBERS = ("platform_admin", "admin", "registrar", "registrar_bun", "reporter_bun", "auditor", "viewer")
CALLERS = MEMBERS + NOBODY


# --- the requests: one per endpoint (and kind of report), concerning BUN ("in") or SBN ("out") -------


@dataclass(frozen=True)
class Call:
    access: str
    method: str
    path: str | Callable[[dict, str], str]  # under /api/v1/t/<tenant> unless it starts with /api/
    body: Callable[[str], dict] | None = None
    # Reference data (terms, indicators, plans) and the auditors' report concern no body: not scoped.
    concerns_body: bool = True


def d(body: str) -> dict:
    return decision(body)


def _by_scope(inside: str, outside: str) -> Callable[[dict, str], str]:
    return lambda ids, scope: inside.format(**ids) if scope == "in" else outside.format(**ids)


CALLS: dict[str, list[Call]] = {
    "commands.establish_body": [Call("decide", "POST", "/bodies", lambda b: {
        "code": "MATRIS", "name": "Matrisnämnden", "kind": "committee", "decision": d(b)})],
    "commands.add_area": [Call("decide", "POST", "/bodies/BUN/areas", lambda b: {
        "code": "MATRIS", "name": "Matrisområde", "decision": d(b)})],
    "commands.adopt_vision": [Call("decide", "POST", "/vision", lambda b: {"text": "En vision.", "decision": d(b)})],
    "commands.adopt_document": [Call("decide", "POST", "/documents", lambda b: {
        "code": "D-MATRIS", "type": "policy", "name": "Matrispolicy", "owner": "Nämnden", "responsible": "Chef",
        "validity": "Tills vidare", "follow_up": "Årligen", "subject": "Test", "published": ["intranet"],
        "decision": d(b)})],
    "commands.revise_document": [Call("decide", "POST", "/documents/D1/revisions", lambda b: {
        "name": "Reviderad policy", "decision": d(b)})],
    "commands.repeal_document": [Call("decide", "POST", "/documents/D1/repeal", lambda b: {"decision": d(b)})],
    "commands.open_term": [Call("decide", "POST", "/terms", lambda b: {
        "code": "2023-2026", "first_year": 2023, "last_year": 2026}, concerns_body=False)],
    "commands.define_indicator": [Call("decide", "POST", "/indicators", lambda b: {
        "code": "N15", "name": "Behöriga lärare", "unit": "%", "direction": "increase"}, concerns_body=False)],
    "commands.establish_goal": [Call("decide", "POST", "/goals", lambda b: {
        "code": "IM-MATRIS", "term": "2023-2026", "title": "Ett mål", "decision": d(b)})],
    "commands.revise_goal": [Call("decide", "POST", "/goals/IM1/revisions", lambda b: {
        "title": "Ny titel", "decision": d(b)})],
    "commands.fix_goal_target": [Call("decide", "POST", "/goals/IM1/targets", lambda b: {
        "indicator": "N15", "year": 2025, "value": 90, "decision": d(b)})],
    "commands.define_result": [Call("decide", "POST", "/bodies/BUN/results", lambda b: {
        "code": "BUN-MATRIS", "kind": "own", "title": "Eget resultat", "decision": d(b)})],
    "commands.fix_result_target": [Call("decide", "POST", "/bodies/BUN/results/BUN-R1/targets", lambda b: {
        "indicator": "N15", "year": 2025, "value": 80, "decision": d(b)})],
    "commands.issue_assignment": [Call("decide", "POST", "/assignments", lambda b: {
        "code": "U-MATRIS", "to_body": "BUF", "title": "Ett uppdrag", "description": "Redovisas.",
        "due": "2025-06-30", "decision": d(b)})],
    "commands.revise_assignment": [Call("decide", "POST", "/assignments/U1/revisions", lambda b: {
        "title": "Nytt namn", "decision": d(b)})],
    "commands.withdraw_assignment": [Call("decide", "POST", "/assignments/U1/withdrawal", lambda b: {
        "reason": "Inaktuellt.", "decision": d(b)})],
    "commands.report_assignment_status": [Call("report", "POST", _by_scope(
        "/assignments/U1/status", "/assignments/U-SBN/status"), lambda b: {
        "status": "ongoing", "period": "2024-T1", "comment": "Pågår.", "reported_on": "2024-05-02"})],
    "commands.draft_plan": [Call("decide", "POST", "/plans", lambda b: {"code": "MRP2024", "first_year": 2024},
                                 concerns_body=False)],
    "commands.set_frame": [Call("decide", "POST", "/plans/MRP2024/frames", lambda b: {
        "body": "BUN", "year": 2025, "amount_sek": 1_000_000, "decision": d(b)})],
    "commands.adopt_plan": [Call("decide", "POST", "/plans/MRP2024/adoption", lambda b: {"decision": d(b)})],
    "commands.adjust_frame": [Call("decide", "POST", "/frames/adjustments", lambda b: {
        "body": "BUN", "year": 2024, "delta_sek": 1000, "reason": "Tilläggsanslag.", "decision": d(b)})],
    "commands.set_allocation": [Call("decide", "POST", "/bodies/BUN/budgets/2025/allocations", lambda b: {
        "area": "GRUNDSKOLA", "amount_sek": 500_000, "decision": d(b)})],
    "commands.adopt_budget": [Call("decide", "POST", "/bodies/BUN/budgets/2026/adoption", lambda b: {
        "decision": d(b)})],
    "commands.reallocate": [Call("decide", "POST", "/bodies/BUN/budgets/2024/reallocations", lambda b: {
        "from_area": "GRUNDSKOLA", "to_area": "FORSKOLA", "amount_sek": 1, "reason": "Omdisposition.",
        "decision": d(b)})],
    "commands.report_financial": [Call("report", "POST", "/follow-ups/financial", lambda b: {
        "body": b, "period": "2024-04", "outcome_sek": 1, "forecast_sek": 1, "reported_on": "2024-05-10"})],
    "commands.report_indicator": [Call("report", "POST", "/follow-ups/indicators", lambda b: {
        "indicator": "N15", "period": "2024", "value": 80, "body": b, "reported_on": "2025-01-10"})],
    "commands.assess": [Call("report", "POST", "/follow-ups/assessments", lambda b: {
        "subject": "assignment:U1" if b == "BUN" else "assignment:U-SBN", "period": "2024", "attainment": "met",
        "analysis": "Uppnått.", "reported_on": "2025-01-10"})],
    "commands.decide_measure": [Call("decide", "POST", "/follow-ups/measures", lambda b: {
        "body": "BUN", "year": 2024, "description": "En åtgärd.", "decision": d(b)})],
    "commands.adopt_report": [Call("decide", "POST", "/reports/adoptions", lambda b: {
        "kind": "annual", "year": 2024, "decision": d(b)})],
    "commands.submit_audit_report": [Call("audit", "POST", "/discharge/audit-reports", lambda b: {
        "body": b, "year": 2024, "recommendation": "grant", "remarks": "Inga.", "submitted_on": "2025-03-15"})],
    "commands.decide_discharge": [Call("decide", "POST", "/discharge/decisions", lambda b: {
        "body": "BUN", "year": 2024, "granted": True, "decision": d(b)})],
    # BUN's retracted measure (retracting it again is 409) and KF's målvärde (not BUN's to retract).
    "commands.retract": [Call("decide", "POST", _by_scope(
        "/events/{retracted}/retraction", "/events/{target}/retraction"), lambda b: {"reason": "Fel."})],
    "ledger.events": [Call("read", "GET", "/events?limit=2")],
    "ledger.head": [Call("read", "GET", "/ledger")],
    "ledger.verify": [Call("read", "GET", "/ledger/verify")],
    "queries.state": [Call("read", "GET", "/state?as_of=2024-06-30")],
    "queries.body_state": [Call("read", "GET", "/bodies/BUN/state?as_of=2024-06-30")],
    "queries.timeline": [Call("read", "GET", "/timeline?limit=5")],
    "queries.diff": [Call("read", "GET", "/diff?from=2023-01-01&to=2024-12-31")],
    "reports.request_report": [
        Call("read", "POST", "/reports", lambda b: {"kind": "ledger_export", "format": "jsonl"}),
        Call("audit_read", "POST", "/reports", lambda b: {
            "kind": "discharge_basis", "body": "BUN", "year": 2024, "format": "html"}),
    ],
    "reports.report_status": [Call("read", "GET", "/reports/{export_report}"),
                              Call("audit_read", "GET", "/reports/{discharge_report}")],
    "reports.report_file": [Call("read", "GET", "/reports/{export_report}/file"),
                            Call("audit_read", "GET", "/reports/{discharge_report}/file")],
    "platform.create_tenant": [Call("platform", "POST", "/api/v1/tenants", lambda b: {
        "slug": "matriskommun", "name": "Matriskommunen", "municipality_code": "1499"})],
    "platform.list_tenants": [Call("platform", "GET", "/api/v1/tenants")],
    "platform.create_user": [Call("tenant_admin", "POST", "/users", lambda b: {
        "email": f"ny-{secrets.token_hex(4)}@kommun.se", "name": "Ny", "role": "viewer", "bodies": []})],
    "platform.rotate_user_token": [Call("tenant_admin", "POST", "/users/{target_user}/token")],
    "platform.revoke_user_token": [Call("tenant_admin", "DELETE", "/users/{target_user}/token")],
    "platform.rotate_own_token": [Call("own_token", "POST", "/me/token")],
    "platform.revoke_own_token": [Call("own_token", "DELETE", "/me/token")],
    "platform.access_log": [Call("tenant_admin", "GET", "/access-log?limit=5")],
    "api-docs.openapi_json": [Call("public", "GET", "/api/v1/openapi.json")],
}


def expected(call: Call, caller: str, tenant: str, scope: str) -> str:
    """'ok' or the refusal status docs/api.md gives this caller here."""
    access = call.access
    if access == "public":
        return "ok"
    if caller in NOBODY:
        return "401"
    rule = ACCESS[access][caller]
    if tenant == "foreign" and access not in TENANT_FREE and not (caller == "platform_admin" and rule == "ok"):
        return "404"
    if rule == "scoped":
        return "ok" if scope == "in" or not call.concerns_body else "403"
    return rule


# --- the municipality the matrix runs against ---------------------------------------------------------


class Matrix:
    """The app over a private copy of the built municipality, with every caller's token."""

    def __init__(self, app, tokens: dict[str, str], user_ids: dict[str, str], ids: dict[str, dict[str, str]]):
        self.app = app
        self.client = app.test_client()
        self.tokens = tokens
        self.user_ids = user_ids
        self.ids = ids  # by tenant ("own", "foreign"): the same kind of thing in each
        self.document = self.client.get(f"{PREFIX}/openapi.json").get_json()

    def headers(self, caller: str) -> dict:
        if caller == "no_token":
            return {}
        if caller == "malformed_token":
            return {"Authorization": "Bearer not a token at all"}
        return {"Authorization": f"Bearer {self.tokens[caller]}"}

    def url(self, call: Call, tenant: str, scope: str) -> str:
        ids = self.ids[tenant]
        path = call.path(ids, scope) if callable(call.path) else call.path.format(**ids)
        if path.startswith("/api/"):
            return path
        return f"{PREFIX}/t/{SLUG if tenant == 'own' else OTHER_SLUG}{path}"

    def send(self, call: Call, caller: str, tenant: str, scope: str):
        body = call.body("BUN" if scope == "in" else "SBN") if call.body else None
        return self.client.open(self.url(call, tenant, scope), method=call.method, json=body,
                                headers=self.headers(caller))

    def recorded(self) -> tuple:
        """Everything a refused request must leave as it was: both ledgers, tenants, users, artifacts."""
        tenants = self.app.extensions["styrkedja"]
        heads = tuple(tenants.get(slug).ledger_head()[:2] for slug in (SLUG, OTHER_SLUG))
        users = tuple(len(tenants.platform.users_of(slug)) for slug in (SLUG, OTHER_SLUG))
        artifacts = sorted(p.name for p in (Path(self.app.config["DATA_DIR"]) / "artifacts").rglob("*"))
        return heads, len(tenants.platform.tenants()), users, artifacts

    def documented(self, endpoint: str, method: str) -> set[int]:
        rule = next(r for r in self.app.url_map.iter_rules() if r.endpoint == endpoint)
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        return {int(status) for status in self.document["paths"][path][method.lower()]["responses"]
                if status.isdigit()}

    def fresh_token(self, caller: str) -> None:
        """A caller who rotated or revoked their own token gets a new one for the rest of the matrix."""
        platform = self.app.extensions["styrkedja"].platform
        self.tokens[caller] = platform.rotate_token(UUID(self.user_ids[caller]))


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    admin_token = "matrix-admin-" + secrets.token_hex(8)
    # Deactivated users' tokens have the platform's shape: the failure rate limit must not turn 401 into 429.
    app = create_app({"DATA_DIR": str(tmp_path_factory.mktemp("matrix") / "data"), "ADMIN_TOKEN": admin_token,
                      "TOKEN_FAILURE_LIMIT": "100000 per minute"})
    world = build_world(app, admin_token)
    platform = app.extensions["styrkedja"].platform
    ids = dict(world.ids)
    for name, role in (("deactivated", "registrar"), ("target", "viewer")):
        user, token = platform.add_user(SLUG, f"{name}@{SLUG}.se", name, role, [])
        world.tokens[name] = token
        ids[f"{name}_user"] = str(user.id)
    platform.deactivate_user(UUID(ids["deactivated_user"]))
    # The foreign tenant's things are its own: a user to rotate, reports that do not exist there.
    foreign_target, _ = platform.add_user(OTHER_SLUG, f"target@{OTHER_SLUG}.se", "target", "viewer", [])
    foreign = {**ids, "target_user": str(foreign_target.id)}
    m = Matrix(app, {**world.tokens, "platform_admin": admin_token}, world.user_ids, {"own": ids, "foreign": foreign})
    for key, body in (("export_report", {"kind": "ledger_export", "format": "jsonl"}),
                      ("discharge_report", {"kind": "discharge_basis", "body": "BUN", "year": 2024,
                                            "format": "html"})):
        answer = m.client.post(f"{PREFIX}/t/{SLUG}/reports", json=body, headers=m.headers("admin"))
        assert answer.status_code == 202, answer.get_json()
        ids[key] = answer.get_json()["id"]
        _wait_finished(m, ids[key])
    foreign.update({key: ids[key] for key in ("export_report", "discharge_report")})
    yield m
    app.extensions["styrkedja"].close()


def _wait_finished(m: Matrix, rid: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = m.client.get(f"{PREFIX}/t/{SLUG}/reports/{rid}", headers=m.headers("admin")).get_json()["status"]
        if status in ("finished", "failed"):
            assert status == "finished"
            return
        time.sleep(0.2)
    raise AssertionError(f"report {rid} did not finish")


# --- the tests ------------------------------------------------------------------------------------


def test_every_api_endpoint_has_an_expectation_in_the_matrix(matrix):
    endpoints = {rule.endpoint for rule in matrix.app.url_map.iter_rules() if rule.rule.startswith("/api/")}
    assert endpoints - set(CALLS) == set(), "new endpoints without a row in CALLS: decide who may call them"
    assert set(CALLS) - endpoints == set(), "rows in CALLS for endpoints that no longer exist"


def test_the_role_table_names_every_caller_and_every_access():
    assert all(set(row) == set(MEMBERS) for row in ACCESS.values())
    assert {call.access for calls in CALLS.values() for call in calls} <= set(ACCESS)


@pytest.mark.parametrize("endpoint", sorted(CALLS))
def test_every_caller_gets_the_answer_the_role_table_gives_on_this_endpoint(matrix, endpoint):
    wrong = []
    for call in CALLS[endpoint]:
        documented = matrix.documented(endpoint, call.method) if endpoint != "api-docs.openapi_json" else {200}
        tenants = ("own",) if call.access in TENANT_FREE else ("own", "foreign")
        for caller in CALLERS:
            for tenant in tenants:
                scopes = ("in", "out") if ACCESS.get(call.access, {}).get(caller) == "scoped" else ("in",)
                for scope in scopes:
                    want = expected(call, caller, tenant, scope)
                    before = matrix.recorded() if want != "ok" else None
                    answer = matrix.send(call, caller, tenant, scope)
                    got = answer.status_code
                    label = f"{call.method} {matrix.url(call, tenant, scope)} as {caller} ({tenant}, {scope})"
                    if want == "ok":
                        if got in (401, 403, 404) or got >= 500 or got not in documented:
                            wrong.append(f"{label}: expected allowed, got {got} {answer.get_data(as_text=True)}")
                        elif call.access == "own_token":
                            matrix.fresh_token(caller)
                        elif answer.status_code == 202:  # a report builds in the background: let it finish
                            _wait_finished(matrix, answer.get_json()["id"])
                    else:
                        if got != int(want):
                            wrong.append(f"{label}: expected {want}, got {got} {answer.get_data(as_text=True)}")
                        elif matrix.recorded() != before:
                            wrong.append(f"{label}: refused with {got} but something was recorded")
    assert not wrong, "\n".join(wrong)
