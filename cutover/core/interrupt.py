"""Ctrl-C and SIGTERM take one path: the state on disk stays as the last acknowledged step left
it, the run exits 130, and the message gives the exact command that goes on from there."""
from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import sys
import threading
from typing import Iterator, List, Sequence

from cutover.errors import InterruptedRun

_argv: List[str] = []
_program = "cutover"


def record_invocation(argv: Sequence[str], program: str | None = None) -> None:
    """Remember how this run was started (cli.main does this once)."""
    global _program
    _argv[:] = list(argv)
    _program = program or "cutover"


def program_from_argv0(argv0: str, executable: str | None = None) -> str:
    """How the operator started cutover, as a shell command: `./cutover.pyz`, `python3 -m cutover`, `cutover`."""
    python = _python(executable or sys.executable)
    base = os.path.basename(argv0)
    if base in ("__main__.py", "__main__.pyc"):
        return f"{python} -m cutover"
    if argv0.endswith(".pyz"):
        if os.sep in argv0 and os.access(argv0, os.X_OK):
            return shlex.quote(argv0)
        return f"{python} {shlex.quote(argv0)}"
    found = shutil.which(base) if base else None
    if found and os.path.abspath(found) == os.path.abspath(argv0):
        return shlex.quote(base)
    return shlex.quote(argv0) if argv0 else "cutover"


def _python(executable: str) -> str:
    if not executable:
        return "python3"
    name = os.path.basename(executable)
    found = shutil.which(name)
    if found and os.path.abspath(found) == os.path.abspath(executable):
        return shlex.quote(name)
    return shlex.quote(executable)


def command_line(add: Sequence[str] = (), drop: Sequence[str] = ()) -> str:
    """This run's command line, shell-quoted, with flags `add`ed (if missing) or `drop`ped."""
    argv = [a for a in _argv if a not in drop]
    argv += [a for a in add if a not in argv]
    return " ".join([_program, *(shlex.quote(a) for a in argv)])


def interrupted(checkpoint: str | None, saved: bool, progress: str = "") -> InterruptedRun:
    """The message (exit 130) for a run stopped by Ctrl-C or SIGTERM."""
    where = os.getcwd()
    if checkpoint is not None and saved:
        detail = f" ({progress})" if progress else ""
        return InterruptedRun(
            f"interrupted; checkpoint saved in {os.path.abspath(checkpoint)}{detail}; "
            f"continue with (from {where}): {command_line(add=['--resume'])}"
        )
    return InterruptedRun(
        "interrupted before the first write was acknowledged: nothing was written and there is nothing to "
        f"resume; start again with (from {where}): {command_line(drop=['--resume'])}"
    )


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block SIGTERM (kill, systemd stop, a CI timeout) raises KeyboardInterrupt, so it
    takes Ctrl-C's path: state saved, one message, exit 130. Only the main thread can do this."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # an embedding that owns the signals
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
