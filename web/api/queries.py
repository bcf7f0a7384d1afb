"""Read-side queries: state as of a date and a record time, one body's state, the timeline, the diff."""

from __future__ import annotations

import datetime as dt

from flask import current_app, request

from projections.queries import TenantViews
from web.api.base import Blueprint
from web.api.schemas import (
    AsOfQuerySchema,
    DiffQuerySchema,
    DiffSchema,
    StateSchema,
    TimelinePageSchema,
    TimelineQuerySchema,
)
from web.auth import READ
from web.errors import ApiError
from web.tenancy import tenant_app

blp = Blueprint("queries", __name__, url_prefix="/api/v1/t/<tenant>", description="State, timeline and diff")


@blp.before_request
def authorise():
    """The caller before the query: no token is 401 and a foreign tenant 404, whatever else the request says."""
    if request.view_args and "tenant" in request.view_args:
        tenant_app(request.view_args["tenant"], READ)


LAG_TIMEOUT_SECONDS = 2.0


def read_side(tenant: str, min_position: int | None) -> TenantViews:
    """The tenant's read models, up to date enough for the caller (or 503 projection_lagging)."""
    tenant_app(tenant, READ)
    tenants = current_app.extensions["styrkedja"]
    views = tenants.views(tenant)
    wait = current_app.config.get("MIN_POSITION_WAIT_SECONDS", LAG_TIMEOUT_SECONDS)
    if tenants.inline_projections:
        views.catch_up()
    # A position beyond the models may still be committing (elsewhere, or another process on the same files):
    # wait, bounded, then refuse rather than answer from an earlier one.
    if min_position is not None and not views.wait_for(min_position, wait, catching_up=tenants.inline_projections):
        raise ApiError(503, "projection_lagging",
                       f"The read models have not reached position {min_position} yet; try again shortly.")
    return views


@blp.route("/state", methods=["GET"])
@blp.arguments(AsOfQuerySchema, location="query")
@blp.response(200, StateSchema)
@blp.errors(401, 403, 404, 503)
@blp.doc(summary="The whole plan state in force on as_of, as recorded up to known_at")
def state(query: dict, tenant: str):
    views = read_side(tenant, query["min_position"])
    return views.state(query["as_of"] or dt.date.today(), query["known_at"])


@blp.route("/bodies/<body>/state", methods=["GET"])
@blp.arguments(AsOfQuerySchema, location="query")
@blp.response(200, StateSchema)
@blp.errors(401, 403, 404, 503)
@blp.doc(summary="One body's state in force on as_of, as recorded up to known_at")
def body_state(query: dict, tenant: str, body: str):
    views = read_side(tenant, query["min_position"])
    full = views.state(query["as_of"] or dt.date.today(), query["known_at"])
    bodies = [b for b in full["bodies"] if b["code"] == body]
    if not bodies:
        raise ApiError(404, "not_found", f"There is no body {body} in force on {full['as_of']}.")
    full["bodies"] = bodies
    full["assignments"] = [a for a in full["assignments"] if a.get("to_body") == body]
    return full


@blp.route("/timeline", methods=["GET"])
@blp.arguments(TimelineQuerySchema, location="query")
@blp.response(200, TimelinePageSchema)
@blp.errors(401, 403, 404, 503)
@blp.doc(summary="Decisions and reports, newest first, with both times, decision, recorder and hash")
def timeline(query: dict, tenant: str):
    views = read_side(tenant, query["min_position"])
    head = views.head()
    entries, next_cursor = views.timeline(
        body=query["body"], subject=query["subject"], type_=query["type"], date_from=query["from_"],
        date_to=query["to"], cursor=query["cursor"], limit=query["limit"], upto=head)
    return {"position": head, "entries": entries, "next_cursor": next_cursor}


@blp.route("/diff", methods=["GET"])
@blp.arguments(DiffQuerySchema, location="query")
@blp.response(200, DiffSchema)
@blp.errors(401, 403, 404, 503)
@blp.doc(summary="What changed in force between two dates, change by change, with the decision behind each")
def diff(query: dict, tenant: str):
    views = read_side(tenant, query["min_position"])
    return views.diff(query["from_"], query["to"], query["known_at"])
