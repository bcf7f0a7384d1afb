"""The browser UI: server-rendered Swedish pages on the same application services as the API."""

from __future__ import annotations


def init_ui(app) -> None:
    # Importing the modules registers their routes and filters on the blueprint.
    from web.ui import (  # noqa: F401
        assignments,
        audit,
        bodies,
        compare,
        filters,
        pages,
        record,
        reports,
        signin,
        statutes,
        timeline,
        users,
    )
    from web.ui.blueprint import ui
    from web.ui.security import init_security

    app.register_blueprint(ui)
    init_security(app)
