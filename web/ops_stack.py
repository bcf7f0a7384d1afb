"""`make stack` / `make stack-stop`: the production shape on one machine, as detached processes with pid files."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/styrkedja"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 20


class StackError(Exception):
    """The stack cannot start (or stop) as asked; the message says what to do."""


def data_dir(environ=os.environ) -> Path:
    return Path(environ.get("STYRKEDJA_DATA_DIR") or "./var").resolve()


def run_dir(data: Path) -> Path:
    return data / "run"


def log_dir(data: Path) -> Path:
    return data / "log"


# --- processes and their pid files -------------------------------------------------------------

def _proc_start_time(pid: int) -> int | None:
    """The kernel's start time of a process: a pid reused by another program has another one."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


def _proc_cmdline(pid: int) -> list[str]:
    try:
        return [a for a in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0") if a]
    except OSError:
        return []


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def descendants(pid: int) -> list[tuple[int, int]]:
    """(pid, start time) of every process below pid: gunicorn's workers, RQ's scheduler and work horses."""
    result, todo = [], [pid]
    while todo:
        for child in _children(todo.pop()):
            started = _proc_start_time(child)
            if started is not None:
                result.append((child, started))
                todo.append(child)
    return result


def is_running(record: dict) -> bool:
    """The pid file's process is alive and is still the command we started (not a reused pid)."""
    pid = record["pid"]
    if _proc_start_time(pid) != record["start_time"]:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:  # it ended (and was reaped) since the line above
        return False
    return state != "Z" and _proc_cmdline(pid) == record["argv"]


def read_records(data: Path) -> dict[str, dict]:
    records = {}
    for path in sorted(run_dir(data).glob("*.pid")):
        try:
            records[path.stem] = json.loads(path.read_text())
        except (OSError, ValueError):
            path.unlink(missing_ok=True)  # unreadable: nothing of ours can be identified by it
    return records


def spawn(name: str, argv: list[str], env: dict, data: Path) -> dict:
    log_path = log_dir(data) / f"{name}.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    started = None
    for _ in range(50):  # /proc/<pid>/cmdline is filled in right after exec
        started = _proc_start_time(process.pid)
        if started is not None and _proc_cmdline(process.pid) == argv:
            break
        time.sleep(0.02)
    record = {"name": name, "pid": process.pid, "start_time": started, "argv": argv, "log": str(log_path)}
    (run_dir(data) / f"{name}.pid").write_text(json.dumps(record))
    return record


# --- configuration ------------------------------------------------------------------------------

def _secret_file(path: Path) -> str:
    """A secret kept in the data directory (mode 600), made on first use."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.touch(mode=0o600)
    path.chmod(0o600)
    value = secrets.token_urlsafe(32)
    path.write_text(value + "\n", encoding="utf-8")
    return value


def ensure_database(url: str) -> None:
    """Create the stack's database on its server if it is missing."""
    import psycopg
    from psycopg import sql

    parsed = urlparse(url)
    name = (parsed.path or "/").lstrip("/")
    if not name:
        raise StackError(f"DATABASE_URL names no database: {url}")
    admin = urlunparse(parsed._replace(path="/postgres"))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"created database {name}")
    except psycopg.OperationalError as error:
        raise StackError(f"PostgreSQL is not reachable at {parsed.hostname}:{parsed.port or 5432} ({error}).\n"
                         "Start it (make services) or point DATABASE_URL at a running server.") from None


def check_redis(url: str) -> None:
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except RedisError as error:
        raise StackError(f"Redis is not reachable at {url} ({error}).\n"
                         "Start it (make services) or point REDIS_URL at a running server.") from None
    finally:
        client.close()


