"""Användare (administrators only): the municipality's users, adding one, passwords, API keys, deactivation."""

from __future__ import annotations

import re
from uuid import UUID

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for

from domain.errors import AlreadyExistsError, NotFoundError
from domain.platform import ROLES, User
from web.access_audit import guard
from web.ui import labels
from web.ui.blueprint import ui
from web.ui.context import load_tenant
from web.ui.signin import hash_password

ADMIN = ("admin",)
PASSWORD_MIN = 12
PASSWORD_MAX = 1024
INACTIVE = "Användaren är inaktiverad."
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _platform():
    return current_app.extensions["styrkedja"].platform


def _member(tenant: str, user_id: str) -> User:
    """A user of this municipality by id; anything else is 404."""
    try:
        user = _platform().user(UUID(user_id))
    except (ValueError, NotFoundError):
        abort(404)
    if not isinstance(user, User) or user.tenant != tenant:
        abort(404)
    return user


def check_password(password: str) -> str | None:
    if len(password) < PASSWORD_MIN:
        return f"Lösenordet måste ha minst {PASSWORD_MIN} tecken."
    if len(password) > PASSWORD_MAX:
        return f"Lösenordet får ha högst {PASSWORD_MAX} tecken."
    return None


ACCESS_ROWS = 50
ACCESS_KINDS = {"sign_in": "Inloggning", "token_use": "API-nyckel använd", "token_failure": "Ogiltig API-nyckel",
                "token_issued": "API-nyckel utfärdad", "token_rotated": "API-nyckel bytt",
                "token_revoked": "API-nyckel återkallad", "password_set": "Lösenord satt",
                "user_deactivated": "Användare inaktiverad", "user_reactivated": "Användare aktiverad igen"}
ACCESS_OUTCOMES = {"success": "Lyckades", "failure": "Misslyckades", "rate_limited": "Stoppad: för många försök"}


def _page(tenant: str, views, status: int = 200, *, errors=None, values=None, row_errors=None, new_token=None,
          unconfirmed_row: str | None = None):
    state = views.state(g.moment.as_of, g.moment.known_at)
    users = _platform().users_of(tenant)
    body_names = {b["code"]: b["name"] for b in state["bodies"]}
    access = guard().audit.page(tenant, limit=ACCESS_ROWS)
    response = current_app.make_response((render_template(
        "ui/users.html", users=users, bodies=state["bodies"], body_names=body_names, roles=ROLES,
        role_labels=labels.ROLES, errors=errors or {}, values=values or {"bodies": []}, row_errors=row_errors or {},
        new_token=new_token, password_min=PASSWORD_MIN, access=access, access_kinds=ACCESS_KINDS,
        access_outcomes=ACCESS_OUTCOMES, user_names={str(u.id): u.name for u in users},
        unconfirmed_row=unconfirmed_row), status))
    response.headers["Cache-Control"] = "no-store"  # a new API key is shown once and must not be cached
    return response


@ui.route("/t/<tenant>/admin/anvandare", methods=["GET", "POST"])
def users(tenant: str):
    views, redirect_to = load_tenant(tenant, roles=ADMIN)
    if redirect_to:
        return redirect_to
    if request.method == "GET":
        return _page(tenant, views)
    form = request.form
    values = {"email": (form.get("email") or "").strip().lower(), "name": (form.get("name") or "").strip(),
              "role": form.get("role") or "", "bodies": form.getlist("bodies")}
    password, repeated = form.get("password") or "", form.get("password_repeat") or ""
    known_bodies = {b["code"] for b in views.state(g.moment.as_of, g.moment.known_at)["bodies"]}
    errors = {}
    if not EMAIL.match(values["email"]) or len(values["email"]) > 254:
        errors["email"] = "Ange en giltig e-postadress, till exempel namn@kommun.se."
    if not values["name"] or len(values["name"]) > 300:
        errors["name"] = "Ange användarens namn."
    if values["role"] not in ROLES:
        errors["role"] = "Välj en roll."
    if any(code not in known_bodies for code in values["bodies"]):
        errors["bodies"] = "Välj bara organ i listan."
    problem = check_password(password)
    if problem:
        errors["password"] = problem
    elif repeated != password:
        errors["password_repeat"] = "Lösenorden är inte likadana."
    if not errors:
        password_hash = hash_password(password)
        try:
            user, _token = _platform().add_user(tenant, values["email"], values["name"], values["role"],
                                                sorted(values["bodies"]))
        except AlreadyExistsError:
            errors["email"] = "Det finns redan en användare med den e-postadressen i kommunen."
        else:
            guard().note("token_issued", "success", tenant, user.id, actor_id=g.user.id)
            _platform().set_password(user.id, password_hash)
            flash(f"{user.name} ({user.email}) har lagts till som {labels.ROLES[user.role].lower()} "
                  "och kan logga in med lösenordet du angav.")
            return redirect(url_for("ui.users", tenant=tenant), code=303)
    return _page(tenant, views, 400, errors=errors, values=values)


