"""Every wait on a remote API said on stderr, with its progress: the one place that sleeps long.

The HTTP client (retries, 429 Retry-After) and the rate limiter (the request budget, a 429
block another process saw) wait through `wait()`, so no command can sit silent for minutes:
`429: waiting 4m59s ...` at the start, then a countdown on a terminal or a plain line every
30 s in a log. Short waits (< 1 s) stay silent unless -v; with -q only waits of 30 s or more
are said, in one line.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable, Dict, TextIO

from cutover.core import progress as progress_mod
from cutover.core.progress import LOG_INTERVAL, format_duration

SHOW_AT = 1.0  # seconds; shorter waits are pacing, not news
QUIET_SHOW_AT = 30.0
TICK = 1.0  # terminal countdown step

_lock = threading.Lock()
_settings = {"quiet": False, "verbose": False}
_showing: Dict[str, float] = {}  # what -> when the wait being shown ends (clock time)
_said: set = set()  # type: ignore[type-arg]
_abandoned = threading.Event()


class WaitAbandoned(Exception):
    """A wait woke after the run was interrupted: the thread stops instead of going on."""


def configure(quiet: bool = False, verbose: bool = False) -> None:
    """Set once per command from -q/-v (cli.main does it)."""
    _settings["quiet"], _settings["verbose"] = bool(quiet), bool(verbose)
    _said.clear()
    _abandoned.clear()


def abandon() -> None:
    """The run was interrupted: waits in worker threads print nothing more and raise
    WaitAbandoned when they next wake (a countdown wakes every second on a terminal)."""
    _abandoned.set()


def _check_abandoned() -> None:
    if _abandoned.is_set():
        raise WaitAbandoned("the run was interrupted")


def _stream() -> TextIO:
    return sys.stderr


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def say(message: str, once: str | None = None) -> None:
    """One informational line on stderr (through an open progress display); none with -q."""
    if _settings["quiet"]:
        return
    with _lock:
        if once is not None:
            if once in _said:
                return
            _said.add(once)
    _line(message)


def _line(message: str) -> None:
    bar = progress_mod.active()
    if bar is not None and bar.stream is _stream():
        bar.note(message)
        return
    stream = _stream()
    stream.write(message.rstrip("\n") + "\n")
    stream.flush()


def wait(
    seconds: float,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    detail: str = "",
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Sleep `seconds`, saying so: `{what}: waiting 4m59s{detail}`, then its progress.

    Several threads waiting for the same `what` and about the same end show one message.
    The countdown subtracts what was slept (not the clock), so an injected `sleep` is exact.
    """
    if seconds <= 0:
        return
    quiet, verbose = _settings["quiet"], _settings["verbose"]
    threshold = QUIET_SHOW_AT if quiet else (0.0 if verbose else SHOW_AT)
    end = clock() + seconds
    with _lock:
        shown_end = _showing.get(what)
        silent = seconds < threshold or (shown_end is not None and end <= shown_end + 1.0)
        if not silent:
            _showing[what] = end
    if silent:
        sleep(seconds)
        _check_abandoned()
        return
    try:
        _line(f"{what}: waiting {format_duration(seconds)}{detail}")
        if quiet:
            sleep(seconds)
        else:
            _countdown(seconds, what, sleep)
    finally:
        with _lock:
            if _showing.get(what) == end:
                del _showing[what]


def _countdown(seconds: float, what: str, sleep: Callable[[float], None]) -> None:
    stream = _stream()
    tty = _isatty(stream)
    step = TICK if tty else LOG_INTERVAL
    left = seconds
    drawn = False
    try:
        while left > 0:
            chunk = min(step, left)
            sleep(chunk)
            _check_abandoned()
            left -= chunk
            if left <= 0.05:
                break
            if tty:
                stream.write(f"\r\x1b[K{what}: {format_duration(left)} left")
                drawn = True
            else:
                stream.write(f"{what}: still waiting, {format_duration(left)} left\n")
            stream.flush()
    finally:
        if drawn:
            stream.write("\r\x1b[K")
            stream.flush()
            bar = progress_mod.active()
            if bar is not None:
                bar.redraw_soon()
