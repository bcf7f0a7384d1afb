"""The HTTP API, version 1: flask-smorest blueprints whose schemas both validate and document."""

from __future__ import annotations

import http

from flask import request
from flask_smorest import Api
from flask_smorest.utils import prepare_response

from web.api.schemas import ErrorSchema, ValidationErrorSchema
from web.errors import error_body


class StyrkedjaApi(Api):
    # The document describes the error bodies the app really sends (docs/api.md, "Answers").
    ERROR_SCHEMA = ErrorSchema

    def _register_responses(self):
        """One response component per status, with the body that status really has (400 differs)."""
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if status >= 400:
                response["schema"] = ValidationErrorSchema if status == 400 else ErrorSchema
            prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any other error", "schema": ErrorSchema}
        prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)

    def handle_http_exception(self, error):
        if not request.path.startswith("/api/"):
            from web.ui.errors import html_error

            return html_error(error)
        data = getattr(error, "data", None) or {}
        messages = data.get("messages")
        if error.code == 400 and messages is not None:
            # webargs nests errors by location; clients expect the body's fields at the top.
            flat: dict = {}
            for location, location_errors in messages.items():
                if isinstance(location_errors, dict):
                    flat.update(location_errors)
                else:  # e.g. a body that is not JSON at all: {"json": ["Invalid JSON body."]}
                    flat[location] = location_errors
            return {"errors": flat}, 400, data.get("headers", {})
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
                415: "unsupported_media_type"}.get(error.code, "error")
        if error.code >= 500:
            code = "internal_error"
        return error_body(code, error.description or error.name), error.code, data.get("headers", {})


def init_api(app) -> StyrkedjaApi:
    app.config.setdefault("API_TITLE", "Styrkedja")
    app.config.setdefault("API_VERSION", "1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", "/api/v1")
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = StyrkedjaApi(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}]})
    from flask_smorest.spec.plugins import integerconverter2paramschema

    from web.api.commands import YearConverter

    app.url_map.converters["year"] = YearConverter
    api.register_converter(YearConverter, integerconverter2paramschema)
    from web.api.ledger import blp as ledger_blp
    from web.api.platform import blp as platform_blp
    from web.api.queries import blp as queries_blp
    from web.api.reports import blp as reports_blp
    from web.api.tenant_commands import blp as commands_blp

    for blp in (platform_blp, commands_blp, ledger_blp, queries_blp, reports_blp):
        api.register_blueprint(blp)
    return api
