"""Ledger queries: the tenant's log in order, its head, and verification of the hash chain."""

from __future__ import annotations

from flask import request

from web.api.base import Blueprint
from web.api.schemas import EventsQuerySchema, LedgerEventSchema, LedgerHeadSchema, VerificationSchema
from web.auth import READ
from web.tenancy import tenant_app

blp = Blueprint("ledger", __name__, url_prefix="/api/v1/t/<tenant>", description="The ledger")


@blp.before_request
def authorise():
    """The caller before the query: no token is 401 and a foreign tenant 404, whatever else the request says."""
    if request.view_args and "tenant" in request.view_args:
        tenant_app(request.view_args["tenant"], READ)


@blp.route("/events", methods=["GET"])
@blp.arguments(EventsQuerySchema, location="query")
@blp.response(200, LedgerEventSchema(many=True))
@blp.errors(401, 403, 404, 503)
@blp.doc(summary="The tenant's log in order, in the ledger format (page with after and limit)")
def events(query: dict, tenant: str):
    app = tenant_app(tenant, READ)
    return [entry.as_record() for entry in app.ledger_entries(after=query["after"], limit=query["limit"])]


@blp.route("/ledger", methods=["GET"])
@blp.response(200, LedgerHeadSchema)
@blp.errors(401, 403, 404, 503)
@blp.doc(summary="The head of the ledger")
def head(tenant: str):
    app = tenant_app(tenant, READ)
    position, hash_, _ = app.ledger_head()
    return {"head_position": position, "head_hash": hash_}


@blp.route("/ledger/verify", methods=["GET"])
@blp.response(200, VerificationSchema)
@blp.errors(401, 403, 404, 503)
@blp.doc(summary="Recompute the hash chain from the stored rows")
def verify(tenant: str):
    app = tenant_app(tenant, READ)
    return app.verify_ledger().as_dict()
