"""The production shape on private services: own PostgreSQL cluster and Redis, gunicorn, RQ workers, runner."""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from loadgen import wait_for

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
START_TIMEOUT = 60.0


class ServiceMissing(RuntimeError):
    """A program the private services need (initdb, redis-server, runuser) is not installed."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise ServiceMissing(f"{name} of PostgreSQL is not installed (looked in /usr/lib/postgresql/*/bin)")
    return found[-1]


class PrivatePostgres:
    """A PostgreSQL cluster of our own in a temporary directory, so faults never touch the shared server.

    The server refuses to run as root, so the cluster belongs to the `postgres` OS user (via runuser).
    Stopping and starting keeps the port and the data.
    """

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if shutil.which("runuser") is None:
            raise ServiceMissing("runuser is not installed")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="styrkedja-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self._as_postgres([self.initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                           "--locale=C", "--no-sync"])
        with open(self.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            # fsync off: an operating-system crash is not among the faults tested, and the shared disk is slow.
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
                       "fsync = off\nmax_connections = 200\n")
        self.start()

    def _as_postgres(self, argv: list[str]) -> None:
        done = subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True, text=True,
                              timeout=120, cwd=self.dir)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:2])} failed: {done.stdout}{done.stderr}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        self._as_postgres([self.pg_ctl, "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
                           "start"])

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects every session (their open transactions roll back); `immediate` is a crash."""
        self._as_postgres([self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server of our own on a free port, without persistence: a restart empties it, as in production."""

    def __init__(self, directory: Path) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise ServiceMissing("redis-server is not installed")
        self.port = free_port()
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.dir / "redis.log", "a", encoding="utf-8")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir), "--daemonize", "no"], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        wait_for(lambda: port_open(self.port), "redis-server to listen", 20, 0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def close(self) -> None:
        self.stop()


@dataclass
class Process:
    """One process of the shape, in its own process group, its output in a log file."""

    name: str
    argv: list[str]
    env: dict
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - the child keeps it
        log.write(f"--- start {time.strftime('%H:%M:%S')}\n")
        log.flush()
        self.popen = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        log.close()

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole group: a worker's work horse and gunicorn's workers go with their parent."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def children(pid: int) -> list[int]:
    """The direct children of a process, from /proc (an RQ worker's work horse)."""
    out = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            out += [int(c) for c in Path(task).read_text().split()]
        except OSError:
            continue
    return out


@dataclass
class Shape:
    """gunicorn (2 gthread workers), two RQ workers and the projection runner, on private PostgreSQL and Redis."""

    workdir: Path
    postgres: PrivatePostgres
    redis: PrivateRedis
    admin_token: str = field(default_factory=lambda: "ops-admin-" + secrets.token_hex(12))
    port: int = field(default_factory=free_port)
    web_workers: int = 2
    web_threads: int = 8
    processes: dict[str, Process] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data_dir = self.workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = self.postgres.create_database("styrkedja")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("STYRKEDJA_") and k not in
               ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")},
            "DATABASE_URL": self.database_url, "REDIS_URL": self.redis.url, "STYRKEDJA_DATA_DIR": str(self.data_dir),
            "STYRKEDJA_ADMIN_TOKEN": self.admin_token, "SECRET_KEY": secrets.token_hex(32),
            "PYTHONUNBUFFERED": "1",
        }
        cli = [PYTHON, "-m", "web.cli"]
        self.processes = {
            "web": Process("web", [PYTHON, "-m", "gunicorn", "web.wsgi:app", "--bind", f"127.0.0.1:{self.port}",
                                   "--workers", str(self.web_workers), "--worker-class", "gthread",
                                   "--threads", str(self.web_threads), "--timeout", "60", "--keep-alive", "30",
                                   "--graceful-timeout", "5"], self.env, self.workdir / "web.log"),
            "worker-1": Process("worker-1", [*cli, "worker", "--name", f"ops-1-{secrets.token_hex(3)}"], self.env,
                                self.workdir / "worker-1.log"),
            "worker-2": Process("worker-2", [*cli, "worker", "--name", f"ops-2-{secrets.token_hex(3)}"], self.env,
                                self.workdir / "worker-2.log"),
            "runner": Process("runner", [*cli, "projections", "run"], self.env, self.workdir / "runner.log"),
        }

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # The platform schema is made once up front, so the processes do not race to create it.
        subprocess.run([PYTHON, "-m", "web.cli", "tenants", "list"], cwd=ROOT, env=self.env, check=True,
                       capture_output=True, timeout=120)
        for process in self.processes.values():
            process.start()
        self.wait_ready(workers_registered=True)

    def wait_ready(self, workers_registered: bool = False) -> None:
        """gunicorn answers and every process runs; at first start, both RQ workers have registered in Redis.

        Only then: a restarted Redis has forgotten the registrations, and RQ workers do not register again
        (they go on taking jobs all the same).
        """
        import requests

        def web_answers() -> bool:
            if not self.processes["web"].alive():
                raise RuntimeError("gunicorn exited:\n" + self.processes["web"].log()[-3000:])
            try:
                return requests.get(self.base_url + "/api/v1/openapi.json", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for(web_answers, "gunicorn to answer", START_TIMEOUT, 0.2)
        if workers_registered:
            wait_for(lambda: len(self.rq_workers()) >= 2, "two RQ workers to register", START_TIMEOUT, 0.2)
        for name, process in self.processes.items():
            if not process.alive():
                raise RuntimeError(f"{name} exited:\n{process.log()[-3000:]}")

    def answers_from_database(self, timeout: float = 10.0) -> bool:
        """Both gunicorn workers can read the platform registry (a few requests, to reach each of them)."""
        import requests

        def ok() -> bool:
            try:
                return all(requests.get(self.base_url + "/api/v1/tenants", timeout=5, headers={
                    "Authorization": f"Bearer {self.admin_token}"}).status_code == 200 for _ in range(4))
            except requests.RequestException:
                return False

        try:
            return wait_for(ok, "gunicorn to read from PostgreSQL", timeout, 0.5)
        except TimeoutError:
            return False

    def redis_client(self):
        from redis import Redis

        return Redis.from_url(self.redis.url, socket_connect_timeout=2, socket_timeout=5)

    def rq_workers(self) -> list:
        from rq import Worker

        try:
            return [w for w in Worker.all(connection=self.redis_client()) if w.name.startswith("ops-")]
        except Exception:  # Redis down: no worker can be seen
            return []

    def restart(self, name: str) -> None:
        process = self.processes[name]
        process.kill()
        process.start()

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """`styrkedja ...` against this shape's database and data directory."""
        return subprocess.run([PYTHON, "-m", "web.cli", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=timeout)

    def assert_all_alive(self) -> None:
        dead = {name: p.log()[-2000:] for name, p in self.processes.items() if not p.alive()}
        assert not dead, f"processes exited: {dead}"

    def close(self) -> None:
        for process in self.processes.values():
            process.stop()


def build_shape(workdir: Path) -> tuple[Shape, PrivatePostgres, PrivateRedis]:
    """Private services and the shape on them, started; the caller closes all three."""
    postgres = PrivatePostgres()
    try:
        redis = PrivateRedis(workdir / "redis")
    except Exception:
        postgres.close()
        raise
    shape = Shape(workdir, postgres, redis)
    try:
        shape.start()
    except Exception:
        shape.close()
        redis.close()
        postgres.close()
        raise
    return shape, postgres, redis
