"""The project's Blueprint: malformed input answers 400 with marshmallow's field errors (docs/api.md)."""

from __future__ import annotations

import http

import flask_smorest
from webargs.flaskparser import FlaskParser


class Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400
    # A misspelt query parameter (?afer=100) is an error, not silently ignored: schemas decide.
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": None, "querystring": None}


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = Parser()

    def errors(self, *statuses: int):
        """Document the refusals a view can answer, each with its body (docs/api.md, "Answers")."""
        def decorator(func):
            for status in statuses:
                func = self.alt_response(status, response=http.HTTPStatus(status).name)(func)
            return func
        return decorator
