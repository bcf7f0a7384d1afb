"""Platform endpoints: hosted municipalities and their users."""

from __future__ import annotations

from uuid import UUID

from flask import current_app, request
from marshmallow import Schema, fields, validate

from domain.context import current_actor
from domain.errors import NotFoundError
from domain.platform import User
from web.access_audit import guard
from web.api.base import Blueprint
from web.api.schemas import Strict, TenantCreateSchema, TenantSchema, UserCreatedSchema, UserCreateSchema
from web.auth import authenticate, require_platform_admin
from web.errors import ApiError
from web.tenancy import NOT_FOUND

blp = Blueprint("platform", __name__, url_prefix="/api/v1", description="Tenants and users")

# Endpoints for a tenant's administrator (or the platform administrator) about the tenant's users.
TENANT_ADMIN_ENDPOINTS = ("platform.create_user", "platform.rotate_user_token", "platform.revoke_user_token",
                          "platform.access_log")
# Endpoints for any user of the tenant about their own token.
OWN_TOKEN_ENDPOINTS = ("platform.rotate_own_token", "platform.revoke_own_token")


@blp.before_request
def authorise():
    """The caller before the body: no token is 401 and a user who may not is 403, whatever they sent."""
    if request.endpoint in ("platform.create_tenant", "platform.list_tenants"):
        require_platform_admin()
    elif request.endpoint in TENANT_ADMIN_ENDPOINTS:
        principal = authenticate()
        tenant = request.view_args["tenant"]
        if not (principal.platform_admin or principal.belongs_to(tenant)):
            raise NOT_FOUND
        if not principal.platform_admin and principal.user.role != "admin":
            raise ApiError(403, "forbidden", "Only an administrator of the municipality may do this.")
    # The platform administrator's token is configured, not issued: it has no "own token" here.
    elif request.endpoint in OWN_TOKEN_ENDPOINTS and not authenticate().belongs_to(request.view_args["tenant"]):
        raise NOT_FOUND


def _tenant_json(tenant) -> dict:
    return {"slug": tenant.slug, "name": tenant.name, "municipality_code": tenant.municipality_code,
            "settings": tenant.settings}


@blp.route("/tenants", methods=["POST"])
@blp.arguments(TenantCreateSchema)
@blp.response(201, TenantSchema)
@blp.errors(401, 403, 409, 503)
@blp.doc(summary="Create a tenant (platform admin); it starts with KF and KS")
def create_tenant(data: dict):
    require_platform_admin()
    current_actor.set("platform-admin")  # the founding entries name who created the tenant
    tenants = current_app.extensions["styrkedja"]
    tenant = tenants.create(data["slug"], data["name"], data["municipality_code"], data["settings"])
    return _tenant_json(tenant), 201


@blp.route("/tenants", methods=["GET"])
@blp.response(200, TenantSchema(many=True))
@blp.errors(401, 403, 503)
@blp.doc(summary="List tenants (platform admin)")
def list_tenants():
    require_platform_admin()
    return [_tenant_json(t) for t in current_app.extensions["styrkedja"].platform.tenants()]


@blp.route("/t/<tenant>/users", methods=["POST"])
@blp.arguments(UserCreateSchema)
@blp.response(201, UserCreatedSchema)
@blp.errors(401, 403, 404, 409, 422, 503)
@blp.doc(summary="Add a user to a tenant (tenant admin or platform admin); answers the token once")
def create_user(data: dict, tenant: str):
    principal = authenticate()
    tenants = current_app.extensions["styrkedja"]
    if not (principal.platform_admin or principal.belongs_to(tenant)) or tenants.platform.find_tenant(tenant) is None:
        raise NOT_FOUND
    if not principal.platform_admin and principal.user.role != "admin":
        raise ApiError(403, "forbidden", "Only an administrator of the municipality may add users.")
    app = tenants.get(tenant)
    for code in data["bodies"]:
        if not app.exists("body", code):
            raise ApiError(422, "unknown_reference", f"There is no body {code}.")
    user, token = tenants.platform.add_user(tenant, data["email"], data["name"], data["role"], data["bodies"])
    guard().note("token_issued", "success", tenant, user.id, actor_id=principal.id)
    return {"id": str(user.id), "token": token}, 201


# --- tokens: rotation and revocation ---------------------------------------------------------------
# A rotated or revoked token fails at once in the process that changed it, and within
# Platform.AUTH_CACHE_SECONDS (5 s) in every other process (each keeps a short cache of verified tokens).


