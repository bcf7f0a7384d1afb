"""Load generator: N clients record decisions across M tenants over HTTP, then every acknowledgement is checked."""

from __future__ import annotations

import contextlib
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests

MEETING = "2023-11-20"  # every decision of the mix was taken at this meeting: never in the future
INDICATORS = ("N1", "N2", "N3", "N4")
RETRY_PAUSE = (0.2, 1.0)  # first and longest pause before resending an unacknowledged request
COMMANDS = ("define_indicator", "fix_goal_target")


def kf(paragraph: int) -> dict:
    return {"body": "KF", "date": MEETING, "paragraph": f"§{paragraph}"}


@dataclass
class LoadTenant:
    slug: str
    tokens: dict[str, str]
    setup_head: int = 0


@dataclass
class Ack:
    """A decision the server acknowledged with 201."""

    slug: str
    key: str
    kind: str
    path: str
    body: dict
    position: int
    event_id: str
    attempts: int
    acked_at: float  # monotonic


@dataclass
class Attempt:
    at: float  # monotonic, when the answer (or the failure) came
    status: int  # 0: no HTTP answer (connection refused or reset, timeout)
    latency: float
    code: str | None = None

    @property
    def sent(self) -> float:
        return self.at - self.latency


@dataclass
class Window:
    """A fault: from the moment the service went away until it was back."""

    name: str
    start: float
    end: float | None = None
    excuses: bool = True  # False: the fault must not show in the answers (Redis down, commands go on)


