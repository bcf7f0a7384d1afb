"""Who is acting: set by the web and worker entrypoints, read when events are recorded."""

from contextvars import ContextVar

current_actor: ContextVar[str | None] = ContextVar("current_actor", default=None)
# Commands this context has recorded: a repeat answered from its Idempotency-Key, or a refusal, adds nothing.
# The web layer counts decisions by it (web/ops.py), whichever door they came in by.
recorded_commands: ContextVar[int] = ContextVar("recorded_commands", default=0)