def _tenant_user(tenant: str, user_id: str) -> User:
    """A user of this tenant by id; anything else (another tenant's user, no such tenant) is 404."""
    platform = current_app.extensions["styrkedja"].platform
    if platform.find_tenant(tenant) is None:
        raise NOT_FOUND
    try:
        user = platform.user(UUID(user_id))
    except (ValueError, NotFoundError):
        raise ApiError(404, "not_found", "No such user in this municipality.") from None
    if not isinstance(user, User) or user.tenant != tenant:
        raise ApiError(404, "not_found", "No such user in this municipality.")
    if not user.active:
        raise ApiError(409, "user_deactivated", "The user is deactivated; their access has ended.")
    return user


def _rotate(tenant: str, user: User, actor_id: str | None = None) -> tuple[dict, int]:
    """actor_id: the administrator who did it (None: the user, for themself)."""
    token = current_app.extensions["styrkedja"].platform.rotate_token(user.id)
    guard().note("token_rotated", "success", tenant, user.id, actor_id=actor_id)
    return {"id": str(user.id), "token": token}, 201


def _revoke(tenant: str, user: User, actor_id: str | None = None) -> tuple[str, int]:
    current_app.extensions["styrkedja"].platform.revoke_token(user.id)
    guard().note("token_revoked", "success", tenant, user.id, actor_id=actor_id)
    return "", 204


@blp.route("/t/<tenant>/users/<user_id>/token", methods=["POST"])
@blp.response(201, UserCreatedSchema)
@blp.errors(401, 403, 404, 409, 503)
@blp.doc(summary="Give a user a new API token (tenant admin or platform admin); the old one stops working")
def rotate_user_token(tenant: str, user_id: str):
    return _rotate(tenant, _tenant_user(tenant, user_id), authenticate().id)


@blp.route("/t/<tenant>/users/<user_id>/token", methods=["DELETE"])
@blp.response(204)
@blp.errors(401, 403, 404, 409, 503)
@blp.doc(summary="Revoke a user's API token (tenant admin or platform admin); password sign-in is unaffected")
def revoke_user_token(tenant: str, user_id: str):
    return _revoke(tenant, _tenant_user(tenant, user_id), authenticate().id)


@blp.route("/t/<tenant>/me/token", methods=["POST"])
@blp.response(201, UserCreatedSchema)
@blp.errors(401, 404, 503)
@blp.doc(summary="Rotate the caller's own API token; the answer holds the new one, the old one stops working")
def rotate_own_token(tenant: str):
    return _rotate(tenant, authenticate().user)


@blp.route("/t/<tenant>/me/token", methods=["DELETE"])
@blp.response(204)
@blp.errors(401, 404, 503)
@blp.doc(summary="Revoke the caller's own API token")
def revoke_own_token(tenant: str):
    return _revoke(tenant, authenticate().user)


# --- the access audit trail ----------------------------------------------------------------------------


class AccessLogQuerySchema(Strict):
    before = fields.Integer(validate=validate.Range(min=1, max=2**62),
                            metadata={"description": "next_before of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class AccessEntrySchema(Schema):
    id = fields.Integer()
    at = fields.String(metadata={"description": "UTC, ISO 8601 with offset"})
    tenant = fields.String(allow_none=True)
    user_id = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "sign_in, token_use, token_failure, token_issued, "
                                                  "token_rotated, token_revoked, password_set, user_deactivated "
                                                  "or user_reactivated"})
    outcome = fields.String(metadata={"description": "success, failure or rate_limited"})
    ip = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    actor_id = fields.String(allow_none=True, metadata={
        "description": "who acted on the user's access: an administrator's user id, platform-admin, or null "
                       "when it was the user"})


class AccessLogSchema(Schema):
    entries = fields.List(fields.Nested(AccessEntrySchema))
    next_before = fields.Integer(allow_none=True)


@blp.route("/t/<tenant>/access-log", methods=["GET"])
@blp.arguments(AccessLogQuerySchema, location="query")
@blp.response(200, AccessLogSchema)
@blp.errors(401, 403, 404, 503)
@blp.doc(summary="Sign-ins and token use of the tenant, newest first (tenant admin or platform admin)")
def access_log(query: dict, tenant: str):
    if current_app.extensions["styrkedja"].platform.find_tenant(tenant) is None:
        raise NOT_FOUND
    entries = guard().audit.page(tenant, before=query.get("before"), limit=query["limit"])
    next_before = entries[-1].id if len(entries) == query["limit"] else None
    return {"entries": [e.as_dict() for e in entries], "next_before": next_before}
