"""WSGI entry point for gunicorn: the app configured from the environment."""

from web import create_app
from web.logs import configure_logging

configure_logging()  # in the chosen format, unless gunicorn's logconfig_dict set it up already
app = create_app()
