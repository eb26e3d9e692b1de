"""The command an interrupted run prints: how the operator started cutover, then the same
arguments (shell-quoted) plus --resume; and SIGTERM taking Ctrl-C's path."""
from __future__ import annotations

import os
import shlex
import signal
import stat
import sys
from pathlib import Path

import pytest

from cutover.core import interrupt


@pytest.fixture(autouse=True)
def _restore_invocation():
    yield
    interrupt.record_invocation([])


def test_python_dash_m_is_shown_as_such(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    python = bindir / "python3"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    assert interrupt.program_from_argv0("/opt/x/cutover/__main__.py", str(python)) == "python3 -m cutover"
    # a python that is not the one on PATH is named by its full path
    assert interrupt.program_from_argv0("/opt/x/cutover/__main__.py", "/opt/py 3/bin/python3") == "'/opt/py 3/bin/python3' -m cutover"


def test_a_pyz_is_shown_as_it_was_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    pyz = tmp_path / "cutover.pyz"
    pyz.write_bytes(b"")
    pyz.chmod(0o644)
    python = sys.executable
    # not executable: through python
    assert interrupt.program_from_argv0(str(pyz), python) == f"{shlex.quote(python)} {pyz}"
    pyz.chmod(pyz.stat().st_mode | stat.S_IXUSR)
    assert interrupt.program_from_argv0(str(pyz), python) == str(pyz)
    monkeypatch.chdir(tmp_path)
    assert interrupt.program_from_argv0("./cutover.pyz", python) == "./cutover.pyz"
    assert interrupt.program_from_argv0("cutover.pyz", python) == f"{shlex.quote(python)} cutover.pyz"


def test_command_line_quotes_and_adds_resume_once() -> None:
    argv = ["backfill-kv", "--config", "my config.json", "--failed-keys", "it's.ndjson", "--module", "a;b"]
    interrupt.record_invocation(argv, "./cutover.pyz")
    line = interrupt.command_line(add=["--resume"])
    assert shlex.split(line) == ["./cutover.pyz", *argv, "--resume"]
    interrupt.record_invocation([*argv, "--resume"], "./cutover.pyz")
    assert shlex.split(interrupt.command_line(add=["--resume"])) == ["./cutover.pyz", *argv, "--resume"]
    assert shlex.split(interrupt.command_line(drop=["--resume"])) == ["./cutover.pyz", *argv]


def test_interrupted_messages_exit_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    interrupt.record_invocation(["backfill-d1", "--mode", "api"])
    saved = interrupt.interrupted("cp.json", True, "3 of 9 statements acknowledged by D1")
    assert saved.exit_code == 130
    assert str(saved) == (f"interrupted; checkpoint saved in {tmp_path / 'cp.json'} (3 of 9 statements acknowledged "
                          f"by D1); continue with (from {tmp_path}): cutover backfill-d1 --mode api --resume")
    nothing = interrupt.interrupted("cp.json", False)
    assert "nothing to resume" in str(nothing) and str(nothing).endswith("cutover backfill-d1 --mode api")


def test_sigterm_raises_keyboard_interrupt_only_inside_the_block() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), interrupt.terminate_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs between bytecodes, right after the kill
            pass
    assert signal.getsignal(signal.SIGTERM) == before
