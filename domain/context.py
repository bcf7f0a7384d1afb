"""Who is acting: set by the web and worker entrypoints, read when events are recorded."""

from contextvars import ContextVar

current_actor: ContextVar[str | None] = ContextVar("current_actor", default=None)
