"""Hundreds of tenants on one PostgreSQL database share one small pool, and no tenant sees another's data."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psycopg
import pytest
from eventsourcing.application import AggregateNotFoundError
from integration_support import AUTUMN, by

from domain.stores import StoreConfig
from projections.pool import shared_pool_stats
from projections.tenants import Tenants

POOL_SIZE = 5
TENANT_COUNT = 300


def own_tcp_ports() -> set[int] | None:
    """Local ports of this process's TCP sockets (Linux), so other processes on the database are not counted."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.exists():
        return None
    inodes = set()
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


class ConnectionMonitor:
    """Samples, on a connection of its own, how many server connections this process holds on the database."""

    def __init__(self, database_url: str) -> None:
        self.monitor = psycopg.connect(database_url, autocommit=True)
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()

    def held(self) -> int:
        ports = own_tcp_ports()
        with self._lock:
            query = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                     "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
            if ports is None:
                return self.monitor.execute(query).fetchone()[0]
            return self.monitor.execute(query + " AND client_port = ANY(%s)", (sorted(ports),)).fetchone()[0]

    def sample(self) -> int:
        count = self.held()
        self.samples.append(count)
        return count

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.sample()

    def __enter__(self) -> ConnectionMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.monitor.close()


@pytest.fixture
def tenants(clean_pg, tmp_path):
    made = Tenants(StoreConfig(data_dir=tmp_path, database_url=clean_pg, pool_size=POOL_SIZE))
    yield made
    made.close()


def test_three_hundred_tenants_hold_no_more_connections_than_the_pool_size(tenants, clean_pg):
    # Checkpoints lie between two creations and anywhere while touching: no provisioning is under way.
    checkpoints: list[int] = []
    with ConnectionMonitor(clean_pg) as during_creation:
        started = time.perf_counter()
        slowest = 0.0
        for n in range(TENANT_COUNT):
            before = time.perf_counter()
            tenants.create(f"kommun-{n:03d}", f"Kommun {n}", f"{n:04d}")
            slowest = max(slowest, time.perf_counter() - before)
            if n % 25 == 24:
                checkpoints.append(during_creation.held())
        created = time.perf_counter() - started

    with ConnectionMonitor(clean_pg) as during_touching:
        started = time.perf_counter()
        heads = {n: tenants.get(f"kommun-{n:03d}").ledger_head()[0] for n in range(TENANT_COUNT)}
        touched = time.perf_counter() - started
        checkpoints.append(during_touching.held())

    stats = shared_pool_stats()
    print(f"\n{TENANT_COUNT} tenants created in {created:.1f} s: {1000 * created / TENANT_COUNT:.0f} ms per tenant "
          f"(slowest {1000 * slowest:.0f} ms); all touched in {touched:.1f} s "
          f"({1000 * touched / TENANT_COUNT:.1f} ms per tenant). Server connections held by this process: "
          f"at most {max(during_creation.samples, default=0)} while creating "
          f"({len(during_creation.samples)} samples), at most {max(during_touching.samples, default=0)} while "
          f"touching ({len(during_touching.samples)} samples), checkpoints {sorted(set(checkpoints))}; "
          "shared pools: " + ", ".join(f"{s['pool_size']} of max {s['pool_max']}" for s in stats))
    assert set(heads.values()) == {2}
    assert max(checkpoints + during_touching.samples) <= POOL_SIZE
    assert tenants.open_count() <= tenants.cache_size
    assert all(s["pool_size"] <= s["pool_max"] for s in stats)


def warm(tenants: Tenants, slug: str) -> None:
    """Make the shared pool grow to its maximum, as a busy web process would."""
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            tenants.get(slug).ledger_head()

    readers = [threading.Thread(target=read) for _ in range(2 * POOL_SIZE)]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and max(s["pool_size"] for s in shared_pool_stats()) < POOL_SIZE:
        time.sleep(0.01)
    done.set()
    for reader in readers:
        reader.join()
    assert max(s["pool_size"] for s in shared_pool_stats()) == POOL_SIZE


