"""Progress on stderr: count, rate and ETA; redrawn on a terminal, a plain line every 30 s elsewhere."""
from __future__ import annotations

import sys
import time
from typing import Callable, List, TextIO

LOG_INTERVAL = 30.0  # seconds between plain progress lines off a terminal (as rsync/pip in logs)


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


_active: List[Progress] = []  # open progress displays, innermost last (waits note through them)


def active() -> Progress | None:
    """The progress display currently open, if any: other stderr lines go through its `note`."""
    return _active[-1] if _active else None


class Progress:
    """`update(n)` as work is done; `close()` ends the line.

    On a terminal the line is redrawn at most every `interval` s; anywhere else (a pipe, `tee`,
    a log file) a plain line is printed every `log_interval` s, and once more at the end if any
    was. `enabled=False` (--quiet) shows nothing.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        unit: str = "",
        log_interval: float = LOG_INTERVAL,
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        try:
            self.tty = bool(self.stream.isatty())
        except (AttributeError, ValueError):  # no isatty, or a closed stream
            self.tty = False
        self.enabled = enabled is not False
        self.interval = interval if self.tty else log_interval
        self.clock = clock
        self.unit = unit
        self.count = 0
        self.started = clock()
        self._last_draw = 0.0 if self.tty else self.started
        self._drawn = False  # tty: a line is on screen; log: at least one line was written
        if self.enabled:
            _active.append(self)

    def line(self) -> str:
        elapsed = max(1e-9, self.clock() - self.started)
        rate = self.count / elapsed
        parts = [f"{self.label}: {self.count:,}"]
        if self.total:
            pct = 100.0 * self.count / self.total
            parts[0] += f"/{self.total:,} ({pct:.0f}%)"
        parts.append(f"{rate:,.0f}{self.unit}/s")
        if self.total and rate > 0 and self.count < self.total:
            parts.append(f"ETA {format_duration((self.total - self.count) / rate)}")
        parts.append(format_duration(elapsed))
        return "  ".join(parts)

    def update(self, n: int = 1) -> None:
        self.count += n
        if not self.enabled:
            return
        now = self.clock()
        if now - self._last_draw >= self.interval:
            self._last_draw = now
            self.stream.write(("\r\x1b[K" + self.line()) if self.tty else self.line() + "\n")
            self.stream.flush()
            self._drawn = True

    def note(self, message: str) -> None:
        """A message that must not be garbled by the progress line."""
        if self.tty and self._drawn:
            self.stream.write("\r\x1b[K")
        self.stream.write(message.rstrip("\n") + "\n")
        self.stream.flush()
        if self.tty:
            self._last_draw = 0.0

    def redraw_soon(self) -> None:
        """Something else wrote on the progress line: draw it again at the next update."""
        if self.tty:
            self._last_draw = 0.0

    def close(self) -> None:
        if self in _active:
            _active.remove(self)
        if self.enabled and self._drawn:
            self.stream.write(("\r\x1b[K" if self.tty else "") + self.line() + "\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
