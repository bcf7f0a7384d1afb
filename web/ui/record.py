"""Registrera beslut: the registrar's forms, validated and run exactly as the API runs the same commands."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from domain.application import Governance
from domain.context import current_actor
from domain.errors import DomainError
from web.api.commands import COMMANDS, scope_of
from web.auth import Principal
from web.ui.blueprint import ui
from web.ui.context import load_tenant
from web.ui.record_forms import (
    EARMARK_FIELDS,
    FORMS,
    FORMS_BY_SLUG,
    FormSpec,
    build_request,
    domain_message,
    field_label,
    flatten,
    required_message,
    validation_message,
)
from web.ui.timeline import moment_fields

EARMARK_NAMES = [f.name for f in EARMARK_FIELDS]
COMMANDS_BY_NAME = {command.name: command for command in COMMANDS}
PAGE_ROLES = ("registrar", "admin", "reporter")
# Read what exists now, whatever moment the page shows: every code recorded and in force at any date.
EVERYTHING = dt.date(9999, 12, 31)


def forms_for(user) -> list[FormSpec]:
    """The forms a user's role may send: reporters only report follow-up."""
    return [spec for spec in FORMS if user.role in COMMANDS_BY_NAME[spec.command].roles]


def allowed_bodies(user, bodies: list[dict]) -> list[dict]:
    """Bodies the user may act for (all, unless the user is limited to some)."""
    return [b for b in bodies if not user.bodies or b["code"] in user.bodies]


class Options:
    """The choices the forms offer, from the state as recorded now."""

    def __init__(self, views, user, organ: str | None) -> None:
        self.state = views.state(EVERYTHING)
        self.user = user
        self.organ = organ
        self.bodies = sorted(self.state["bodies"], key=lambda b: (b["kind"] != "council", b["name"]))

    def body(self, code: str | None) -> dict | None:
        return next((b for b in self.bodies if b["code"] == code), None)

    def organs(self, spec: FormSpec) -> list[dict]:
        """Bodies to choose as the form's organ: those with activity areas for the budget forms."""
        bodies = allowed_bodies(self.user, self.bodies)
        if spec.panel == "budget":
            bodies = [b for b in bodies if b["areas"]]
        return bodies

    def __call__(self, source: str | None) -> list[tuple[str, str]]:
        state = self.state
        if source == "deciders":
            return [(b["code"], f"{b['name']} ({b['code']})") for b in allowed_bodies(self.user, self.bodies)]
        if source == "bodies":
            return [(b["code"], f"{b['name']} ({b['code']})") for b in self.bodies]
        if source == "goals":
            return [(goal["code"], f"{goal['code']} – {goal['title']}") for goal in state["goals"]]
        if source == "indicators":
            return [(i["code"], f"{i['name']} ({i['code']})") for i in sorted(state["indicators"],
                                                                             key=lambda i: i["name"])]
        if source == "plans":
            return [(p["code"], f"{p['code']} ({p['first_year']}–{p['first_year'] + 2})") for p in state["plans"]]
        if source == "assignments":
            return [(a["code"], f"{a['code']} – {a['title']}") for a in state["assignments"]
                    if a.get("state") != "withdrawn"]
        if source == "areas":
            body = self.body(self.organ)
            return [(a["code"], f"{a['name']} ({a['code']})") for a in (body["areas"] if body else [])]
        return []

    def budget(self, year: int | None) -> dict | None:
        """The organ's frame and detailed budget for a year, for the panel beside the budget forms."""
        body = self.body(self.organ)
        if body is None or year is None:
            return None
        frame = next((f for f in body["frames"] if f["year"] == year), None)
        budget = next((b for b in body["budgets"] if b["year"] == year), None)
        names = {a["code"]: a["name"] for a in body["areas"]}
        lines = [{**line, "name": names.get(line["area"], line["area"])} for line in (budget or {}).get(
            "allocations", [])]
        return {"year": year, "frame": frame, "budget": budget, "lines": lines,
                "total": sum(line["amount_sek"] for line in lines), "body": body}


def _year(value: str | None, default: int) -> int:
    try:
        year = int((value or "").strip())
    except ValueError:
        return default
    return year if 1900 <= year <= 2200 else default


def _defaults(spec: FormSpec, organ: str | None) -> dict[str, str]:
    values = {"decision.body": organ if spec.decision_default == "organ" and organ else "KF"}
    if any(f.name == "year" and f.path for f in spec.fields):
        values["year"] = str(g.moment.as_of.year)
    if spec.slug == "uppfoljning":
        values["reported_on"] = dt.date.today().isoformat()
    return values


