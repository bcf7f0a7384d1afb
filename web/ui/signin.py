"""Signing in and out with e-mail and password; the session remembers one user per municipality."""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, flash, redirect, render_template, request, session, url_for

from domain.platform import User
from web.ui.blueprint import ui
from web.ui.security import limiter

hasher = PasswordHasher()
# A hash to verify against when the address is unknown, so a wrong address takes as long as a wrong password.
_DUMMY_HASH = hasher.hash("styrkedja-no-such-user")


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(user: User, password: str) -> bool:
    try:
        return bool(user.password_hash) and hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def signed_in_user(tenant: str) -> User | None:
    """The session's user of this municipality, if any (and still active)."""
    user_id = (session.get("users") or {}).get(tenant)
    if not user_id:
        return None
    from uuid import UUID

    platform = current_app.extensions["styrkedja"].platform
    try:
        user = platform.repository.get(UUID(user_id))
    except Exception:  # a user removed or a session from another installation
        return None
    return user if isinstance(user, User) and user.active and user.tenant == tenant else None


def _sign_in_refused(limit) -> None:
    """A sign-in refused by the rate limit is kept in the trail of each municipality the address belongs to."""
    import time

    from web.access_audit import guard

    if not guard().first_refusal(f"sign-in:{request.remote_addr}", time.time() + 60):
        return
    email = (request.form.get("email") or "").strip().lower()
    users = current_app.extensions["styrkedja"].platform.users_by_email(email) if email else []
    for user in users or [None]:
        guard().note("sign_in", "rate_limited", user.tenant if user else None, user.id if user else None)


@ui.route("/logga-in", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"], on_breach=_sign_in_refused)
def sign_in():
    errors = {}
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        if not email:
            errors["email"] = "Ange din e-postadress."
        if not password:
            errors["password"] = "Ange ditt lösenord."
        if not errors:
            platform = current_app.extensions["styrkedja"].platform
            candidates = platform.users_by_email(email)
            if not candidates:
                with contextlib.suppress(VerificationError):
                    hasher.verify(_DUMMY_HASH, password)
            users = [u for u in candidates if verify_password(u, password)]
            _note_sign_in(candidates, users)
            if users:
                session.clear()
                session["users"] = {u.tenant: str(u.id) for u in users}
                session.permanent = True
                target = request.args.get("next") or ""
                if not target.startswith("/") or target.startswith("//"):
                    target = url_for("ui.tenant_home", tenant=users[0].tenant) if len(users) == 1 else url_for(
                        "ui.start")
                return redirect(target)
            errors["form"] = "Fel e-postadress eller lösenord."
    return render_template("ui/sign_in.html", errors=errors, email=email), 400 if errors else 200


def _note_sign_in(candidates: list[User], signed_in: list[User]) -> None:
    """One row per municipality the address is a user of; an unknown address is kept without a tenant."""
    from web.access_audit import guard

    succeeded = {u.id for u in signed_in}
    for user in candidates:
        guard().note("sign_in", "success" if user.id in succeeded else "failure", user.tenant, user.id)
    if not candidates:
        guard().note("sign_in", "failure")


@ui.route("/logga-ut", methods=["POST"])
def sign_out():
    session.clear()
    flash("Du är utloggad.")
    return redirect(url_for("ui.sign_in"))
