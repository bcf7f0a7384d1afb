"""Operations endpoints and hooks: /healthz, /readyz, /metrics, request ids and the JSON access log."""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from domain.context import recorded_commands
from web.logs import request_context
from web.ops_checks import max_lag, readiness, tenant_positions, tenant_slugs

access_log = logging.getLogger("styrkedja.access")
log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
# Accept a caller's id only if it is short and cannot break a log line or a header.
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
OPS_ENDPOINTS = frozenset({"ops_healthz", "ops_readyz", "ops_metrics"})

# Request metrics live in a registry of their own: tests create many apps in one process, and under
# gunicorn (PROMETHEUS_MULTIPROC_DIR set) the values go to per-process files that /metrics adds up.
disable_created_metrics()  # a *_created series per label set only doubles what a scrape carries
REGISTRY = CollectorRegistry()
REQUESTS = Counter("styrkedja_http_requests", "HTTP requests answered, by endpoint, method and status",
                   ["endpoint", "method", "status"], registry=REGISTRY)
LATENCY = Histogram("styrkedja_http_request_duration_seconds", "Time to answer an HTTP request, by endpoint",
                    ["endpoint"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
COMMANDS = Counter("styrkedja_commands_recorded", "Commands recorded (API or browser), by tenant and command",
                   ["tenant", "command"], registry=REGISTRY)


def init_ops(app: Flask) -> None:
    """Register the endpoints and the per-request hooks (request id first, access line last)."""
    app.config.setdefault("METRICS_TOKEN", os.environ.get("STYRKEDJA_METRICS_TOKEN") or None)
    app.config.setdefault("READY_MAX_LAG", max_lag())
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_finish_request)
    app.teardown_request(_forget_request)
    app.add_url_rule("/healthz", "ops_healthz", healthz)
    app.add_url_rule("/readyz", "ops_readyz", readyz)
    app.add_url_rule("/metrics", "ops_metrics", metrics)


def _start_request() -> None:
    # Werkzeug's request and g proxies cost a lookup each: resolve them once per hook.
    req = request._get_current_object()
    offered = req.headers.get(REQUEST_ID_HEADER, "")
    request_id = offered if VALID_REQUEST_ID.match(offered) else uuid.uuid4().hex
    tenant = (req.view_args or {}).get("tenant")
    context = {"request_id": request_id, "tenant": tenant if isinstance(tenant, str) else None, "user_id": None,
               "started": time.perf_counter(), "recorded": recorded_commands.set(0)}
    context["token"] = request_context.set(context)
    g.request_id = request_id


def _user_id(here) -> str | None:
    principal = here.get("principal")
    if principal is not None:
        return principal.id
    user = here.get("user")
    return str(user.id) if user is not None and getattr(user, "id", None) is not None else None


def _finish_request(response: Response) -> Response:
    context = request_context.get()
    if context is None or "started" not in context:  # a request that failed before our first hook ran
        return response
    elapsed = time.perf_counter() - context["started"]
    req = request._get_current_object()
    endpoint = req.endpoint or "unmatched"
    method, status = req.method, response.status_code
    response.headers[REQUEST_ID_HEADER] = context["request_id"]
    context["user_id"] = _user_id(g._get_current_object())
    if endpoint not in OPS_ENDPOINTS:
        REQUESTS.labels(endpoint, method, str(status)).inc()
        LATENCY.labels(endpoint).observe(elapsed)
        # What the request recorded, not how it was answered: a repeated Idempotency-Key is answered 201 again
        # and records nothing; a decision from the browser is answered 303 and records one.
        recorded = recorded_commands.get()
        command = g.get("command_name")
        if recorded and command and context["tenant"]:
            COMMANDS.labels(context["tenant"], command).inc(recorded)
    # Probes answer every few seconds: their lines would bury the rest unless something is wrong.
    if (endpoint not in OPS_ENDPOINTS or status >= 400) and access_log.isEnabledFor(logging.INFO):
        path = req.path
        # makeRecord + handle is what .info() does, less the walk up the stack for a caller nobody reads.
        access_log.handle(access_log.makeRecord(
            access_log.name, logging.INFO, __file__, 0, "%s %s %s", (method, path, status), None, extra={
                "method": method, "path": path, "status": status, "duration_ms": round(elapsed * 1000, 2)}))
    return response


def _forget_request(_error=None) -> None:
    context = request_context.get()
    if context is not None and "token" in context:
        recorded_commands.reset(context.pop("recorded"))
        request_context.reset(context.pop("token"))


def healthz():
    """The process is up and answering; touches no database or queue."""
    return _json({"status": "ok"}, 200)


def readyz():
    """Fit to serve: 200 or 503, with each check and its state."""
    queue = current_app.extensions["styrkedja_reports"]["queue"]
    # Artifacts kept in object storage need no local disk once the database is PostgreSQL.
    local_disk = not (current_app.config.get("ARTIFACT_STORE") and current_app.config.get("DATABASE_URL"))
    # Object storage is checked for itself: a missing bucket used to pass here and fail every report request.
    store = current_app.extensions["styrkedja_reports"]["store"] if current_app.config.get("ARTIFACT_STORE") else None
    ready, body = readiness(current_app.extensions["styrkedja"], queue.redis_url, current_app.config["READY_MAX_LAG"],
                            check_storage=local_disk, artifacts=store)
    return _json(body, 200 if ready else 503)


def _json(body: dict, status: int) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def metrics_tokens(app: Flask) -> list[str]:
    return [t for t in (app.config.get("METRICS_TOKEN"), app.config.get("ADMIN_TOKEN")) if t]


def metrics():
    """Prometheus text format; only for a bearer of the metrics token or the platform admin token."""
    header = request.headers.get("Authorization", "")
    scheme, _, offered = header.partition(" ")
    offered = offered.strip().encode()
    allowed = scheme.lower() == "bearer" and offered and any(
        hmac.compare_digest(offered, token.encode()) for token in metrics_tokens(current_app))
    if not allowed:
        response = _json({"error": {"code": "unauthenticated",
                                    "message": "Send Authorization: Bearer <metrics token>."}}, 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(_LiveCollector(current_app.extensions["styrkedja"],
                                     current_app.extensions["styrkedja_reports"]["queue"]))
    response = Response(generate_latest(registry), status=200, mimetype=None)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response


class _Forward:
    """This process's own request metrics, when no multiprocess directory gathers them."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self):
        return self.registry.collect()


class _LiveCollector:
    """Read at scrape time from the source of truth: projection lag per tenant and the report queue."""

    def __init__(self, tenants, queue) -> None:
        self.tenants = tenants
        self.queue = queue

    def collect(self):
        head = GaugeMetricFamily("styrkedja_ledger_head_position", "Last ledger position recorded", labels=["tenant"])
        projected = GaugeMetricFamily("styrkedja_projected_position", "Last ledger position in the read models",
                                      labels=["tenant"])
        lag = GaugeMetricFamily("styrkedja_projection_lag_events", "Ledger entries not yet in the read models",
                                labels=["tenant"])
        up = GaugeMetricFamily("styrkedja_metrics_source_up", "Whether a source of these metrics answered the scrape",
                               labels=["source"])
        try:
            positions = tenant_positions(self.tenants.config, tenant_slugs(self.tenants.platform))
        except Exception as error:  # the request metrics are still worth a scrape with the database down
            log.warning("metrics: database unavailable: %s: %s", type(error).__name__, error)
            positions = None
        up.add_metric(["database"], 0 if positions is None else 1)
        for position in positions or ():
            head.add_metric([position.slug], position.head)
            projected.add_metric([position.slug], position.projected)
            lag.add_metric([position.slug], position.lag)
        yield from (head, projected, lag)
        queued = GaugeMetricFamily("styrkedja_report_queue_length", "Report jobs waiting in the Redis queue")
        if self.queue.in_process:
            queued.add_metric([], 0)  # the embedded default runs reports in-process: nothing ever waits in Redis
        else:
            try:
                queued.add_metric([], self.queue.queue().count)
                up.add_metric(["redis"], 1)
            except Exception as error:
                log.warning("metrics: Redis unavailable: %s: %s", type(error).__name__, error)
                up.add_metric(["redis"], 0)
        yield queued
        yield up
