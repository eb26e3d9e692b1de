"""One wave: N connections opened first, then N requests released together by a barrier.

Why raw http.client and not the shared HttpClient: urllib opens the connection inside
`open()`, so the TCP and TLS handshakes would sit between the barrier and the first byte
and the "simultaneous" release would be spread over N handshakes. Here each thread
connects and writes its request line and headers into the buffer first; after the barrier
it only has to flush one pre-built buffer (`endheaders(body)` sends headers and body in one
write). No retries, on purpose: a retried request is not a cold request at the same instant.
"""
from __future__ import annotations

import base64
import http.client
import socket
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence
from urllib.parse import unquote, urlsplit

from cutover.burst.target import Target
from cutover.core import redact
from cutover.core.endpoint import is_loopback
from cutover.errors import UsageError

# After the deadline, worker threads get this long to notice their closed socket.
_JOIN_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class PreparedRequest:
    seq: int
    update_id: int
    cache_token: str
    body: bytes


@dataclass
class Outcome:
    seq: int
    update_id: int
    cache_token: str
    status: int | None = None
    latency_ms: float | None = None  # first byte sent -> last byte of the response read
    ttfb_ms: float | None = None  # first byte sent -> response headers parsed
    connect_ms: float | None = None
    response_bytes: int = 0
    error: str | None = None  # short kind for the distribution, e.g. "timeout"
    error_detail: str | None = None
    connected_at: float | None = None  # clock value when the connection was ready
    sent_at: float | None = None  # clock value right before the send, for the skew

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class WaveResult:
    outcomes: list[Outcome]
    release_skew_ms: float | None  # spread of the send instants of the requests that were sent
    release_lag_ms: float | None  # barrier trip -> last send
    started_wall: float  # time.time() at the barrier trip (or at the start if it never tripped)
    duration_ms: float
    connect_ms_max: float | None = None
    extra: dict[str, object] = field(default_factory=dict)


def classify(exc: BaseException, timed_out: bool = False) -> tuple[str, str]:
    """(kind, redacted detail) for a network exception."""
    detail = redact.scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if timed_out or isinstance(exc, (socket.timeout, TimeoutError)):
        return "timeout", detail
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused", detail
    if isinstance(exc, ConnectionResetError):
        return "connection reset", detail
    if isinstance(exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionAbortedError)):
        return "connection closed", detail
    if isinstance(exc, ssl.SSLError):
        return "tls error", detail
    if isinstance(exc, socket.gaierror):
        return "dns error", detail
    if isinstance(exc, http.client.HTTPException):
        return "protocol error", detail
    if isinstance(exc, OSError):
        return "network error", detail
    return "error", detail


class _Slot:
    """One request's connection and outcome, shared between its thread and the deadline watcher."""

    def __init__(self, prepared: PreparedRequest) -> None:
        self.prepared = prepared
        self.outcome = Outcome(prepared.seq, prepared.update_id, prepared.cache_token)
        self.conn: http.client.HTTPConnection | None = None
        self.done = threading.Event()
        self.timed_out = False


def https_proxy(target: Target) -> tuple[str, int, dict[str, str]] | None:
    """(host, port, CONNECT headers) when HTTPS_PROXY applies to `target` (as for urllib); loopback never."""
    if target.scheme != "https" or is_loopback(target.host):
        return None
    url = urllib.request.getproxies().get("https")
    if not url or urllib.request.proxy_bypass(target.host):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise UsageError(f"HTTPS_PROXY={redact.redact_url(url)}: only http:// proxies (CONNECT) are supported")
    headers: dict[str, str] = {}
    if parts.username is not None:
        basic = base64.b64encode(f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()).decode("ascii")
        redact.register_secret(basic)
        headers["Proxy-Authorization"] = f"Basic {basic}"
    return parts.hostname, parts.port or 3128, headers


def _connection(
    target: Target, timeout: float, ssl_context: ssl.SSLContext | None, proxy: tuple[str, int, dict[str, str]] | None
) -> http.client.HTTPConnection:
    if target.scheme == "https":
        context = ssl_context or ssl.create_default_context()  # fire_wave passes one shared context
        if proxy is None:
            return http.client.HTTPSConnection(target.host, target.port, timeout=timeout, context=context)
        # connect() then sends CONNECT host:port and does TLS (with SNI for target.host) through it.
        conn = http.client.HTTPSConnection(proxy[0], proxy[1], timeout=timeout, context=context)
        conn.set_tunnel(target.host, target.port, headers=proxy[2])
        return conn
    return http.client.HTTPConnection(target.host, target.port, timeout=timeout)