def _render(spec: FormSpec | None, options: Options | None, available: list[FormSpec], *, values=None,
            errors=None, organ=None, organ_error=None, status=200, idempotency_key=None):
    errors = errors or {}
    budget = None
    if spec is not None and spec.panel == "budget" and organ:
        budget = options.budget(_year((values or {}).get("year"), g.moment.as_of.year))
    summary = []
    if spec is not None:
        order = {f.name: i for i, f in enumerate(spec.all_fields())}
        for name, message in sorted(errors.items(), key=lambda item: order.get(item[0], -1)):
            target = spec.field(name)
            summary.append({"id": f"{spec.slug}-{name.replace('.', '-')}" if target else None,
                            "label": field_label(name, spec) if target else None, "message": message})
    organ_body = options.body(organ) if options and organ else None
    threshold = int(g.app.settings.get("reallocation_council_threshold_percent", 5))
    groups: dict[str, list[FormSpec]] = {}
    for form in available:
        groups.setdefault(form.group, []).append(form)
    return render_template("ui/record.html", spec=spec, available=available, groups=list(groups.items()),
                           options=options, values=values or {},
                           errors=errors, summary=summary, organ=organ, organ_body=organ_body,
                           organ_error=organ_error, budget=budget, threshold=threshold,
                           idempotency_key=idempotency_key or uuid.uuid4().hex, moment_fields=moment_fields(),
                           earmark_names=EARMARK_NAMES), status


def _timeline_after() -> str:
    """The timeline with the new entry first: the page's decision date kept, record time now (a page
    read as of an earlier record time would not show what was just recorded). No #anchor: the
    confirmation at the top of the page stays in view, and the new entry is the first one under it."""
    moment = dataclasses.replace(g.moment, known_at=None)
    return url_for("ui.timeline", tenant=g.tenant.slug) + moment.query()


@ui.route("/t/<tenant>/registrera", methods=["GET", "POST"])
def record(tenant: str):
    views, redirect_to = load_tenant(tenant, roles=PAGE_ROLES)
    if redirect_to:
        return redirect_to
    user = g.user
    available = forms_for(user)
    slug = (request.form.get("form") if request.method == "POST" else None) or request.args.get("form", "")
    if not slug:
        if request.method == "POST":
            abort(400)
        if len(available) == 1:
            slug = available[0].slug
        else:
            return _render(None, None, available)
    spec = FORMS_BY_SLUG.get(slug)
    if spec is None:
        abort(404)
    command = COMMANDS_BY_NAME[spec.command]
    if user.role not in command.roles:
        abort(403)
    organ = None
    options = None
    if spec.organ:
        organ = (request.args.get("organ") or "").strip() or None
        options = Options(views, user, organ)
        choices = options.organs(spec)
        if organ is None and len(choices) == 1:
            organ = choices[0]["code"]
            options.organ = organ
        if organ is None:
            return _render(spec, options, available)
        if organ not in [b["code"] for b in choices]:
            body = options.body(organ)
            if body is not None and not Principal(user=user).may_act_for(organ):
                message, status = f"Du får inte registrera för {body['name']} ({organ}).", 403
            else:
                message, status = "Välj ett organ i listan.", 400
            return _render(spec, options, available, organ_error=message, status=status)
    else:
        options = Options(views, user, None)
    if request.method == "GET":
        return _render(spec, options, available, values=_defaults(spec, organ), organ=organ)
    return _submit(spec, command, options, available, organ)


def _submit(spec: FormSpec, command, options: Options, available: list[FormSpec], organ: str | None):
    form = request.form.to_dict()
    key = (form.get("idempotency_key") or "")[:200] or None
    data, path, errors = build_request(spec, form, organ)

    def again(status: int):
        return _render(spec, options, available, values=form, errors=errors, organ=organ, status=status,
                       idempotency_key=key)

    for f in spec.all_fields():
        if f.required and not f.path and not form.get(f.name, "").strip():
            errors[f.name] = required_message(f)  # all at once (the schema checks the paragraph only later)
    loaded = None
    try:
        loaded = command.schema().load(data)
    except ValidationError as error:
        for name, messages in flatten(error.messages).items():
            target = spec.field(name)
            if name not in errors:
                errors[name] = validation_message(messages[0], target, field_label(name, spec))
    if errors:
        return again(400)
    app: Governance = g.app
    try:
        scope = scope_of(command, app, loaded, path)
    except DomainError as error:
        return _refused(spec, error, errors, again)
    if not Principal(user=g.user).may_act_for(scope):
        where = "decision.body" if spec.decided else "_form"
        body = options.body(scope)
        errors[where] = f"Du får inte registrera för {body['name'] if body else scope} ({scope})."
        return again(403)
    idem = {"idempotency": (key, Governance.fingerprint(command.name, path, data))} if key else {}
    token = current_actor.set(str(g.user.id))
    g.command_name = command.name  # the metric's label (web/ops.py), as for the API
    try:
        answer = command.run(app, loaded, path, idem)
    except DomainError as error:
        return _refused(spec, error, errors, again)
    finally:
        current_actor.reset(token)
    tenants = current_app.extensions["styrkedja"]
    if tenants.inline_projections:
        g.views.catch_up()
    else:
        g.views.wait_for(answer["position"])
    what = "Uppföljningen" if not spec.decided else "Beslutet"
    flash(f"{what} registrerades som position {answer['position']}.")
    return redirect(_timeline_after(), code=303)


def _refused(spec: FormSpec, error: DomainError, errors: dict, again):
    """A refusal of the domain: nothing was recorded; the form again with the reason in Swedish."""
    message, name = domain_message(error)
    if error.code == "not_found" and name is None:
        name = spec.not_found_field
    if name == "body" and spec.organ:
        name = None  # the organ chosen for the form: a message for the whole form
    if name is not None and spec.field(name) is None:
        name = None
    errors[name or "_form"] = message
    return again(409 if error.code in ("already_exists", "concurrent_change") else 422)
