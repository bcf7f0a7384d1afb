"""Where report jobs run: an RQ queue on Redis in production, a thread in the embedded default."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from workers.jobs import build_report

log = logging.getLogger(__name__)

QUEUE_NAME = "reports"
JOB_TIMEOUT_SECONDS = 600
RETRY_INTERVALS = [10, 30, 60]


class ReportQueue:
    """Enqueue report jobs; with no Redis configured they run in this process, one at a time."""

    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url
        self._executor: ThreadPoolExecutor | None = None
        self._queue = None

    @property
    def in_process(self) -> bool:
        return not self.redis_url

    def queue(self):
        if self._queue is None:
            from redis import Redis
            from rq import Queue

            connection = Redis.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=5)
            self._queue = Queue(QUEUE_NAME, connection=connection)
        return self._queue

    def enqueue(self, tenant: str, rid: str, **kwargs) -> None:
        """Hand the job over; raises a redis ConnectionError (answered 503) when Redis is down."""
        if self.in_process:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reports")
            self._executor.submit(self._run_logged, tenant, rid, kwargs)
            return
        from rq import Retry

        self.queue().enqueue(
            build_report, tenant=tenant, rid=rid, **kwargs,
            job_id=f"report-{tenant}-{rid}", retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
            job_timeout=JOB_TIMEOUT_SECONDS, result_ttl=86400, failure_ttl=7 * 86400,
            description=f"{kwargs.get('kind')} for {tenant} at position {kwargs.get('position')}",
        )

    @staticmethod
    def _run_logged(tenant: str, rid: str, kwargs: dict) -> None:
        try:
            build_report(tenant=tenant, rid=rid, **kwargs)
        except Exception:  # recorded in the manifest as failed with its reason
            log.warning("in-process report %s failed", rid)

    def job_status(self, tenant: str, rid: str) -> tuple[str | None, str | None]:
        """RQ's view of a job (status, error), for jobs that died without updating their manifest."""
        if self.in_process:
            return None, None
        from rq.job import Job, NoSuchJobError

        try:
            job = Job.fetch(f"report-{tenant}-{rid}", connection=self.queue().connection)
        except NoSuchJobError:
            return None, None
        status = job.get_status(refresh=True)
        error = None
        if status == "failed":
            latest = job.latest_result()
            error = (latest.exc_string or "").strip().splitlines()[-1] if latest and latest.exc_string else None
        return (status.value if hasattr(status, "value") else status), error

    def wait_idle(self) -> None:
        """For tests and shutdown: finish in-process jobs."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
