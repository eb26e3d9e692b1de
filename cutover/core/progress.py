"""Progress on stderr: count, rate and ETA on a terminal; nothing when piped or --quiet."""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


class Progress:
    """`update(n)` as work is done; `close()` ends the line. Redraws at most every `interval` s."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        unit: str = "",
    ) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.interval = interval
        self.clock = clock
        self.unit = unit
        self.count = 0
        self.started = clock()
        self._last_draw = 0.0
        self._drawn = False

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
            self.stream.write("\r\x1b[K" + self.line())
            self.stream.flush()
            self._drawn = True

    def note(self, message: str) -> None:
        """A message that must not be garbled by the progress line."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
        self.stream.write(message.rstrip("\n") + "\n")
        self.stream.flush()
        self._last_draw = 0.0

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\r\x1b[K" + self.line() + "\n")
            self.stream.flush()
            self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