def _member_for_admin(tenant: str, user_id: str, active: bool = True):
    """(views, user, None) for an admin acting on a user of the tenant (an active one unless `active` is False),
    else the answer that ends it."""
    views, redirect_to = load_tenant(tenant, roles=ADMIN)
    if redirect_to:
        return views, None, redirect_to
    user = _member(tenant, user_id)
    if active and not user.active:
        return views, user, _page(tenant, views, 409, row_errors={str(user.id): INACTIVE})
    return views, user, None


@ui.route("/t/<tenant>/admin/anvandare/<user_id>/losenord", methods=["POST"])
def user_password(tenant: str, user_id: str):
    views, user, answer = _member_for_admin(tenant, user_id)
    if answer:
        return answer
    problem = check_password(request.form.get("password") or "")
    if problem:
        return _page(tenant, views, 400, row_errors={str(user.id): problem})
    _platform().set_password(user.id, hash_password(request.form["password"]))
    return _done(tenant, user, "password_set", f"Nytt lösenord har satts för {user.name}.")


@ui.route("/t/<tenant>/admin/anvandare/<user_id>/api-nyckel", methods=["POST"])
def user_token(tenant: str, user_id: str):
    views, user, answer = _member_for_admin(tenant, user_id)
    if answer:
        return answer
    token = _platform().rotate_token(user.id)
    guard().note("token_rotated", "success", tenant, user.id, actor_id=g.user.id)
    return _page(tenant, views, new_token={"user": user, "token": token})


@ui.route("/t/<tenant>/admin/anvandare/<user_id>/api-nyckel/aterkalla", methods=["POST"])
def user_token_revoke(tenant: str, user_id: str):
    _views, user, answer = _member_for_admin(tenant, user_id)
    if answer:
        return answer
    _platform().revoke_token(user.id)
    return _done(tenant, user, "token_revoked", f"API-nyckeln för {user.name} är återkallad. Lösenordet gäller "
                 "fortfarande; en ny nyckel fås med Byt API-nyckel.")


@ui.route("/t/<tenant>/admin/anvandare/<user_id>/inaktivera", methods=["POST"])
def user_deactivate(tenant: str, user_id: str):
    views, user, answer = _member_for_admin(tenant, user_id, active=False)
    if answer:
        return answer
    if user.id == g.user.id:
        return _page(tenant, views, 400, row_errors={str(user.id): "Du kan inte inaktivera dig själv."})
    if request.form.get("confirm") != "ja":
        # One click on a button in a list is too easy a way to lock a colleague out: the box says what happens.
        return _page(tenant, views, 400, unconfirmed_row=str(user.id), row_errors={
            str(user.id): f"Kryssa i rutan för att bekräfta att {user.name} ska inaktiveras."})
    changed = user.active
    if changed:
        _platform().deactivate_user(user.id)
    return _done(tenant, user, "user_deactivated" if changed else None,
                 f"{user.name} är inaktiverad och kan inte längre logga in eller använda sin API-nyckel. "
                 "Du kan aktivera användaren igen i listan.")


@ui.route("/t/<tenant>/admin/anvandare/<user_id>/aktivera", methods=["POST"])
def user_reactivate(tenant: str, user_id: str):
    _views, user, answer = _member_for_admin(tenant, user_id, active=False)
    if answer:
        return answer
    changed = not user.active
    if changed:
        _platform().reactivate_user(user.id)
    return _done(tenant, user, "user_reactivated" if changed else None,
                 f"{user.name} är aktiverad igen och kan logga in med sitt tidigare lösenord och sin API-nyckel.")


def _done(tenant: str, user, kind: str | None, message: str):
    """After an administrator's change to a user's access: the trail notes it (kind None: nothing changed, a form
    sent twice), and the list shows the message."""
    if kind:
        guard().note(kind, "success", tenant, user.id, actor_id=g.user.id)
    flash(message)
    return redirect(url_for("ui.users", tenant=tenant), code=303)
