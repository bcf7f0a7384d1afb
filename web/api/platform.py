"""Platform endpoints: hosted municipalities and their users."""

from __future__ import annotations

from flask import current_app, request

from domain.context import current_actor
from web.api.base import Blueprint
from web.api.schemas import TenantCreateSchema, TenantSchema, UserCreatedSchema, UserCreateSchema
from web.auth import authenticate, require_platform_admin
from web.errors import ApiError
from web.tenancy import NOT_FOUND

blp = Blueprint("platform", __name__, url_prefix="/api/v1", description="Tenants and users")


@blp.before_request
def authorise():
    """The caller before the body: no token is 401 and a user who may not is 403, whatever they sent."""
    if request.endpoint in ("platform.create_tenant", "platform.list_tenants"):
        require_platform_admin()
    elif request.endpoint == "platform.create_user":
        principal = authenticate()
        tenant = request.view_args["tenant"]
        if not (principal.platform_admin or principal.belongs_to(tenant)):
            raise NOT_FOUND
        if not principal.platform_admin and principal.user.role != "admin":
            raise ApiError(403, "forbidden", "Only an administrator of the municipality may add users.")


def _tenant_json(tenant) -> dict:
    return {"slug": tenant.slug, "name": tenant.name, "municipality_code": tenant.municipality_code,
            "settings": tenant.settings}


@blp.route("/tenants", methods=["POST"])
@blp.arguments(TenantCreateSchema)
@blp.response(201, TenantSchema)
@blp.doc(summary="Create a tenant (platform admin); it starts with KF and KS")
def create_tenant(data: dict):
    require_platform_admin()
    current_actor.set("platform-admin")  # the founding entries name who created the tenant
    tenants = current_app.extensions["styrkedja"]
    tenant = tenants.create(data["slug"], data["name"], data["municipality_code"], data["settings"])
    return _tenant_json(tenant), 201


@blp.route("/tenants", methods=["GET"])
@blp.response(200, TenantSchema(many=True))
@blp.doc(summary="List tenants (platform admin)")
def list_tenants():
    require_platform_admin()
    return [_tenant_json(t) for t in current_app.extensions["styrkedja"].platform.tenants()]


@blp.route("/t/<tenant>/users", methods=["POST"])
@blp.arguments(UserCreateSchema)
@blp.response(201, UserCreatedSchema)
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
    return {"id": str(user.id), "token": token}, 201
