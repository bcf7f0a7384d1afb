"""Operations over HTTP: /healthz, /readyz with a service down or lagging, /metrics' protection, JSON log lines."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from web import create_app
from web.logs import JsonFormatter


def _closed_port() -> int:
    """A port nothing listens on: bound and released at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """A TCP relay to PostgreSQL that the test can cut, as a database that goes away under a running app."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        # shutdown first: close() alone leaves the port listening while accept() blocks in the thread.
        for s in (self.server, *self.sockets):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


def _app(tmp_path, **config):
    flask_app = create_app({"DATA_DIR": str(tmp_path / "data"), "ADMIN_TOKEN": "ops-admin", **config})
    return flask_app, flask_app.test_client()


@pytest.fixture
def embedded(tmp_path):
    flask_app, client = _app(tmp_path)
    yield client
    flask_app.extensions["styrkedja"].close()


def _record_a_term(client, slug: str = "opsby", request_id: str | None = None):
    admin = {"Authorization": "Bearer ops-admin"}
    assert client.post("/api/v1/tenants", headers=admin,
                       json={"slug": slug, "name": "Opsby kommun", "municipality_code": "1998"}).status_code == 201
    token = client.post(f"/api/v1/t/{slug}/users", headers=admin, json={
        "email": "reg@opsby.example", "name": "Reg", "role": "registrar", "bodies": []}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}", **({"X-Request-ID": request_id} if request_id else {})}
    answer = client.post(f"/api/v1/t/{slug}/terms", headers=headers,
                         json={"code": "M2023", "first_year": 2023, "last_year": 2026})
    assert answer.status_code == 201, answer.get_json()
    return answer


def test_healthz_answers_ok_without_touching_any_service(tmp_path):
    flask_app, client = _app(tmp_path, REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    answer = client.get("/healthz")
    assert (answer.status_code, answer.get_json()) == (200, {"status": "ok"})
    flask_app.extensions["styrkedja"].close()


def test_readyz_in_the_embedded_default_checks_sqlite_and_storage_and_needs_no_redis(embedded):
    answer = embedded.get("/readyz")
    assert answer.status_code == 200
    checks = answer.get_json()["checks"]
    assert checks["database"]["kind"] == "sqlite" and checks["database"]["state"] == "ok"
    assert checks["redis"]["state"] == "not_configured"
    assert checks["projections"] == {**checks["projections"], "state": "ok", "mode": "on_read"}
    assert checks["storage"]["state"] == "ok"
    assert answer.headers["Cache-Control"] == "no-store"


def test_readyz_answers_503_naming_redis_when_redis_is_unreachable(tmp_path):
    flask_app, client = _app(tmp_path, REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0")
    answer = client.get("/readyz")
    body = answer.get_json()
    assert answer.status_code == 503
    assert body["status"] == "not_ready"
    assert body["checks"]["redis"]["state"] == "failed"
    assert body["checks"]["database"]["state"] == "ok"
    flask_app.extensions["styrkedja"].close()


def test_readyz_answers_503_naming_the_database_when_postgresql_goes_away(tmp_path, clean_pg):
    from urllib.parse import urlparse

    pg = urlparse(clean_pg)
    proxy = Proxy(pg.port or 5432)
    through_proxy = clean_pg.replace(f"{pg.hostname}:{pg.port or 5432}", f"127.0.0.1:{proxy.port}")
    flask_app, client = _app(tmp_path, DATABASE_URL=through_proxy)
    try:
        assert client.get("/readyz").status_code == 200
        proxy.cut()  # the port is closed from now on
        answer = client.get("/readyz")
        body = answer.get_json()
        assert answer.status_code == 503
        assert body["checks"]["database"]["state"] == "failed"
        assert body["checks"]["projections"]["state"] == "failed"
        assert client.get("/healthz").status_code == 200  # the process itself is still up
    finally:
        proxy.cut()
        flask_app.extensions["styrkedja"].close()


def test_readyz_answers_503_while_a_tenants_projection_lags_behind_the_limit(tmp_path, clean_pg):
    from projections.runner import ProjectionRunner

    flask_app, client = _app(tmp_path, DATABASE_URL=clean_pg, READY_MAX_LAG=1)
    try:
        _record_a_term(client)  # the founding bodies and the term: three entries, and no runner
        body = client.get("/readyz").get_json()
        assert body["checks"]["projections"] == {**body["checks"]["projections"], "state": "lagging",
                                                 "lagging": ["opsby"], "max_lag": 3}
        ProjectionRunner(flask_app.extensions["styrkedja"]).sweep()
        assert client.get("/readyz").status_code == 200
    finally:
        flask_app.extensions["styrkedja"].close()


def _scrape(client, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/metrics", headers=headers)


def test_metrics_are_refused_without_the_metrics_or_admin_token(tmp_path):
    flask_app, client = _app(tmp_path, METRICS_TOKEN="scraper-token")
    assert _scrape(client, None).status_code == 401
    assert _scrape(client, "guess").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic scraper-token"}).status_code == 401
    for token in ("scraper-token", "ops-admin"):
        answer = _scrape(client, token)
        assert answer.status_code == 200
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Content-Type"].startswith("text/plain")
    flask_app.extensions["styrkedja"].close()


def test_metrics_count_a_recorded_command_its_request_and_the_tenants_lag(embedded):
    def samples():
        text = _scrape(embedded, "ops-admin").get_data(as_text=True)
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    command = ("styrkedja_commands_recorded_total", (("command", "open_term"), ("tenant", "opsby")))
    before = samples().get(command, 0)  # counters live as long as the test process
    position = _record_a_term(embedded).get_json()["position"]
    after = samples()
    assert after[command] == before + 1
    assert after[("styrkedja_ledger_head_position", (("tenant", "opsby"),))] == position
    assert after[("styrkedja_projection_lag_events", (("tenant", "opsby"),))] == position  # nothing read yet
    assert after[("styrkedja_report_queue_length", ())] == 0
    latency = ("styrkedja_http_request_duration_seconds_count", (("endpoint", "commands.open_term"),))
    assert after[latency] >= 1


def test_metrics_count_what_was_recorded_not_a_repeat_or_a_refusal(embedded):
    def count(name: str) -> float:
        text = _scrape(embedded, "ops-admin").get_data(as_text=True)
        return {tuple(sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
                for s in family.samples if s.name == "styrkedja_commands_recorded_total"}.get(
            (("command", name), ("tenant", "repeatby")), 0)

    _record_a_term(embedded, slug="repeatby")
    token = embedded.post("/api/v1/t/repeatby/users", headers={"Authorization": "Bearer ops-admin"}, json={
        "email": "reg2@repeatby.example", "name": "Reg", "role": "registrar", "bodies": []}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "4a3c6f0e-term-2027"}
    body = {"code": "M2027", "first_year": 2027, "last_year": 2030}
    before = count("open_term")
    for _ in range(3):  # the same command resent: recorded once, answered 201 three times
        assert embedded.post("/api/v1/t/repeatby/terms", headers=headers, json=body).status_code == 201
    refused = embedded.post("/api/v1/t/repeatby/terms", headers={"Authorization": f"Bearer {token}"}, json=body)
    assert refused.status_code == 409
    assert count("open_term") == before + 1


@pytest.fixture
def access_lines():
    """What the app logs, formatted as the stack writes it (JSON lines)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("styrkedja.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_the_access_log_is_a_json_line_with_the_request_id_tenant_user_and_timing(embedded, access_lines):
    answer = _record_a_term(embedded, request_id="client-req-42")
    assert answer.headers["X-Request-ID"] == "client-req-42"
    line = next(line for line in access_lines() if line.get("request_id") == "client-req-42")
    assert line == {**line, "level": "INFO", "logger": "styrkedja.access", "tenant": "opsby", "method": "POST",
                    "path": "/api/v1/t/opsby/terms", "status": 201}
    assert line["user_id"] and isinstance(line["duration_ms"], float)
    assert line["time"].endswith("+00:00")


def test_a_request_id_that_could_break_a_log_line_is_replaced_by_a_generated_one(embedded, access_lines):
    answer = embedded.get("/api/v1/tenants", headers={"X-Request-ID": "evil\" id with spaces"})
    generated = answer.headers["X-Request-ID"]
    assert generated != "evil\" id with spaces" and len(generated) == 32
    line = next(line for line in access_lines() if line.get("request_id") == generated)
    assert line["status"] == 401 and "tenant" not in line
