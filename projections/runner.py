"""The projection runner: keeps every tenant's read models caught up, woken by PostgreSQL NOTIFY."""

from __future__ import annotations

import logging
import threading
import time

from projections.tenants import Tenants

log = logging.getLogger(__name__)


class ProjectionRunner:
    """One process serves all tenants: one LISTEN connection for every tenant's channel.

    Each batch of view rows is written in one transaction with its tracking record, so a runner
    killed at any moment applies nothing twice when it starts again. A periodic sweep catches up
    whatever a missed notification (or a restart) left behind.
    """

    def __init__(self, tenants: Tenants, sweep_seconds: float = 5.0) -> None:
        self.tenants = tenants
        self.sweep_seconds = sweep_seconds
        self.stopping = threading.Event()
        self.applied = 0

    def catch_up(self, slug: str) -> int:
        views = self.tenants.views(slug)
        applied = views.catch_up() if views else 0
        self.applied += applied
        return applied

    def sweep(self) -> dict[str, str]:
        """Catch every tenant up; the channel each one notifies on."""
        channels = {}
        for tenant in self.tenants.platform.tenants():
            self.catch_up(tenant.slug)
            app = self.tenants.get(tenant.slug)
            channels[getattr(app.recorder, "channel_name", tenant.slug)] = tenant.slug
        return channels

    def run(self) -> None:
        if self.tenants.config.is_postgres:
            self._run_listening()
        else:
            while not self.stopping.is_set():
                self.sweep()
                self.stopping.wait(0.2)

    def _run_listening(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.tenants.config.database_url, autocommit=True) as conn:
            listening: dict[str, str] = {}
            last_sweep = 0.0
            while not self.stopping.is_set():
                if time.monotonic() - last_sweep >= self.sweep_seconds:
                    channels = self.sweep()
                    for channel in channels.keys() - listening.keys():
                        conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    listening = channels
                    last_sweep = time.monotonic()
                # Return on the first notification (catch up at once), then take what else has queued.
                woken = {notify.channel for notify in conn.notifies(timeout=0.5, stop_after=1)}
                woken |= {notify.channel for notify in conn.notifies(timeout=0.0)} if woken else set()
                for channel in woken:
                    slug = listening.get(channel)
                    if slug:
                        self.catch_up(slug)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run_logged, name="projection-runner", daemon=True)
        thread.start()
        return thread

    def _run_logged(self) -> None:
        try:
            self.run()
        except Exception:  # keep the reason in the log; the process supervisor restarts us
            log.exception("projection runner stopped")
            raise

    def stop(self) -> None:
        self.stopping.set()


def rebuild(tenants: Tenants, slug: str) -> int:
    """Drop a tenant's read models and build them again from the log; the result is identical."""
    views = tenants.views(slug)
    views.views.clear()
    return views.catch_up()