def plan(environ=os.environ) -> tuple[dict[str, list[str]], dict[str, str], dict]:
    """The processes (name, argv), their common environment and what to tell the operator."""
    data = data_dir(environ)
    port = int(environ.get("STACK_PORT") or 8000)
    web_workers = int(environ.get("STACK_WEB_WORKERS") or 2)
    python = sys.executable
    suffix = secrets.token_hex(3)  # RQ refuses a second worker of a name still registered in Redis
    processes = {
        "web": [python, "-m", "gunicorn", "-c", "python:web.ops_gunicorn", "--bind", f"127.0.0.1:{port}",
                "--workers", str(web_workers), "--threads", "4", "--graceful-timeout", "10", "web.wsgi:app"],
        "worker-1": [python, "-m", "web.cli", "worker", "--name", f"stack-{port}-1-{suffix}"],
        "worker-2": [python, "-m", "web.cli", "worker", "--name", f"stack-{port}-2-{suffix}"],
        "projections": [python, "-m", "web.cli", "projections", "run"],
    }
    admin_token_file = data / "admin-token"
    env = {
        **environ,
        "DATABASE_URL": environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        "REDIS_URL": environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
        "STYRKEDJA_DATA_DIR": str(data),
        "STYRKEDJA_LOG_FORMAT": environ.get("STYRKEDJA_LOG_FORMAT") or "json",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # set for gunicorn alone
    about = {"port": port, "data": data, "admin_token_file": admin_token_file,
             "admin_token_from_env": bool(environ.get("STYRKEDJA_ADMIN_TOKEN"))}
    return processes, env, about


def wait_ready(port: int, records: list[dict], timeout: float = READY_TIMEOUT_SECONDS) -> dict:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        for record in records:
            if not is_running(record):
                raise StackError(f"{record['name']} exited at start; see {record['log']}:\n" + _tail(record["log"]))
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            last = error.read().decode(errors="replace")
        except OSError as error:
            last = str(error)
        time.sleep(0.3)
    raise StackError(f"/readyz did not answer 200 within {timeout:.0f} s; last answer: {last}")


def _tail(path: str, lines: int = 15) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- the two commands ---------------------------------------------------------------------------

def start(environ=os.environ) -> int:
    processes, env, about = plan(environ)
    data = about["data"]
    running = [name for name, record in read_records(data).items() if is_running(record)]
    if running:
        raise StackError(f"The stack in {data} is already running ({', '.join(running)}); "
                         "`make stack-stop` ends it.")
    for path in run_dir(data).glob("*.pid"):
        path.unlink()  # left by processes that are gone
    for folder in (data, run_dir(data), log_dir(data)):
        folder.mkdir(parents=True, exist_ok=True)
    ensure_database(env["DATABASE_URL"])
    check_redis(env["REDIS_URL"])
    env["STYRKEDJA_ADMIN_TOKEN"] = environ.get("STYRKEDJA_ADMIN_TOKEN") or _secret_file(about["admin_token_file"])
    # Several gunicorn workers must share one session key, or a sign-in holds only on the worker that made it.
    env["SECRET_KEY"] = environ.get("SECRET_KEY") or _secret_file(data / "secret-key")

    # The platform schema and tables are made once, before four processes would race to create them.
    prepared = subprocess.run([sys.executable, "-m", "web.cli", "tenants", "list"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    if prepared.returncode != 0:
        raise StackError("could not open the platform registry:\n" + prepared.stderr[-2000:])

    metrics_dir = run_dir(data) / "prometheus"
    if metrics_dir.exists():
        for stale in metrics_dir.glob("*.db"):
            stale.unlink()  # counters of an earlier run would be added to this one's
    metrics_dir.mkdir(exist_ok=True)

    records = []
    try:
        for name, argv in processes.items():
            process_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)} if name == "web" else env
            records.append(spawn(name, argv, process_env, data))
        ready = wait_ready(about["port"], records)
    except BaseException:
        stop(environ, quiet=True)
        raise
    _report(about, records, ready)
    return 0


def _report(about: dict, records: list[dict], ready: dict) -> None:
    base = f"http://127.0.0.1:{about['port']}"
    token = ("from STYRKEDJA_ADMIN_TOKEN" if about["admin_token_from_env"]
             else f"in {about['admin_token_file']} (mode 600; set STYRKEDJA_ADMIN_TOKEN to choose your own)")
    print(f"Styrkedja stack is ready ({ready.get('status')}):")
    print(f"  web       {base}/   (API {base}/api/v1/, health {base}/healthz, {base}/readyz)")
    print(f"  metrics   {base}/metrics   (Authorization: Bearer <admin or STYRKEDJA_METRICS_TOKEN>)")
    print(f"  admin token {token}")
    pids = ", ".join(f"{record['name']}={record['pid']}" for record in records)
    print(f"  processes {pids}   (pid files in {run_dir(about['data'])})")
    print(f"  logs      {log_dir(about['data'])}/<name>.log (JSON lines)")
    print("  stop with `make stack-stop` (PostgreSQL and Redis keep running)")


def stop(environ=os.environ, quiet: bool = False) -> int:
    """End exactly the processes of this data directory's pid files, and what they started; idempotent."""
    data = data_dir(environ)
    records = read_records(data)
    ours = {name: record for name, record in records.items() if record.get("start_time") and is_running(record)}
    below = {name: descendants(record["pid"]) for name, record in ours.items()}
    for record in ours.values():
        os.kill(record["pid"], signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline and any(is_running(r) for r in ours.values()):
        time.sleep(0.1)
    for name, record in ours.items():
        for pid, started in [(record["pid"], record["start_time"])] + below[name]:
            if _proc_start_time(pid) == started:  # still there, and still the one we saw
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
    for name in records:
        (run_dir(data) / f"{name}.pid").unlink(missing_ok=True)
    if not quiet:
        if ours:
            print("stopped " + ", ".join(f"{name} ({r['pid']})" for name, r in ours.items()))
        else:
            print(f"no stack running in {data}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.ops_stack", description=__doc__)
    parser.add_argument("action", choices=["start", "stop"])
    args = parser.parse_args(argv)
    try:
        return start() if args.action == "start" else stop()
    except StackError as error:
        print(f"stack: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
