"""Resolve the tenant of a request once, set the acting user's context, and hide every other tenant."""

from __future__ import annotations

from flask import current_app, g

from domain.application import Governance
from domain.context import current_actor
from web.auth import Principal, authenticate
from web.errors import ApiError

NOT_FOUND = ApiError(404, "not_found", "No such municipality.")


def tenant_app(slug: str, roles: tuple[str, ...], allow_platform_admin: bool = False) -> Governance:
    """The tenant's application for a caller who belongs to it and holds one of the roles.

    A tenant the caller does not belong to answers exactly like one that does not exist.
    """
    principal: Principal = authenticate()
    member = principal.belongs_to(slug) or (allow_platform_admin and principal.platform_admin)
    if not member:
        raise NOT_FOUND
    app = current_app.extensions["styrkedja"].get(slug)
    if app is None:
        raise NOT_FOUND
    if not principal.platform_admin and not principal.has_role(roles):
        raise ApiError(403, "forbidden", f"The role {principal.user.role} may not do this.")
    g.tenant = slug
    current_actor.set(principal.id)
    return app
