"""Per page: the municipality, the signed-in user, and the moment shown (gällande den, enligt registreringar per)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from flask import abort, current_app, g, redirect, request, url_for

from web.ui.signin import signed_in_user
from workers.formatting import STOCKHOLM  # what a page shows and a typed time means; stored times are UTC


@dataclass(frozen=True)
class Moment:
    """Which moment a page shows: decision time and record time, and the ledger position it was built on."""

    as_of: dt.date
    known_at: dt.datetime | None
    position: int
    head: int
    errors: dict

    @property
    def is_now(self) -> bool:
        return self.as_of == dt.date.today() and self.known_at is None

    def query(self, **extra) -> str:
        params = {}
        if self.as_of != dt.date.today():
            params["as_of"] = self.as_of.isoformat()
        if self.known_at is not None:
            params["known_at"] = self.known_at.isoformat(timespec="minutes")
        params.update({k: v for k, v in extra.items() if v not in (None, "")})
        return ("?" + urlencode(params)) if params else ""

    @property
    def known_at_local(self) -> str:
        return self.known_at.astimezone(STOCKHOLM).strftime("%Y-%m-%dT%H:%M") if self.known_at else ""


def parse_moment(views) -> Moment:
    """Read ?as_of= and ?known_at= (a date-time without zone is Swedish time, as the form shows it); bad values
    fall back, with a note."""
    errors = {}
    as_of = dt.date.today()
    raw = request.args.get("as_of", "").strip()
    if raw:
        try:
            as_of = dt.date.fromisoformat(raw)
        except ValueError:
            errors["as_of"] = "Ange datumet som ÅÅÅÅ-MM-DD."
    known_at = None
    raw = request.args.get("known_at", "").strip()
    if raw:
        try:
            known_at = dt.datetime.fromisoformat(raw)
            if known_at.tzinfo is None:
                known_at = known_at.replace(tzinfo=STOCKHOLM)
        except ValueError:
            errors["known_at"] = "Ange tidpunkten som ÅÅÅÅ-MM-DD TT:MM."
    head = views.head()
    position = views.position_at(known_at) if known_at else head
    return Moment(as_of, known_at, position, head, errors)


def load_tenant(tenant: str, roles: tuple[str, ...] | None = None, public: bool = False):
    """The municipality of the page and its read side; sign-in for members, 404 for everyone else."""
    tenants = current_app.extensions["styrkedja"]
    registered = tenants.platform.find_tenant(tenant)
    user = signed_in_user(tenant)
    if registered is None or (user is None and not public and _other_tenant_user()):
        abort(404)
    if user is None and not public:
        return None, redirect(url_for("ui.sign_in", next=request.full_path.rstrip("?")))
    if roles is not None and (user is None or user.role not in roles):
        abort(403)
    views = tenants.views(tenant)
    if tenants.inline_projections:
        views.catch_up()
    g.tenant = registered
    g.user = user
    g.views = views
    g.app = tenants.get(tenant)
    g.moment = parse_moment(views)
    return views, None


def _other_tenant_user() -> bool:
    """Signed in, but not to this municipality: answer as if it did not exist.

    A session that names this municipality (a user since deactivated, say) is sent to sign in instead.
    """
    from flask import session

    users = session.get("users") or {}
    return bool(users) and request.view_args.get("tenant") not in users
