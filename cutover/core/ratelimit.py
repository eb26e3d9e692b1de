"""Pacing for APIs with both a per-second rate and a rolling-window budget.

Cloudflare allows 1,200 requests per 5 minutes per token and blocks *every* call for
5 minutes once that is exceeded, so the window budget is a hard ceiling while the
per-second rate only smooths bursts. The budget belongs to the token, not to one process:
`cloudflare_limiter` shares it with every cutover process on this machine that uses the same
token (a small ledger file per token hash in the temp dir, taken with a file lock).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections import deque
from typing import Callable, Deque, Dict, List, Tuple

from cutover.core import waits
from cutover.core.progress import format_duration
from cutover.errors import UsageError

try:
    import fcntl
except ImportError:  # Windows: no flock; each process keeps its own count
    fcntl = None  # type: ignore[assignment]

CLOUDFLARE_WINDOW_LIMIT = 1200
CLOUDFLARE_WINDOW_SECONDS = 300.0
DEFAULT_HEADROOM = 0.1
# Hidden knob for tests and drills: "N/SECONDS" instead of Cloudflare's 1200/300.
API_LIMIT_ENV = "CUTOVER_CF_API_LIMIT"

REWRITE_AFTER = 256  # stale ledger lines tolerated before it is compacted (else one line is appended)
# (delay, reason, requests of other processes in the window by pid)
Taken = Tuple[float, str, Dict[int, int]]


def parse_api_limit(text: str, flag: str = "--api-limit") -> Tuple[int, float]:
    """'1200/300' -> (1200, 300.0); UsageError otherwise."""
    try:
        count, seconds = text.split("/", 1)
        limit, window = int(count), float(seconds)
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected REQUESTS/SECONDS, e.g. 1200/300") from None
    if limit < 1 or window <= 0:
        raise UsageError(f"{flag} {text!r}: both numbers must be positive")
    return limit, window


def cloudflare_api_limit() -> Tuple[int, float]:
    """Cloudflare's budget per token: 1,200 per 300 s (or the test knob's)."""
    text = os.environ.get(API_LIMIT_ENV)
    if text:
        return parse_api_limit(text, API_LIMIT_ENV)
    return CLOUDFLARE_WINDOW_LIMIT, CLOUDFLARE_WINDOW_SECONDS


def cloudflare_budget(headroom: float = DEFAULT_HEADROOM, limit: int | None = None) -> int:
    """Requests we allow ourselves per window, leaving `headroom` (a fraction) unused."""
    if not 0.0 <= headroom < 1.0:
        raise ValueError("headroom must be in [0, 1)")
    if limit is None:
        limit = cloudflare_api_limit()[0]
    return max(1, int(limit * (1.0 - headroom)))


def padded_window(window_seconds: float) -> float:
    """The window we count in: padded by max(1 s, 1 %). Cloudflare counts a request when it
    arrives, a moment after we take its slot, and jitter in that moment must not let two
    windows' bursts land inside one of Cloudflare's."""
    return window_seconds + max(1.0, window_seconds * 0.01)


class LocalWindow:
    """Request times of this process only."""

    shared = False

    def __init__(self) -> None:
        self._sent: Deque[float] = deque()
        self._blocked_until = 0.0

    def take(self, now: float, limit: int | None, window: float) -> Taken:
        while self._sent and self._sent[0] <= now - window:
            self._sent.popleft()
        if now < self._blocked_until:
            return self._blocked_until - now, "block", {}
        if limit is not None and len(self._sent) >= limit:
            return max(0.0, self._sent[len(self._sent) - limit] + window - now), "window", {}
        self._sent.append(now)
        return 0.0, "", {}

    def block(self, now: float, until: float, window: float) -> None:
        self._blocked_until = max(self._blocked_until, until)

    def count(self, now: float, window: float) -> int:
        return sum(1 for t in self._sent if t > now - window)


class SharedLedger:
    """Request times of every process using one token on this machine: a text file of
    `r TIME PID` (a request) and `b UNTIL PID` (a 429 block) lines in the temp dir, read and
    appended to (compacted now and then) under an exclusive `flock`. Times are wall-clock seconds (comparable between processes).
    Falls back to a LocalWindow when the file cannot be used (no fcntl, unwritable temp dir,
    a file that is not ours)."""

    shared = True

    def __init__(self, path: str) -> None:
        self.path = path
        self.pid = os.getpid()
        self._fd: int | None = None
        self._fallback: LocalWindow | None = None
        self.problem: str | None = None

    def _open(self) -> int | None:
        if self._fd is not None or self._fallback is not None:
            return self._fd
        try:
            if fcntl is None:
                raise OSError("no file locks on this platform")
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
            fd = os.open(self.path, flags, 0o600)
            info = os.fstat(fd)
            import stat

            if not stat.S_ISREG(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
                os.close(fd)
                raise OSError("not a regular file of this user")
            self._fd = fd
        except OSError as exc:
            self.problem = f"{self.path}: {exc.strerror or exc}"
            self._fallback = LocalWindow()
        return self._fd

    def __del__(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def _read(self, fd: int) -> bytes:
        os.lseek(fd, 0, os.SEEK_SET)
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def _write(self, fd: int, data: bytes) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        os.ftruncate(fd, 0)
        self._write_all(fd, data)

    @staticmethod
    def _write_all(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]

    def _update(
        self, now: float, window: float, change: Callable[[List[Tuple[float, int]], float], Taken | None],
        block_until: float = 0.0,
    ) -> Taken | None:
        fd = self._open()
        if fd is None:
            return None
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            raw = self._read(fd)
            sent: List[Tuple[float, int]] = []
            blocked = (0.0, 0)
            stale = 0 if raw.endswith(b"\n") or not raw else REWRITE_AFTER  # a torn last line: rewrite
            for line in raw.split(b"\n"):
                parts = line.split()
                if not parts:
                    continue
                try:
                    kind, when, pid = parts[0], float(parts[1]), int(parts[2])
                except (IndexError, ValueError):
                    stale += 1  # a line cut short by a crash mid-write
                    continue
                # a time ahead of now (the wall clock stepped back) must not hold the budget hostage
                if kind == b"r" and now - window < when <= now + 1.0:
                    sent.append((when, pid))
                elif kind == b"b" and now < when <= now + 3600.0:
                    if when > blocked[0]:
                        blocked = (when, pid)
                else:
                    stale += 1
            sent.sort()
            known = len(sent)
            result: Taken | None
            if block_until:
                result = None
                if block_until > blocked[0]:
                    blocked = (block_until, self.pid)
                stale = REWRITE_AFTER
            elif blocked[0] > now:
                result = (blocked[0] - now, "block", {blocked[1]: 0} if blocked[1] != self.pid else {})
            else:
                result = change(sent, now)
            if stale >= REWRITE_AFTER:  # compact: only what still counts
                lines = [f"r {when:.3f} {pid}\n" for when, pid in sent]
                if blocked[0] > now:
                    lines.append(f"b {blocked[0]:.3f} {blocked[1]}\n")
                self._write(fd, "".join(lines).encode("ascii"))
            elif len(sent) > known:  # usually: append the one new request
                os.lseek(fd, 0, os.SEEK_END)
                self._write_all(fd, "".join(f"r {when:.3f} {pid}\n" for when, pid in sent[known:]).encode("ascii"))
            return result
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def take(self, now: float, limit: int | None, window: float) -> Taken:
        def change(sent: List[Tuple[float, int]], at: float) -> Taken:
            others: Dict[int, int] = {}
            for _, pid in sent:
                if pid != self.pid:
                    others[pid] = others.get(pid, 0) + 1
            if limit is not None and len(sent) >= limit:
                return max(0.0, sent[len(sent) - limit][0] + window - at), "window", others
            sent.append((at, self.pid))
            return 0.0, "", others

        taken = self._update(now, window, change)
        if taken is None:
            assert self._fallback is not None
            return self._fallback.take(now, limit, window)
        return taken

    def block(self, now: float, until: float, window: float) -> None:
        self._update(now, window, lambda sent, at: None, block_until=until)
        if self._fallback is not None:
            self._fallback.block(now, until, window)

    def count(self, now: float, window: float) -> int:
        box = [0]

        def change(sent: List[Tuple[float, int]], at: float) -> None:
            box[0] = len(sent)

        if self._update(now, window, change) is None and self._fallback is not None:
            return self._fallback.count(now, window)
        return box[0]


def ledger_path(token: str, api_base: str, directory: str | None = None) -> str:
    """Per token (and API) in the temp dir; the name holds a hash, never the token."""
    digest = hashlib.sha256(f"cutover-budget\0{api_base.rstrip('/')}\0{token}".encode()).hexdigest()[:24]
    return os.path.join(directory or tempfile.gettempdir(), f"cutover-budget-{digest}.ledger")


class RateLimiter:
    """Blocks in `acquire()` until a request fits both limits. Thread-safe.

    `per_second`: steady rate (None = unlimited); `window_limit` requests in any rolling
    `window_seconds` (None = unlimited), counted in `store` (this process only by default, or
    a SharedLedger). `on_wait(seconds, limited_by)` is told whenever a caller has to wait, with
    "rate", "window" or "block" (a 429 block) as the reason. Window and block waits are said on
    stderr with their progress (core.waits); rate waits are the pace asked for, silent.
    """

    def __init__(
        self,
        per_second: float | None = None,
        window_limit: int | None = None,
        window_seconds: float = CLOUDFLARE_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[float, str], None] | None = None,
        store: LocalWindow | SharedLedger | None = None,
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
        self.store = store if store is not None else LocalWindow()
        self._next_slot = 0.0
        self._lock = threading.Lock()
        self._others_seen: set = set()  # type: ignore[type-arg]
        self.waited = {"rate": 0.0, "window": 0.0, "block": 0.0}

    def acquire(self) -> float:
        """Wait for a slot and record the request; returns seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                delay = max(0.0, self._next_slot - now) if self.per_second else 0.0
                reason = "rate"
                others: Dict[int, int] = {}
                if delay <= 0:
                    delay, reason, others = self.store.take(now, self.window_limit, self.window_seconds)
                    self._announce_others(others)
                    if delay <= 0:
                        if self.per_second:
                            self._next_slot = max(self._next_slot, now) + 1.0 / self.per_second
                        return waited
                self.waited[reason] += delay
            if self.on_wait is not None:
                self.on_wait(delay, reason)
            if reason == "rate":
                self.sleep(delay)
            elif reason == "block":
                seen = f" (seen by cutover process {', '.join(map(str, others))})" if others else ""
                waits.wait(delay, "429", self.sleep, f": Cloudflare blocks this token{seen}")
            else:
                waits.wait(delay, "API budget", self.sleep, self._budget_detail(others))
            waited += delay

    def _budget_detail(self, others: Dict[int, int]) -> str:
        text = f" ({self.window_limit:,} requests per {format_duration(self.window_seconds)}"
        if others:
            used = sum(others.values())
            pids = ", ".join(str(p) for p in sorted(others))
            text += f"; {used:,} of them by cutover process {pids} on the same token"
        return text + ")"

    def _announce_others(self, others: Dict[int, int]) -> None:
        fresh = [pid for pid in others if pid not in self._others_seen]
        if not fresh:
            return
        self._others_seen.update(fresh)
        pids = ", ".join(str(p) for p in sorted(fresh))
        limit = f"{self.window_limit:,} per {format_duration(self.window_seconds)}" if self.window_limit else "its budget"
        waits.say(f"API budget: shared with cutover process {pids} using the same token ({limit} between them)")

    def blocked(self, seconds: float) -> None:
        """A 429 said the token is blocked for `seconds`: every caller of this budget waits it out."""
        with self._lock:
            now = self.clock()
            self.store.block(now, now + seconds, self.window_seconds)

    def in_window(self) -> int:
        with self._lock:
            return self.store.count(self.clock(), self.window_seconds)

    def __call__(self) -> None:
        self.acquire()


def cloudflare_limiter(
    token: str,
    api_base: str,
    per_second: float | None = None,
    headroom: float = DEFAULT_HEADROOM,
    api_limit: Tuple[int, float] | None = None,
    on_wait: Callable[[float, str], None] | None = None,
) -> RateLimiter:
    """The one limiter for every Cloudflare caller: the token's budget less `headroom`, window
    padded, shared through the ledger with the other cutover processes on this token."""
    limit, window = api_limit or cloudflare_api_limit()
    ledger = SharedLedger(ledger_path(token, api_base))
    limiter = RateLimiter(per_second, cloudflare_budget(headroom, limit), padded_window(window),
                          clock=time.time, sleep=time.sleep, on_wait=on_wait, store=ledger)
    ledger._open()
    if ledger.problem:
        waits.say(f"API budget: not shared with other processes ({ledger.problem}); this run counts only its own requests")
    return limiter
