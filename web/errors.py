"""One table from domain exceptions to HTTP status, and one JSON error shape everywhere."""

from __future__ import annotations

import logging

from eventsourcing.persistence import InterfaceError, OperationalError
from flask import jsonify

from domain import errors as e

log = logging.getLogger(__name__)

STATUS_BY_ERROR: list[tuple[type[e.DomainError], int]] = [
    (e.NotFoundError, 404),
    (e.AlreadyExistsError, 409),
    (e.AlreadyRetractedError, 409),
    (e.ConcurrencyError, 409),
    (e.DomainError, 422),
]

# Errors of a backing service (database, pool, queue): answered 503, and nothing was half-written
# because every command is one atomic save.
SERVICE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, ConnectionError, TimeoutError)
try:
    from psycopg import OperationalError as ConnectionLost
    from psycopg_pool import PoolTimeout

    # The driver's own error, raised past the library's retries when the server goes away mid-command
    # (a connection held for a whole command, commit on a dead socket).
    SERVICE_ERRORS += (PoolTimeout, ConnectionLost)
except ImportError:  # pragma: no cover - psycopg is a dependency
    pass
try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    SERVICE_ERRORS += (RedisConnectionError, RedisTimeoutError)
except ImportError:  # pragma: no cover
    pass


class ApiError(Exception):
    """An answer other than success, raised from a view."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}  # e.g. Retry-After on 429


def error_body(code: str, message: str, field: str | None = None) -> dict:
    error = {"code": code, "message": message}
    if field:
        error["field"] = field
    return {"error": error}


def status_of(error: e.DomainError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(error, cls):
            return status
    return 422


def _broke_mid_command(error: Exception) -> bool:
    try:
        from psycopg import OperationalError as DriverError
        from psycopg_pool import PoolTimeout
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(error, DriverError) and not isinstance(error, PoolTimeout)


def register(app) -> None:
    @app.errorhandler(e.DomainError)
    def domain_error(error: e.DomainError):
        return jsonify(error_body(error.code, error.message, error.field)), status_of(error)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        return jsonify(error_body(error.code, error.message)), error.status, error.headers

    def service_down(error: Exception):
        log.warning("backing service unavailable: %s", error)
        if _broke_mid_command(error):
            # The connection may have died during the commit: the save was atomic, but whether it landed is
            # unknown here. Resending with the same Idempotency-Key answers the truth without recording twice.
            message = ("The database connection broke during the request; it was recorded entirely or not at all. "
                       "Resend it with the same Idempotency-Key to learn which.")
        else:
            message = "A backing service is unavailable; nothing was recorded. Try again shortly."
        return jsonify(error_body("service_unavailable", message)), 503

    for cls in SERVICE_ERRORS:
        app.register_error_handler(cls, service_down)
