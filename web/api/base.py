"""The project's Blueprint: malformed input answers 400 with marshmallow's field errors (docs/api.md)."""

from __future__ import annotations

import http

import flask_smorest
from webargs.flaskparser import FlaskParser, abort, is_json_request


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400
    # A misspelt query parameter (?afer=100) is an error, not silently ignored: schemas decide.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}

    def _raw_load_json(self, req):
        # webargs reads a body sent without a JSON Content-Type as no body at all, and the answer then named
        # every field as missing although they were sent: say what is wrong instead.
        if not is_json_request(req) and req.get_data(cache=True).strip():
            abort(400, messages={"json": ["Send the body as JSON, with Content-Type: application/json."]})
        return super()._raw_load_json(req)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def errors(self, *statuses: int):
        """Document the refusals a view can answer, each with its body (docs/api.md, "Answers")."""
        def decorator(func):
            for status in statuses:
                func = self.alt_response(status, response=http.HTTPStatus(status).name)(func)
            return func
        return decorator