class LoadError(AssertionError):
    pass


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Load:
    """Bounded by time and count; every request carries an Idempotency-Key and is resent with the same one."""

    def __init__(self, base_url: str, admin_token: str, *, tenants: int = 10, clients: int = 8,
                 seconds: float = 15.0, max_decisions: int = 100_000, prefix: str = "last",
                 request_timeout: float = 30.0, give_up_after: float = 60.0, tag: str = "L") -> None:
        self.base = base_url.rstrip("/")
        self.admin_token = admin_token
        self.n_tenants, self.n_clients = tenants, clients
        self.seconds, self.max_decisions = seconds, max_decisions
        self.prefix = prefix
        self.tag = tag  # starts every indicator code this run defines: two runs into one tenant must differ
        self.request_timeout = request_timeout
        self.give_up_after = give_up_after  # an unacknowledged request is resent this long past the end
        self.tenants: list[LoadTenant] = []
        self.acks: list[Ack] = []
        self.attempts: list[Attempt] = []
        self.failures: list[str] = []  # answers no fault excuses (a 500, a 400 ...)
        self.unresolved: list[tuple[str, str]] = []  # (slug, key) never acknowledged
        self.windows: list[Window] = []
        self._lock = threading.Lock()
        self._sent = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started_at = self.ended_at = 0.0

    # --- setup -------------------------------------------------------------------------------------

    def _call(self, session: requests.Session, method: str, path: str, token: str, body=None,
              wanted: int = 201) -> dict:
        response = session.request(method, self.base + path, json=body, timeout=self.request_timeout,
                                   headers={"Authorization": f"Bearer {token}"})
        if response.status_code != wanted:
            raise LoadError(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else {}

    def _set_up_one(self, index: int) -> LoadTenant:
        slug = f"{self.prefix}-{index:03d}"
        t = f"/api/v1/t/{slug}"
        with requests.Session() as s:
            tokens = {}
            for role in ("registrar", "auditor"):
                tokens[role] = self._call(s, "POST", f"{t}/users", self.admin_token, {
                    "email": f"{role}@{slug}.example", "name": role.capitalize(), "role": role})["token"]
            token = tokens["registrar"]
            self._call(s, "POST", f"{t}/terms", token, {"code": "T2023", "first_year": 2023, "last_year": 2026})
            for code in INDICATORS:
                self._call(s, "POST", f"{t}/indicators", token,
                           {"code": code, "name": f"Bas {code}", "unit": "st", "direction": "decrease"})
            self._call(s, "POST", f"{t}/goals", token,
                       {"code": "G1", "term": "T2023", "title": "Mål 1", "decision": kf(1)})
            head = self._call(s, "GET", f"{t}/ledger", token, wanted=200)["head_position"]
        return LoadTenant(slug, tokens, head)

    def set_up(self) -> None:
        # Tenants are created one at a time: projections.pool.connection() calls pool.open(wait=True), which
        # fails an assertion in psycopg_pool when two threads of one process wait at once (docs/operations.md).
        with requests.Session() as s:
            for index in range(self.n_tenants):
                self._call(s, "POST", "/api/v1/tenants", self.admin_token, {
                    "slug": f"{self.prefix}-{index:03d}", "name": f"Lastkommun {index}", "municipality_code": "1487"})
        with ThreadPoolExecutor(max(1, min(self.n_clients, 8))) as pool:
            self.tenants = list(pool.map(self._set_up_one, range(self.n_tenants)))

    # --- the load ----------------------------------------------------------------------------------

    def tenant(self, slug: str) -> LoadTenant:
        return next(t for t in self.tenants if t.slug == slug)

    def _request(self, client: int, seq: int, rng: random.Random) -> tuple[LoadTenant, str, str, dict]:
        tenant = self.tenants[rng.randrange(len(self.tenants))]
        kind = COMMANDS[seq % len(COMMANDS)]
        if kind == "define_indicator":
            return tenant, kind, "/indicators", {"code": f"{self.tag}{client:02d}-{seq:06d}",
                                                 "name": f"Nyckeltal {seq}", "unit": "%", "direction": "increase"}
        return tenant, kind, "/goals/G1/targets", {
            "indicator": INDICATORS[seq % 4], "year": 2023 + (seq // 4) % 4, "value": seq + 0.5,
            "decision": kf(client * 100_000 + seq + 2)}

    def _claim(self) -> bool:
        with self._lock:
            if self._sent >= self.max_decisions:
                return False
            self._sent += 1
            return True

    def _client(self, client: int) -> None:
        rng = random.Random(client)
        session = requests.Session()
        seq = 0
        while not self._stop.is_set() and time.monotonic() < self.started_at + self.seconds and self._claim():
            tenant, kind, path, body = self._request(client, seq, rng)
            seq += 1
            self._send(session, tenant, kind, path, body)
        session.close()

    def _send(self, session: requests.Session, tenant: LoadTenant, kind: str, path: str, body: dict) -> None:
        key = str(uuid.uuid4())
        url = f"{self.base}/api/v1/t/{tenant.slug}{path}"
        headers = {"Authorization": f"Bearer {tenant.tokens['registrar']}", "Idempotency-Key": key}
        pause, tries = RETRY_PAUSE[0], 0
        give_up_at = self.started_at + self.seconds + self.give_up_after
        while True:
            tries += 1
            started = time.monotonic()
            status, code, answer = 0, None, {}
            try:
                response = session.post(url, json=body, headers=headers, timeout=self.request_timeout)
                status = response.status_code
                with contextlib.suppress(ValueError):
                    answer = response.json()
                if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
                    code = answer["error"].get("code")
            except requests.RequestException as error:
                code = type(error).__name__
                session.close()  # a broken keep-alive connection is not reused
                session = requests.Session()
            now = time.monotonic()
            with self._lock:
                self.attempts.append(Attempt(now, status, now - started, code))
            if status == 201:
                with self._lock:
                    self.acks.append(Ack(tenant.slug, key, kind, path, body, answer["position"], answer["event_id"],
                                         tries, now))
                return
            retriable = status in (0, 503) or (status == 409 and code not in ("already_exists",))
            if not retriable:
                with self._lock:
                    self.failures.append(f"{tenant.slug} {kind} {status} {answer}")
                return
            if now > give_up_at:
                with self._lock:
                    self.unresolved.append((tenant.slug, key))
                return
            time.sleep(pause)
            pause = min(pause * 2, RETRY_PAUSE[1])

    def start(self) -> None:
        if not self.tenants:
            self.set_up()
        self.started_at = time.monotonic()
        self._threads = [threading.Thread(target=self._client, args=(i,), name=f"load-{i}", daemon=True)
                         for i in range(self.n_clients)]
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=self.seconds + self.give_up_after + 2 * self.request_timeout + 30)
        self.ended_at = time.monotonic()

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        self.start()
        self.join()

    @contextlib.contextmanager
    def fault(self, name: str, excuses: bool = True):
        """Mark the time from the service's going away to its return: the only time a 503 is excused."""
        window = Window(name, time.monotonic(), excuses=excuses)
        self.windows.append(window)
        try:
            yield window
        finally:
            window.end = time.monotonic()

    # --- checks ------------------------------------------------------------------------------------

    def events(self, tenant: LoadTenant) -> list[dict]:
        out: list[dict] = []
        with requests.Session() as s:
            while True:
                page = self._call(s, "GET", f"/api/v1/t/{tenant.slug}/events?after={len(out)}&limit=1000",
                                  tenant.tokens["auditor"], wanted=200)
                page = page["events"] if isinstance(page, dict) else page
                if not page:
                    return out
                out += page

    def check_tenant(self, tenant: LoadTenant) -> dict:
        """Every acknowledged decision once at its position, positions 1..head, the chain verifies."""
        problems = []
        events = self.events(tenant)
        positions = [e["position"] for e in events]
        if positions != list(range(1, len(events) + 1)):
            missing = sorted(set(range(1, max(positions, default=0) + 1)) - set(positions))
            problems.append(f"positions not 1..{len(events)}: missing {missing[:10]}")
        ids = Counter(e["id"] for e in events)
        doubled = [i for i, n in ids.items() if n > 1]
        if doubled:
            problems.append(f"event ids twice: {doubled[:5]}")
        by_position = {e["position"]: e for e in events}
        acks = [a for a in self.acks if a.slug == tenant.slug]
        for ack in acks:
            event = by_position.get(ack.position)
            if event is None or event["id"] != ack.event_id:
                problems.append(f"acknowledged {ack.kind} {ack.event_id} not at position {ack.position}")
        acked_ids = [a.event_id for a in acks]
        if len(set(acked_ids)) != len(acked_ids):
            problems.append("two acknowledgements name the same event")
        recorded = len(events) - tenant.setup_head
        unresolved = sum(1 for slug, _ in self.unresolved if slug == tenant.slug)
        # Nothing recorded twice, nothing lost: each key is one decision; an unanswered one may or may not be in.
        if not len(acks) <= recorded <= len(acks) + unresolved:
            problems.append(f"{recorded} decisions recorded under load, {len(acks)} acknowledged, "
                            f"{unresolved} never answered")
        with requests.Session() as s:
            verified = self._call(s, "GET", f"/api/v1/t/{tenant.slug}/ledger/verify", tenant.tokens["auditor"],
                                  wanted=200)
            head = self._call(s, "GET", f"/api/v1/t/{tenant.slug}/ledger", tenant.tokens["auditor"], wanted=200)
        if not verified["ok"] or verified["checked"] != len(events) or head["head_position"] != len(events):
            problems.append(f"ledger verify {verified}, head {head}, {len(events)} events served")
        return {"slug": tenant.slug, "head": len(events), "head_hash": head["head_hash"], "acks": len(acks),
                "problems": problems}

    def resend_some(self, n: int = 5) -> list[str]:
        """Resend acknowledged requests with their keys: the first answer comes back, nothing is recorded."""
        problems = []
        rng = random.Random(7)
        with requests.Session() as s:
            for ack in rng.sample(self.acks, min(n, len(self.acks))):
                tenant = next(t for t in self.tenants if t.slug == ack.slug)
                headers = {"Authorization": f"Bearer {tenant.tokens['registrar']}", "Idempotency-Key": ack.key}
                before = self._call(s, "GET", f"/api/v1/t/{ack.slug}/ledger", tenant.tokens["auditor"], wanted=200)
                again = s.post(f"{self.base}/api/v1/t/{ack.slug}{ack.path}", json=ack.body, headers=headers,
                               timeout=self.request_timeout)
                after = self._call(s, "GET", f"/api/v1/t/{ack.slug}/ledger", tenant.tokens["auditor"], wanted=200)
                body = again.json() if again.content else {}
                if again.status_code != 201 or body.get("event_id") != ack.event_id or \
                        body.get("position") != ack.position:
                    problems.append(f"resent {ack.key}: {again.status_code} {body}, first answer {ack.position}")
                if after["head_position"] != before["head_position"]:
                    problems.append(f"resent {ack.key} moved {ack.slug}'s head {before} -> {after}")
        return problems

    def excused(self, attempt: Attempt, grace: float) -> bool:
        """In flight while the service was away, or sent within `grace` after it was back (pools reconnecting)."""
        return any(w.excuses and attempt.at >= w.start and attempt.sent <= (w.end or attempt.sent) + grace
                   for w in self.windows)

    def answer_problems(self, grace: float = 15.0) -> list[str]:
        """5xx other than a 503, or a 503 / no answer outside a fault window (plus `grace` to recover)."""
        problems = list(self.failures)
        for a in self.attempts:
            if a.status >= 500 and a.status != 503:
                problems.append(f"{a.status} {a.code} at +{a.at - self.started_at:.1f} s")
            elif a.status in (0, 503) and not self.excused(a, grace):
                when = a.at - self.started_at
                problems.append(f"{a.status or 'no answer'} {a.code} outside a fault at +{when:.1f} s")
        return problems

    def verify(self, grace: float = 15.0) -> list[dict]:
        """All checks; raises LoadError naming every problem."""
        problems = self.answer_problems(grace)
        if self.unresolved:
            problems.append(f"{len(self.unresolved)} requests never acknowledged")
        with ThreadPoolExecutor(4) as pool:
            tenants = list(pool.map(self.check_tenant, self.tenants))
        for t in tenants:
            problems += [f"{t['slug']}: {p}" for p in t["problems"]]
        problems += self.resend_some()
        if problems:
            raise LoadError(f"{len(problems)} problems:\n" + "\n".join(problems[:40]))
        return tenants

    # --- figures -----------------------------------------------------------------------------------

    def window_figures(self, window: Window) -> dict:
        """What the clients saw of one fault: 503s, failed connections, and when decisions were recorded again."""
        end = window.end or time.monotonic()
        during = [a for a in self.attempts if window.start <= a.at]
        refused = [a for a in during if a.status in (0, 503)]
        acks_after = [a.acked_at for a in self.acks if a.acked_at >= end]
        acks_during = [a for a in self.acks if window.start <= a.acked_at < end]
        last_refused = max((a.at for a in refused), default=None)
        return {
            "fault": window.name,
            "service_down_s": round(end - window.start, 2),
            "answers_503": sum(1 for a in refused if a.status == 503),
            "no_answer": sum(1 for a in refused if a.status == 0),
            "first_503_or_failure_after_s": round(min(a.at for a in refused) - window.start, 2) if refused else None,
            "last_503_or_failure_after_back_s": round(last_refused - end, 2) if last_refused else None,
            "acknowledged_while_down": len(acks_during),
            "first_ack_after_back_s": round(min(acks_after) - end, 2) if acks_after else None,
            "statuses": dict(Counter(str(a.status) for a in during)),
            "longest_wait_of_a_request_sent_while_down_s": round(max(
                (a.latency for a in self.attempts if window.start <= a.sent <= end), default=0), 2),
        }

    def summary(self) -> dict:
        elapsed = (self.ended_at or time.monotonic()) - self.started_at
        latencies = [a.latency for a in self.attempts if a.status == 201]
        return {
            "clients": self.n_clients, "tenants": self.n_tenants, "seconds": round(elapsed, 2),
            "acknowledged": len(self.acks), "decisions_per_s": round(len(self.acks) / elapsed, 1) if elapsed else 0,
            "latency_ms": {"p50": _ms(percentile(latencies, 0.50)), "p99": _ms(percentile(latencies, 0.99)),
                           "mean": _ms(statistics.fmean(latencies)) if latencies else None,
                           "max": _ms(max(latencies, default=None))},
            "attempts": len(self.attempts), "resent": sum(a.attempts - 1 for a in self.acks),
            "statuses": dict(sorted(Counter(str(a.status) for a in self.attempts).items())),
            "unresolved": len(self.unresolved), "failures": len(self.failures),
            "mix": dict(Counter(a.kind for a in self.acks)),
            "faults": [self.window_figures(w) for w in self.windows],
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def wait_for(check, what: str, timeout: float, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def request_report(base: str, tenant: LoadTenant, body: dict | None = None, timeout: float = 30.0):
    body = body or {"kind": "discharge_basis", "body": "KS", "year": 2024, "format": "pdf"}
    return requests.post(f"{base}/api/v1/t/{tenant.slug}/reports", json=body, timeout=timeout,
                         headers={"Authorization": f"Bearer {tenant.tokens['auditor']}"})


def report_status(base: str, tenant: LoadTenant, rid: str) -> dict:
    response = requests.get(f"{base}/api/v1/t/{tenant.slug}/reports/{rid}", timeout=30,
                            headers={"Authorization": f"Bearer {tenant.tokens['auditor']}"})
    response.raise_for_status()
    return response.json()