class _Wave:
    """What every request thread of one wave shares: target, headers, deadline and the barrier."""

    def __init__(self, target: Target, headers: Mapping[str, str], timeout: float, n: int,
                 ssl_context: ssl.SSLContext | None, clock: Callable[[], float]) -> None:
        self.target = target
        self.headers = headers
        self.clock = clock
        self.start = clock()
        self.start_wall = time.time()
        self.deadline = self.start + timeout
        self.proxy = https_proxy(target)
        if ssl_context is None and target.scheme == "https":
            # One context for all threads: loading the CA store N times would only slow the connects.
            ssl_context = ssl.create_default_context()
        self.ssl_context = ssl_context
        self.tripped: list[tuple[float, float]] = []  # (clock, wall) of the barrier trip
        self.barrier = threading.Barrier(n, action=self._trip)

    def _trip(self) -> None:
        self.tripped.append((self.clock(), time.time()))

    def remaining(self) -> float:
        return max(0.001, self.deadline - self.clock())

    def worker(self, slot: _Slot) -> None:
        try:
            connected = self._connect(slot)
            # Everyone waits at the barrier, connected or not, so one refused
            # connection cannot hold the others back until the deadline.
            try:
                self.barrier.wait(timeout=self.remaining())
            except threading.BrokenBarrierError:
                if connected:
                    slot.outcome.error = "timeout"
                    slot.outcome.error_detail = "not released: the wave deadline passed while connecting"
                return
            if connected:
                self._send(slot)
        finally:
            try:
                if slot.conn is not None:
                    slot.conn.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
            slot.done.set()

    def _connect(self, slot: _Slot) -> bool:
        """Open the connection and buffer the request line and headers; False when that failed."""
        out = slot.outcome
        conn = _connection(self.target, self.remaining(), self.ssl_context, self.proxy)
        slot.conn = conn
        t0 = self.clock()
        try:
            conn.connect()
            out.connected_at = self.clock()
            out.connect_ms = (out.connected_at - t0) * 1000.0
            conn.putrequest("POST", self.target.path_with_token(slot.prepared.cache_token), skip_accept_encoding=True)
            for name, value in self.headers.items():
                conn.putheader(name, value)
            conn.putheader("Content-Length", str(len(slot.prepared.body)))
            return True
        except Exception as exc:  # noqa: BLE001 - recorded, the wave goes on
            out.error, out.error_detail = classify(exc, slot.timed_out)
            return False

    def _send(self, slot: _Slot) -> None:
        """Flush the buffered request with its body and read the whole response."""
        out, conn = slot.outcome, slot.conn
        assert conn is not None
        out.sent_at = self.clock()
        try:
            if conn.sock is not None:
                conn.sock.settimeout(self.remaining())
            conn.endheaders(slot.prepared.body)
            response = conn.getresponse()
            out.ttfb_ms = (self.clock() - out.sent_at) * 1000.0
            if conn.sock is not None:
                conn.sock.settimeout(self.remaining())
            body = response.read()
            out.latency_ms = (self.clock() - out.sent_at) * 1000.0
            out.status = response.status
            out.response_bytes = len(body)
        except Exception as exc:  # noqa: BLE001 - recorded, the wave goes on
            out.error, out.error_detail = classify(exc, slot.timed_out)


def _reap_late(slots: Sequence[_Slot], deadline: float, timeout: float, clock: Callable[[], float]) -> None:
    """Wait for every slot until the deadline; then cut the late ones off and record them as timeouts."""
    for slot in slots:
        slot.done.wait(max(0.0, deadline - clock()))
    late = [s for s in slots if not s.done.is_set()]
    for slot in late:
        # Unblock a thread stuck in connect/recv: shutting the socket down makes its call fail now.
        slot.timed_out = True
        sock = slot.conn.sock if slot.conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    grace_end = clock() + _JOIN_GRACE_SECONDS
    for slot in late:
        slot.done.wait(max(0.0, grace_end - clock()))
        if slot.outcome.status is None and slot.outcome.error in (None, "connection closed", "network error"):
            slot.outcome.error = "timeout"
            slot.outcome.error_detail = f"no complete response within --timeout {timeout:g}s"


def fire_wave(
    target: Target,
    requests: Sequence[PreparedRequest],
    headers: Mapping[str, str],
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> WaveResult:
    """Connect all, release all at once, collect every outcome within `timeout` seconds."""
    slots = [_Slot(p) for p in requests]
    wave = _Wave(target, headers, timeout, len(slots), ssl_context, clock)
    threads = [threading.Thread(target=wave.worker, args=(s,), name=f"burst-{s.prepared.seq}", daemon=True)
               for s in slots]
    for thread in threads:
        thread.start()
    _reap_late(slots, wave.deadline, timeout, clock)
    end = clock()
    sent = [s.outcome.sent_at for s in slots if s.outcome.sent_at is not None]
    connects = [s.outcome.connect_ms for s in slots if s.outcome.connect_ms is not None]
    release_clock, release_wall = wave.tripped[0] if wave.tripped else (wave.start, wave.start_wall)
    return WaveResult(
        outcomes=[s.outcome for s in slots],
        release_skew_ms=(max(sent) - min(sent)) * 1000.0 if sent else None,
        release_lag_ms=(max(sent) - release_clock) * 1000.0 if sent and wave.tripped else None,
        started_wall=release_wall,
        duration_ms=(end - wave.start) * 1000.0,
        connect_ms_max=max(connects) if connects else None,
    )
