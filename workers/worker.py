"""The RQ worker of `styrkedja worker`: RQ's own, registering itself again when Redis has forgotten it."""

from __future__ import annotations

from rq import Worker, worker_registration


class ReportWorker(Worker):
    """A Redis restarted without persistence forgets every worker's registration while the workers go on
    taking jobs; RQ never registers them again, so `rq info` and `styrkedja ready --worker` (the container's
    health check) would call a working worker missing. Each heartbeat puts the registration back."""

    def heartbeat(self, timeout: int | None = None, pipeline=None):
        if not self.connection.sismember(worker_registration.REDIS_WORKER_KEYS, self.key):
            self.connection.delete(self.key)  # a bare hash left by a heartbeat since the restart
            self.register_birth()
        return super().heartbeat(timeout, pipeline)
