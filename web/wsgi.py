"""WSGI entry point for gunicorn: the app configured from the environment."""

from web import create_app

app = create_app()
