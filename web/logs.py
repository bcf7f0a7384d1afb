"""Log lines for every process: JSON lines (or plain text) carrying the request id, tenant and user."""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import os
import sys

from pythonjsonlogger.json import JsonFormatter as _LibraryJsonFormatter

# Set per request by web/ops.py; a worker or the projection runner leaves them empty.
request_context: contextvars.ContextVar[dict | None] = contextvars.ContextVar("styrkedja_request", default=None)

CONTEXT_FIELDS = ("request_id", "tenant", "user_id")
FORMATS = ("json", "text")


def log_format(environ=os.environ) -> str:
    """STYRKEDJA_LOG_FORMAT: json in the stack and the image, text (for a person at a terminal) otherwise."""
    chosen = (environ.get("STYRKEDJA_LOG_FORMAT") or "text").strip().lower()
    if chosen not in FORMATS:
        raise ValueError(f"STYRKEDJA_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {chosen!r}")
    return chosen


def _iso(created: float) -> str:
    return dt.datetime.fromtimestamp(created, dt.UTC).isoformat(timespec="milliseconds")


class JsonFormatter(_LibraryJsonFormatter):
    """One JSON object per line: time (UTC, with offset), level, logger, message, then context and extras."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("json_ensure_ascii", False)  # Swedish names stay readable in the log
        super().__init__(*args, **kwargs)

    def add_fields(self, log_data: dict, record: logging.LogRecord, message_dict: dict) -> None:
        log_data["time"] = _iso(record.created)
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.getMessage()
        context = request_context.get()
        if context:
            for name in CONTEXT_FIELDS:
                if context.get(name) is not None:
                    log_data[name] = context[name]
        super().add_fields(log_data, record, message_dict)


class TextFormatter(logging.Formatter):
    """A readable line with the request id, when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _iso(record.created)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = request_context.get()
        if context and context.get("request_id"):
            line = f"{line} [request_id={context['request_id']}]"
        return line


def formatter(fmt: str | None = None) -> logging.Formatter:
    return JsonFormatter() if (fmt or log_format()) == "json" else TextFormatter()


def configure_logging(fmt: str | None = None, level: int = logging.INFO, stream=None) -> None:
    """Give the root logger one handler in the chosen format; calling it again changes nothing."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter | TextFormatter):
            return  # set up already (by gunicorn's logconfig_dict, or an earlier call)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level)


def gunicorn_logconfig(fmt: str | None = None) -> dict:
    """gunicorn's logconfig_dict: its own messages and the app's through one handler in the chosen format."""
    name = "web.logs.JsonFormatter" if (fmt or log_format()) == "json" else "web.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            # The app writes its own access line with request id and tenant; gunicorn's would repeat it.
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "styrkedja",
                                 "stream": "ext://sys.stderr"}},
        "formatters": {"styrkedja": {"()": name}},
    }
