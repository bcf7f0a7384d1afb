"""Helpers of the browser tests: a real `styrkedja serve` in a subprocess, Chromium, axe-core and screenshots."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


def styrkedja_command() -> list[str]:
    """The `styrkedja` console script of this virtual environment (or the one on PATH)."""
    beside = Path(sys.executable).parent / "styrkedja"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("styrkedja")
    return [found] if found else [sys.executable, "-m", "web.cli"]


def server_environment(data_dir: Path) -> dict[str, str]:
    """The embedded default: SQLite under data_dir, reports in-process (no Redis, no PostgreSQL)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "STYRKEDJA_ADMIN_TOKEN", "SECRET_KEY", "HOST", "PORT")}
    env["STYRKEDJA_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*styrkedja_command(), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, f"styrkedja {' '.join(args)} failed: {done.stdout}{done.stderr}"
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A running `styrkedja serve` and what the tests need to know about it."""

    process: subprocess.Popen
    base_url: str
    data_dir: Path
    log: Path
    env: dict[str, str] = field(repr=False)

    @property
    def demo_password(self) -> str:
        text = (self.data_dir / "demo-inloggning.txt").read_text(encoding="utf-8")
        return re.search(r"lösenord för alla: (\S+)", text).group(1)

    def wait_until_answering(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"styrkedja serve exited with {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.base_url + "/logga-in", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"styrkedja serve did not answer within {timeout:.0f} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(data_dir: Path, log: Path) -> Server:
    env = server_environment(data_dir)
    port = free_port()
    handle = log.open("w", encoding="utf-8")
    process = subprocess.Popen([*styrkedja_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()  # the child keeps its own descriptor
    server = Server(process, f"http://127.0.0.1:{port}", data_dir, log, env)
    try:
        server.wait_until_answering()
    except BaseException:
        server.stop()
        raise
    return server


# --- pages -----------------------------------------------------------------------------------------


def plain(text: str) -> str:
    """Text as a reader sees it: no-break and narrow spaces as spaces, blanks collapsed."""
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ").replace("\u202f", " ")).strip()


def main_text(page) -> str:
    return plain(page.locator("main").inner_text())


def ledger_position(page) -> tuple[int, int]:
    """(position shown, head) from the moment banner: "händelselogg position N av M"."""
    summary = plain(page.locator("#moment-summary").inner_text())
    found = re.search(r"position (\d+) av (\d+)", summary)
    assert found, summary
    return int(found.group(1)), int(found.group(2))


def screenshot(page, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


class AxeLog:
    """axe-core on a page; results are kept per page name and written next to the screenshots."""

    def __init__(self) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.axe = Axe()
        self.results: dict[str, dict] = {}

    def check(self, page, name: str) -> list[str]:
        """Run axe-core, save a full-page screenshot, and return the violations as readable lines."""
        results = self.axe.run(page)
        response = results.response
        assert response.get("passes"), f"axe-core did not run on {name} ({page.url})"
        lines = [summarize(v) for v in response.get("violations", [])]
        self.results[name] = {"url": page.url, "violations": results.violations_count,
                              "passes": len(response["passes"]), "incomplete": len(response.get("incomplete", [])),
                              "details": lines}
        screenshot(page, name)
        return lines

    def assert_clean(self, page, name: str) -> None:
        lines = self.check(page, name)
        assert not lines, f"axe-core violations on {name} ({page.url}):\n" + "\n".join(lines)

    def write(self) -> None:
        if self.results:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            (SCREENSHOTS / "axe-results.json").write_text(
                json.dumps(self.results, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")


def summarize(violation: dict) -> str:
    targets = ["; ".join(" ".join(t) if isinstance(t, list) else str(t) for t in node.get("target", []))
               for node in violation.get("nodes", [])[:5]]
    more = len(violation.get("nodes", [])) - len(targets)
    return (f"  {violation['id']} ({violation.get('impact')}): {violation.get('help')} – "
            f"{', '.join(targets)}{f' (+{more} more)' if more > 0 else ''}")
