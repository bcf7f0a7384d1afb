"""Who signed in and which tokens were used, per tenant; and a limit on clients that keep sending bad tokens."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import threading
import time

from flask import Flask, current_app, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from domain.platform import User
from projections.access_audit import AccessAudit, AccessEvent
from web.errors import ApiError

log = logging.getLogger(__name__)

# A legitimate client with a wrong token stops after its first 401; this only caps what a guesser (or a
# runaway script) costs the user store. RATELIMIT_ENABLED=False turns it off with the sign-in limit.
DEFAULT_TOKEN_FAILURE_LIMIT = "100 per minute"
# Token use is recorded once per token per hour: the common request pays a dict lookup, not a write.
USE_PERIOD_SECONDS = 3600
MEMO_MAX = 100_000
WELL_FORMED_TOKEN = re.compile(r"^sk_[0-9a-f]{32}_[A-Za-z0-9_-]{20,100}$")


class AccessGuard:
    """The app's access audit trail and its limiter of failed token attempts per client address."""

    def __init__(self, app: Flask) -> None:
        self.audit = AccessAudit(app.extensions["styrkedja"].config)
        self.failure_limit = parse(app.config["TOKEN_FAILURE_LIMIT"])
        self.window = MovingWindowRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))
        self.limiting = app.config.get("RATELIMIT_ENABLED", True)
        self._used: dict[tuple, bool] = {}
        self._refusals_noted: dict[str, float] = {}
        self._lock = threading.Lock()

    # --- recording ---------------------------------------------------------------------------

    def record(self, kind: str, outcome: str, tenant: str | None = None, user_id=None, actor_id=None) -> None:
        """Append one row for the current request. The trail must never lock anyone out: a failing
        store is logged, not raised. `actor_id`: the administrator who acted on the user's access."""
        event = AccessEvent(at=dt.datetime.now(dt.UTC), tenant=tenant, user_id=str(user_id) if user_id else None,
                            kind=kind, outcome=outcome, ip=request.remote_addr,
                            user_agent=request.headers.get("User-Agent"), actor_id=str(actor_id) if actor_id else None)
        try:
            self.audit.append(event)
        except Exception:  # any store failure: the request itself goes on
            log.warning("access audit: could not record %s/%s for %s", kind, outcome, tenant, exc_info=True)
            raise _NotRecorded from None

    def token_used(self, user: User) -> None:
        key = (user.id, user.token_digest, int(time.time() // USE_PERIOD_SECONDS))
        if key in self._used:
            return
        try:
            self.record("token_use", "success", user.tenant, user.id)
        except _NotRecorded:
            return  # not remembered, so the next request tries again
        with self._lock:
            if len(self._used) >= MEMO_MAX:
                self._used.clear()
            self._used[key] = True

    def note(self, kind: str, outcome: str, tenant: str | None = None, user_id=None, actor_id=None) -> None:
        with contextlib.suppress(_NotRecorded):
            self.record(kind, outcome, tenant, user_id, actor_id)

    # --- bad tokens ----------------------------------------------------------------------------

    def token_refused(self, token: str) -> ApiError:
        """The answer to a token that did not authenticate: 401, or 429 once the client has failed too often.

        Only tokens shaped like ours (sk_<user id>_<secret>) count and are recorded: each costs a read of
        the user store, which is what a guesser spends. Anything else is refused without a lookup.
        """
        if not WELL_FORMED_TOKEN.match(token):
            return ApiError(401, "invalid_token", "The token is not valid.")
        ip = request.remote_addr or "-"
        tenant = self._tenant_in_path()
        try:
            allowed = not self.limiting or self.window.hit(self.failure_limit, "token-failure", ip)
        except Exception:  # the limiter's store is down: do not lock everyone out
            log.warning("token failure limiter unavailable", exc_info=True)
            allowed = True
        if allowed:
            self.note("token_failure", "failure", tenant)
            return ApiError(401, "invalid_token", "The token is not valid.")
        reset = self.window.get_window_stats(self.failure_limit, "token-failure", ip).reset_time
        retry_after = max(1, int(reset - time.time()) + 1)
        if self.first_refusal(f"token:{ip}", reset):
            self.note("token_failure", "rate_limited", tenant)
        return ApiError(429, "too_many_requests",
                        f"Too many failed token attempts from this address; retry in {retry_after} s.",
                        headers={"Retry-After": str(retry_after)})

    def first_refusal(self, key: str, until: float) -> bool:
        """True for a client's first refusal until `until`: one row per client and window, not one per
        refused request, so a flood does not flood the trail."""
        with self._lock:
            if self._refusals_noted.get(key, 0.0) >= time.time():
                return False
            if len(self._refusals_noted) >= MEMO_MAX:
                self._refusals_noted.clear()
            self._refusals_noted[key] = until
            return True

    @staticmethod
    def _tenant_in_path() -> str | None:
        """The tenant the request names, if it exists (failures against made-up names are kept tenantless)."""
        slug = (request.view_args or {}).get("tenant")
        if not isinstance(slug, str):
            return None
        try:
            exists = current_app.extensions["styrkedja"].platform.find_tenant(slug) is not None
        except Exception:  # the registry is down; the row still counts the attempt
            exists = False
        return slug if exists else None


class _NotRecorded(Exception):
    pass


def init_access(app: Flask) -> AccessGuard:
    app.config.setdefault("TOKEN_FAILURE_LIMIT",
                          os.environ.get("STYRKEDJA_TOKEN_FAILURE_LIMIT") or DEFAULT_TOKEN_FAILURE_LIMIT)
    guard = app.extensions["styrkedja_access"] = AccessGuard(app)
    return guard


def guard() -> AccessGuard:
    return current_app.extensions["styrkedja_access"]


def token_used(user: User) -> None:
    """Hook for web/auth.py after a user's token authenticated (cheap: a dict lookup most of the time)."""
    access = current_app.extensions.get("styrkedja_access")
    if access is not None:
        access.token_used(user)


def token_refused(token: str) -> ApiError:
    """Hook for web/auth.py when a token did not authenticate: the error to raise (401 or 429)."""
    access = current_app.extensions.get("styrkedja_access")
    if access is None:
        return ApiError(401, "invalid_token", "The token is not valid.")
    return access.token_refused(token)
