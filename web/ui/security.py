"""Browser and API security: CSRF on every form, rate-limited sign-in, strict headers and cookies."""

from __future__ import annotations

import os

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

csrf = CSRFProtect()
# headers_enabled: a refused sign-in says when to try again (Retry-After), as the API's 429 does.
# auto_check off: only the browser UI has limits (sign-in), so only its requests are checked (see
# init_security); checking every API request found nothing to limit at ~4 % of a command's CPU.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True, auto_check=False)

# No inline script or style anywhere: every script and stylesheet is a file under /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# API answers are data, never a page: nothing may load from them and nobody may frame them.
API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=31536000; includeSubDomains"


def init_security(app) -> None:
    from web.access_audit import init_access

    # Behind a TLS-terminating proxy, its X-Forwarded-For/-Proto decide the client address (rate limits,
    # audit trail) and whether the request was secure (HSTS, secure cookies); trusted only when told so.
    app.config.setdefault("TRUST_PROXY", os.environ.get("STYRKEDJA_TRUST_PROXY", "") not in ("", "0"))
    if app.config["TRUST_PROXY"] and not isinstance(app.wsgi_app, ProxyFix):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the session bounds a form's life
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # Redis down must not lock everyone out
    # Said outright: the limiter is one object per process, and init_app keeps a setting the app leaves out
    # from the app before it (a test app with limits off turned them off for the next one).
    app.config.setdefault("RATELIMIT_ENABLED", True)
    csrf.init_app(app)
    limiter.init_app(app)
    app.before_request_funcs.setdefault("ui", []).append(limiter.check)
    init_access(app)
    for name, blueprint in app.blueprints.items():
        if name != "ui":
            csrf.exempt(blueprint)  # the API authenticates with bearer tokens, not cookies

    @app.after_request
    def headers(response):
        # Every answer, errors included: UI pages, API JSON, static files, 404/413/429/500 alike.
        policy = API_CONTENT_SECURITY_POLICY if request.path.startswith("/api/") else CONTENT_SECURITY_POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
