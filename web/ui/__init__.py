"""The browser UI: server-rendered Swedish pages on the same application services as the API."""

from __future__ import annotations


def init_ui(app) -> None:
    # Importing the modules registers their routes and filters on the blueprint.
    from web.ui import bodies, filters, pages, signin  # noqa: F401
    from web.ui.blueprint import ui
    from web.ui.security import init_security

    app.register_blueprint(ui)
    init_security(app)
