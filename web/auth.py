"""Who is calling: bearer tokens for users and the platform administrator, and the role table."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from flask import current_app, g, request

from domain.platform import User
from web.access_audit import token_refused, token_used
from web.errors import ApiError

# Roles allowed each kind of request (docs/api.md, "Roles").
DECIDE = ("admin", "registrar")
REPORT = ("admin", "registrar", "reporter")
AUDIT = ("auditor",)
READ = ("admin", "registrar", "reporter", "auditor", "viewer")
ADMIN = ("admin",)


@dataclass(frozen=True)
class Principal:
    user: User | None = None
    platform_admin: bool = False

    @property
    def id(self) -> str:
        return "platform-admin" if self.platform_admin else str(self.user.id)

    def belongs_to(self, tenant: str) -> bool:
        return self.user is not None and self.user.tenant == tenant

    def has_role(self, roles: tuple[str, ...]) -> bool:
        return self.user is not None and self.user.role in roles

    def may_act_for(self, body: str | None) -> bool:
        """A user limited to some bodies acts only for those; None means no body is concerned."""
        if self.user is None or not self.user.bodies or body is None:
            return True
        return body in self.user.bodies


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def authenticate() -> Principal:
    """The caller, or 401. Resolved once per request."""
    if "principal" in g:
        return g.principal
    token = bearer_token()
    if token is None:
        raise ApiError(401, "unauthenticated", "Send Authorization: Bearer <token>.")
    admin_token = current_app.config.get("ADMIN_TOKEN")
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        g.principal = Principal(platform_admin=True)
        return g.principal
    user = current_app.extensions["styrkedja"].platform.authenticate(token)
    if user is None:
        raise token_refused(token)  # 401, or 429 after too many failures from this address (web/access_audit.py)
    g.principal = Principal(user=user)
    token_used(user)  # the access audit trail: a dict lookup except on a token's first use in an hour
    return g.principal


def require_platform_admin() -> Principal:
    principal = authenticate()
    if not principal.platform_admin:
        raise ApiError(403, "forbidden", "Only the platform administrator may do this.")
    return principal
