"""Views for every command of the table: auth before parsing, body scope after, idempotency keys honoured."""

from __future__ import annotations

from flask import g, request
from webargs.flaskparser import abort

from domain.application import Governance
from projections.pool import one_connection
from web.api.base import Blueprint
from web.api.commands import COMMANDS, Command, scope_of
from web.api.schemas import RecordingSchema
from web.errors import ApiError
from web.tenancy import tenant_app

blp = Blueprint("commands", __name__, url_prefix="/api/v1/t/<tenant>", description="Record decisions")

ROLES_BY_ENDPOINT: dict[str, tuple[str, ...]] = {}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "maxLength": 200},
    "description": "A key of the client's choosing (a UUID): a repeat with the same key and body is recorded once "
                   "and answered with the first answer; the same key with another body is 422 "
                   "idempotency_key_reused."}


@blp.before_request
def authorise():
    """Authenticate and check the role before the body is parsed: a viewer gets 403, not 400."""
    roles = ROLES_BY_ENDPOINT.get(request.endpoint or "")
    if roles is not None:
        g.app = tenant_app(request.view_args["tenant"], roles)


def _make_view(command: Command):
    @blp.arguments(command.schema())  # one schema instance per command, not one per request
    @blp.response(201, RecordingSchema)
    @blp.errors(401, 403, 404, 409, 422, 503)
    @blp.doc(summary=command.summary, operationId=command.name, parameters=[IDEMPOTENCY_KEY])
    def view(data: dict, tenant: str, **path):
        app: Governance = g.app
        g.command_name = command.name  # the metric's label (web/ops.py)
        # On PostgreSQL the command's reads and its save share one pooled connection, not one each.
        with one_connection(app.config):
            body = scope_of(command, app, data, path)
            if not g.principal.may_act_for(body):
                raise ApiError(403, "forbidden", f"You may not record for {body}.")
            key = request.headers.get("Idempotency-Key")
            idem = {}
            if key:
                if len(key) > 200:
                    # Raised, not returned: a returned body would be dumped through RecordingSchema as {}.
                    abort(400, messages={"headers": {"Idempotency-Key": ["At most 200 characters."]}})
                idem["idempotency"] = (key, Governance.fingerprint(command.name, path,
                                                                   request.get_json(silent=True)))
            return command.run(app, data, path, idem), 201

    view.__name__ = command.name
    return view


for _command in COMMANDS:
    blp.route(_command.path, methods=["POST"], endpoint=_command.name)(_make_view(_command))
    ROLES_BY_ENDPOINT[f"{blp.name}.{_command.name}"] = _command.roles
