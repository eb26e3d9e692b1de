"""Start a real Worker under `wrangler dev` (local workerd, offline) for tests.

`WranglerDev` runs wrangler in its own process group on 127.0.0.1 with a free port, captures
its stdout (the Worker's console.log lines) in a thread, waits (bounded) for "Ready on", and
kills the whole group on exit. `bot_worker(...)` builds the test Telegram bot Worker from
`tests/support/bot_worker/index.js` plus the modules `cutover worker-src export` writes.

    with bot_worker(tmp_path) as worker:       # or the `bot_worker_dev` fixture
        post_update(worker.url, "/ping")
        worker.wait_for(lambda lines: count_events(lines, "cmd_timing") >= 1)
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import pytest

from tests.support.tools import wrangler_bin, wrangler_env

BOT_WORKER_SOURCE = Path(__file__).resolve().parent / "bot_worker" / "index.js"
READY_TIMEOUT = 90.0  # first start unpacks workerd; generous but bounded
WRANGLER_TOML = """\
name = "cutover-test-bot"
main = "index.js"
compatibility_date = "2025-01-01"
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WranglerDev:
    """A running `wrangler dev` for the Worker project in `project`; use as a context manager."""

    def __init__(self, project: Path, home: Path, vars: Mapping[str, str] | None = None,
                 ready_timeout: float = READY_TIMEOUT) -> None:
        self.project = project
        self.home = home
        self.vars = dict(vars or {})
        self.ready_timeout = ready_timeout
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        """Everything wrangler printed on stdout so far (console.log lines among them)."""
        with self._lock:
            return list(self._lines)

    def stdout_text(self) -> str:
        return "".join(line + "\n" for line in self.lines())

    def start(self) -> WranglerDev:
        self.port = free_port()
        argv: list[str] = [wrangler_bin(), "dev", "--ip", "127.0.0.1", "--port", str(self.port)]
        for name, value in self.vars.items():
            argv += ["--var", f"{name}:{value}"]
        # WRANGLER_LOG=log: at "warn" (the tests' default) wrangler hides the Worker's console.log.
        env = wrangler_env(self.home, {"WRANGLER_LOG": "log"})
        self.proc = subprocess.Popen(
            argv, cwd=str(self.project), env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self.wait_for(lambda lines: any("Ready on" in line for line in lines), self.ready_timeout, "Ready on")
        except BaseException:
            self.stop()
            raise
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            with self._lock:
                self._lines.append(raw.decode("utf-8", errors="replace").rstrip("\r\n"))

    def wait_for(self, condition: Callable[[list[str]], bool], timeout: float = 30.0, what: str = "condition") -> list[str]:
        """Poll the captured stdout until `condition(lines)` holds; fail the test after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if condition(lines):
                return lines
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"wrangler dev exited ({self.proc.returncode}) waiting for {what}:\n" + "\n".join(lines[-40:]))
            if time.monotonic() > deadline:
                pytest.fail(f"wrangler dev: no {what} after {timeout:.0f}s:\n" + "\n".join(lines[-40:]))
            time.sleep(0.05)

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        # wrangler starts workerd as a child: signal the whole group, escalate if it lingers.
        for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers (workerd) left in the group
        if self._reader is not None:
            self._reader.join(timeout=5)

    def __enter__(self) -> WranglerDev:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_bot_worker(project: Path) -> Path:
    """The test bot Worker: index.js + wrangler.toml + ./cutover/ from `worker-src export`."""
    from cutover.worker.shipped import export_files

    project.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(BOT_WORKER_SOURCE, project / "index.js")
    (project / "wrangler.toml").write_text(WRANGLER_TOML, encoding="utf-8")
    list(export_files(str(project / "cutover")))
    return project


@contextlib.contextmanager
def bot_worker(tmp_path: Path, vars: Mapping[str, str] | None = None) -> Iterator[WranglerDev]:
    """Build and start the test bot Worker; stopped (process group killed) on exit."""
    project = write_bot_worker(tmp_path / "bot-worker")
    with WranglerDev(project, tmp_path / "wrangler-home", vars) as dev:
        yield dev


@pytest.fixture
def bot_worker_dev(tmp_path: Path) -> Iterator[WranglerDev]:
    """pytest fixture: the test bot Worker running under wrangler dev (import it into a test module)."""
    with bot_worker(tmp_path) as dev:
        yield dev


def telegram_update(update_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {"message_id": update_id, "date": 0, "chat": {"id": 1, "type": "private"}, "text": text},
    }


def post_update(url: str, update_id: int, text: str, headers: Mapping[str, str] | None = None,
                timeout: float = 30.0) -> int:
    """POST one Telegram update to the Worker; returns the HTTP status."""
    body = json.dumps(telegram_update(update_id, text)).encode("utf-8")
    req = urllib.request.Request(
        f"{url}/?u={update_id}", data=body, method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback only
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


def json_events(lines: Sequence[str], event: str | None = None) -> list[dict[str, object]]:
    """The JSON objects among captured lines (optionally only one event kind)."""
    found = []
    for line in lines:
        text = line.strip()
        if not text.startswith("{"):
            continue
        try:
            obj = json.loads(text)
        except ValueError:
            continue
        if isinstance(obj, dict) and (event is None or obj.get("event") == event):
            found.append(obj)
    return found