def test_creating_a_tenant_holds_no_connection_beyond_the_pool_size(tenants, clean_pg, monkeypatch):
    tenants.create("kommun-a", "Kommun A", "0001")
    warm(tenants, "kommun-a")
    with ConnectionMonitor(clean_pg) as connections:
        held_at_connect: list[int] = []
        connect = psycopg.connect

        def measured_connect(*args, **kwargs):
            opened = connect(*args, **kwargs)
            held_at_connect.append(connections.held())
            return opened

        monkeypatch.setattr(psycopg, "connect", measured_connect)
        tenants.create("kommun-b", "Kommun B", "0002")
        monkeypatch.undo()
    print(f"\nconnections held when provisioning connects: {held_at_connect} (pool size {POOL_SIZE})")
    assert max(held_at_connect + connections.samples) <= POOL_SIZE


def test_two_tenants_do_not_see_each_others_aggregates(tenants, clean_pg):
    tenants.create("alingsas", "Alingsås", "1489")
    tenants.create("boras", "Borås", "1490")
    alingsas, boras = tenants.get("alingsas"), tenants.get("boras")

    alingsas.establish_body("BUN", "Barn- och utbildningsnämnden", "committee", by("KF", AUTUMN))
    alingsas.define_indicator("BEHORIGHET", "Behörighet till gymnasiet", "percent", "increase")

    assert not boras.exists("body", "BUN")
    with pytest.raises(AggregateNotFoundError):
        boras.repository.get(alingsas.id_for("body", "BUN"))
    with pytest.raises(AggregateNotFoundError):
        boras.repository.get(alingsas.ledger_id)
    assert [e.position for e in boras.ledger_entries()] == [1, 2]
    assert {n.originator_id for n in boras.recorder.select_notifications(1, 100)}.isdisjoint(
        {n.originator_id for n in alingsas.recorder.select_notifications(1, 100)})

    # The same code in the other tenant is its own body, and changes nothing in the first.
    boras.establish_body("BUN", "Barn- och utbildningsnämnden i Borås", "committee", by("KF", AUTUMN))
    assert alingsas.body("BUN").name == "Barn- och utbildningsnämnden"
    assert boras.body("BUN").name == "Barn- och utbildningsnämnden i Borås"
    assert (alingsas.ledger_head()[0], boras.ledger_head()[0]) == (4, 3)
    assert alingsas.verify_ledger().ok and boras.verify_ledger().ok

    with psycopg.connect(clean_pg) as db:
        rows = db.execute('SELECT count(*) FROM "t_boras"."gov_boras_events" WHERE originator_id = %s',
                          (alingsas.id_for("body", "BUN"),)).fetchone()[0]
    assert rows == 0


@pytest.mark.parametrize("slug", ["Bad_Slug", "a", "x" * 41, "-ab"])
def test_an_invalid_slug_is_refused_and_nothing_is_provisioned(tenants, clean_pg, slug):
    with psycopg.connect(clean_pg) as db:
        schemas_before = db.execute("SELECT nspname FROM pg_namespace ORDER BY 1").fetchall()

    with pytest.raises(ValueError):
        tenants.create(slug, "Felaktig", "1234")

    with psycopg.connect(clean_pg) as db:
        assert db.execute("SELECT nspname FROM pg_namespace ORDER BY 1").fetchall() == schemas_before
    assert tenants.platform.tenants() == []


def test_tenants_and_the_platform_record_in_turn_over_a_single_connection(clean_pg, tmp_path):
    """Regression: every schema has its own composite type stored_event_uuid but psycopg one Python class for
    all; without re-registering per schema, the second schema writing over a connection was refused."""
    script = textwrap.dedent(f"""
        from pathlib import Path
        from domain.stores import StoreConfig
        from projections.pool import shared_pool_stats
        from projections.tenants import Tenants
        tenants = Tenants(StoreConfig(data_dir=Path({str(tmp_path)!r}), database_url={clean_pg!r}, pool_size=1))
        tenants.create("forsta", "Första", "0001")
        tenants.create("andra", "Andra", "0002")
        for n in range(3):
            tenants.get("forsta").open_term(f"F{{n}}", 2023, 2026)
            tenants.get("andra").open_term(f"A{{n}}", 2023, 2026)
        assert [s["pool_size"] for s in shared_pool_stats()] == [1]
        print(tenants.get("forsta").ledger_head()[0], tenants.get("andra").ledger_head()[0])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["5", "5"]
