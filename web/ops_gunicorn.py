"""gunicorn settings of the stack and the image: logs in the app's format, Prometheus multiprocess bookkeeping."""

import os

from web.logs import gunicorn_logconfig

logconfig_dict = gunicorn_logconfig()


def child_exit(server, worker) -> None:
    # A dead worker's live gauges must not be summed into /metrics any more (prometheus_client multiprocess).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
