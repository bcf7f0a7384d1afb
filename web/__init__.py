"""Styrkedja's web layer: the Flask app factory composing the API, the operations endpoints and the UI."""

from __future__ import annotations

import os

from flask import Flask

from domain.context import current_actor
from domain.stores import StoreConfig


def create_app(config: dict | None = None) -> Flask:
    """Defaults, then the environment, then the caller's overrides; one composition root for all."""
    from projections.tenants import Tenants
    from web import errors
    from web.api import init_api
    from web.ops import init_ops
    from web.ui import init_ui
    from workers.jobs import use_artifact_store, use_tenants
    from workers.queue import ReportQueue
    from workers.storage import artifact_store_from

    app = Flask(__name__)
    app.config.update(
        DATA_DIR=os.environ.get("STYRKEDJA_DATA_DIR", "./var"),
        DATABASE_URL=os.environ.get("DATABASE_URL") or None,
        REDIS_URL=os.environ.get("REDIS_URL") or None,
        ARTIFACT_STORE=os.environ.get("STYRKEDJA_ARTIFACT_STORE") or None,
        ADMIN_TOKEN=os.environ.get("STYRKEDJA_ADMIN_TOKEN") or None,
        SECRET_KEY=os.environ.get("SECRET_KEY") or os.urandom(32).hex(),
        POOL_SIZE=int(os.environ.get("STYRKEDJA_POOL_SIZE", "5")),
        # Larger bodies answer 413 before any parsing (JSON for the API, Swedish HTML for the UI).
        MAX_CONTENT_LENGTH=int(os.environ.get("STYRKEDJA_MAX_REQUEST_BYTES") or 1024 * 1024),
        SESSION_COOKIE_SECURE=os.environ.get("STYRKEDJA_SECURE_COOKIES", "") == "1",
        JSON_SORT_KEYS=False,
    )
    app.config.update(config or {})
    store = StoreConfig.from_environ({
        "STYRKEDJA_DATA_DIR": str(app.config["DATA_DIR"]),
        "DATABASE_URL": app.config["DATABASE_URL"] or "",
        "STYRKEDJA_POOL_SIZE": str(app.config["POOL_SIZE"]),
    })
    tenants = app.extensions["styrkedja"] = app.config.get("TENANTS") or Tenants(store)
    queue = ReportQueue(app.config["REDIS_URL"])
    artifacts = artifact_store_from(tenants.config.data_dir, app.config["ARTIFACT_STORE"])
    if queue.in_process:
        use_tenants(tenants)  # jobs in this process read through the same registry
        use_artifact_store(artifacts)  # ...and write where this process reads
    app.extensions["styrkedja_reports"] = {"store": artifacts, "queue": queue}

    @app.before_request
    def forget_previous_actor():
        # Worker threads are reused across requests: nobody acts until this request says who.
        current_actor.set(None)

    @app.teardown_request
    def forget_actor(_error=None):
        # ...and nobody goes on acting after it: code the same thread runs next outside a request (a test
        # client's caller, a fixture recording the demo) must not record in this request's user's name.
        current_actor.set(None)

    errors.register(app)
    init_ops(app)
    init_api(app)
    init_ui(app)
    return app
