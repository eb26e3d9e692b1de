"""Pacing for APIs with both a per-second rate and a rolling-window budget.

Cloudflare allows 1,200 requests per 5 minutes per token and blocks *every* call for
5 minutes once that is exceeded, so the window budget is a hard ceiling while the
per-second rate only smooths bursts.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

CLOUDFLARE_WINDOW_LIMIT = 1200
CLOUDFLARE_WINDOW_SECONDS = 300.0
DEFAULT_HEADROOM = 0.1


def cloudflare_budget(headroom: float = DEFAULT_HEADROOM) -> int:
    """Requests we allow ourselves per 5 minutes, leaving `headroom` (a fraction) unused."""
    if not 0.0 <= headroom < 1.0:
        raise ValueError("headroom must be in [0, 1)")
    return max(1, int(CLOUDFLARE_WINDOW_LIMIT * (1.0 - headroom)))


class RateLimiter:
    """Blocks in `acquire()` until a request fits both limits. Thread-safe.

    `per_second`: steady rate (None = unlimited); `window_limit` requests in any rolling
    `window_seconds` (None = unlimited). `on_wait(seconds, limited_by)` is told whenever a
    caller has to wait, with "rate" or "window" as the reason.
    """

    def __init__(
        self,
        per_second: float | None = None,
        window_limit: int | None = None,
        window_seconds: float = CLOUDFLARE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[float, str], None] | None = None,
    ) -> None:
        if per_second is not None and per_second <= 0:
            raise ValueError("per_second must be positive")
        if window_limit is not None and window_limit < 1:
            raise ValueError("window_limit must be at least 1")
        self.per_second = per_second
        self.window_limit = window_limit
        self.window_seconds = window_seconds
        self.clock = clock
        self.sleep = sleep
        self.on_wait = on_wait
        self._sent: deque[float] = deque()
        self._next_slot = 0.0
        self._lock = threading.Lock()
        self.waited = {"rate": 0.0, "window": 0.0}

    def delay_for_next(self, now: float) -> tuple[float, str]:
        """How long a request arriving at `now` must wait, and which limit imposes it."""
        while self._sent and self._sent[0] <= now - self.window_seconds:
            self._sent.popleft()
        rate_wait = max(0.0, self._next_slot - now) if self.per_second else 0.0
        window_wait = 0.0
        if self.window_limit is not None and len(self._sent) >= self.window_limit:
            oldest = self._sent[len(self._sent) - self.window_limit]
            window_wait = max(0.0, oldest + self.window_seconds - now)
        if window_wait > rate_wait:
            return window_wait, "window"
        return rate_wait, "rate"

    def acquire(self) -> float:
        """Wait for a slot and record the request; returns seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                delay, reason = self.delay_for_next(now)
                if delay <= 0:
                    self._sent.append(now)
                    if self.per_second:
                        self._next_slot = max(self._next_slot, now) + 1.0 / self.per_second
                    return waited
                self.waited[reason] += delay
            if self.on_wait is not None:
                self.on_wait(delay, reason)
            self.sleep(delay)
            waited += delay

    def in_window(self) -> int:
        with self._lock:
            now = self.clock()
            self.delay_for_next(now)
            return len(self._sent)

    def __call__(self) -> None:
        self.acquire()
