"""The one HTTP client: timeouts, retries with backoff and jitter, Retry-After, pacing, redaction.

Commands never call urllib directly. Every error text that leaves this module went
through `redact`, so a token in a header or URL parameter cannot leak, and a request that
carries a credential header goes only over https (or plain http to loopback).
"""
from __future__ import annotations

import email.utils
import http.client
import json as jsonlib
import random
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from cutover import __version__
from cutover.core import redact, waits
from cutover.core.endpoint import require_private_channel
from cutover.errors import CutoverError

USER_AGENT = f"cutover/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
RETRY_AFTER_STATUSES = frozenset({429, 503})


class HttpError(CutoverError):
    """A request failed for good: a non-retryable status, or retries exhausted."""

    def __init__(self, message: str, status: int | None = None, response: Response | None = None) -> None:
        super().__init__(redact.scrub(message))
        self.status = status
        self.response = response


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    url: str  # already redacted

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return jsonlib.loads(self.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, ValueError) as exc:
            raise HttpError(
                f"{self.url}: response is not JSON ({exc}): {excerpt(self.body)}", self.status, self
            ) from None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Attempt:
    """What one attempt sends, from `request(prepare=…)`: built after any wait, right before it
    goes out, so time-dependent parts (a TTL) are valid when the server receives them."""

    data: bytes | None = None
    params: Mapping[str, Any] | None = None


@dataclass
class RetryEvent:
    attempt: int
    delay: float
    reason: str  # redacted, e.g. "HTTP 429" or "connection reset"
    url: str


@dataclass
class HttpStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0  # 429 responses seen
    blocks: int = 0  # of them, blocks waited out
    by_status: dict[int, int] = field(default_factory=dict)


def excerpt(body: bytes, limit: int = 300) -> str:
    text = body[:limit].decode("utf-8", errors="replace").replace("\n", " ").strip()
    return redact.scrub(text + ("…" if len(body) > limit else ""))


def clock_time(seconds_from_now: float) -> str:
    """`HH:MM:SSZ` (UTC) of a moment `seconds_from_now` away."""
    return time.strftime("%H:%M:%SZ", time.gmtime(time.time() + seconds_from_now))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would forward Authorization to whatever host a redirect names; our APIs
    # never redirect, so a 3xx is returned as a response instead of followed.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason = exc.reason
        if isinstance(reason, ssl.SSLCertVerificationError):
            return False
        return isinstance(reason, (OSError, socket.timeout, str))
    return isinstance(exc, (ConnectionError, socket.timeout, TimeoutError, http.client.HTTPException))


class HttpClient:
    """Retrying JSON-friendly HTTP client. `pace` is called before every attempt."""

    def __init__(
        self,
        base_url: str = "",
        headers: Mapping[str, str] | None = None,
        timeout: float = 30.0,
        retries: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 330.0,
        pace: Callable[[], None] | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        ssl_context: ssl.SSLContext | None = None,
        block_waits: int = 0,
        max_block_wait: float = 330.0,
        on_block: Callable[[float], None] | None = None,
        block_note: str = "the server blocked this client",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"User-Agent": USER_AGENT, **(headers or {})}
        for name, value in self.headers.items():
            if name.lower() in redact.SECRET_HEADERS:
                redact.register_secret(value.split(" ", 1)[-1])
        if self.base_url and _carries_credentials(self.headers):
            require_private_channel(self.base_url, redact.redact_url(self.base_url))
        self.timeout = timeout
        self.retries = retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.pace = pace
        self.on_retry = on_retry
        self.sleep = sleep
        self.rng = rng or random.Random()
        # A 429 that asks for more than max_retry_after, or outlasts the retries, is a block
        # (Cloudflare: 5 minutes for the whole token): waited out up to block_waits times per request.
        self.block_waits = block_waits
        self.max_block_wait = max_block_wait
        self.on_block = on_block
        self.block_note = block_note
        # thread -> when the block it waits out ends: threads waiting out one block tell it once
        self._blocked: dict[int, float] = {}
        self._blocked_lock = threading.Lock()
        self.stats = HttpStats()
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    def url_for(self, path_or_url: str, params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> str:
        if "://" in path_or_url:
            url = path_or_url
        else:
            url = f"{self.base_url}/{path_or_url.lstrip('/')}"
        if params:
            from urllib.parse import urlencode

            items = params.items() if isinstance(params, Mapping) else params
            query = urlencode([(k, v) for k, v in items if v is not None])
            if query:
                url += ("&" if "?" in url else "?") + query
        return url

    def backoff_delay(self, attempt: int) -> float:
        """Full-jitter exponential backoff for retry number `attempt` (1-based)."""
        cap = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return self.rng.uniform(cap / 2, cap)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        check: bool = True,
        retry: bool = True,
        prepare: Callable[[], Attempt] | None = None,
    ) -> Response:
        """Send a request, retrying 429/5xx/connection errors (and waiting out 429 blocks when
        `block_waits`); raise HttpError unless `check` is False.

        `prepare`, when given, is called before every attempt (after pacing, retry and block
        waits) and its `data`/`params` replace the fixed ones; an exception it raises ends the request."""
        url = self.url_for(path_or_url, params)
        shown = redact.redact_url(url)
        body = data
        all_headers = dict(self.headers)
        if json is not None:
            body = jsonlib.dumps(json, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        if _carries_credentials(all_headers):
            require_private_channel(url, f"{method} {shown}")
        attempt = 0
        blocks = 0
        while True:
            attempt += 1
            if self.pace is not None:
                self.pace()
            if prepare is not None:
                fresh = prepare()
                if fresh.params is not None:
                    url = self.url_for(path_or_url, {**dict(params or {}), **fresh.params})
                    shown = redact.redact_url(url)
                if fresh.data is not None:
                    body = fresh.data
            self.stats.requests += 1
            try:
                response = self._send(method, url, shown, body, all_headers, timeout or self.timeout)
            except Exception as exc:  # noqa: BLE001 - classified right below
                if not (_is_connection_error(exc) and retry and attempt <= self.retries):
                    raise HttpError(f"{method} {shown}: {describe_exception(exc)}") from None
                self._wait(attempt, self.backoff_delay(attempt), describe_exception(exc), shown)
                continue
            waited = self._wait_for_answer(method, shown, response, attempt, blocks, retry)
            if waited == "block":
                blocks += 1
                attempt = 0  # the block is over: the next answer gets its retries again
            if waited:
                continue
            if check and not response.ok:
                raise HttpError(
                    f"{method} {shown}: HTTP {response.status}: {excerpt(response.body)}", response.status, response
                )
            return response

    def _wait(self, attempt: int, delay: float, reason: str, shown: str) -> None:
        self.stats.retries += 1
        if self.on_retry is not None:
            self.on_retry(RetryEvent(attempt, delay, reason, shown))
        what = "429" if reason == "HTTP 429" else reason
        why = " (rate limited: the server's Retry-After)" if what == "429" else ""
        waits.wait(delay, what, self.sleep, f"{why}, then retry {attempt} of {self.retries}")

    def _wait_for_answer(
        self, method: str, shown: str, response: Response, attempt: int, blocks: int, retry: bool
    ) -> str:
        """Count `response`, then wait before sending again: "retry", "block" (a 429 block waited
        out), or "" when it is the answer (HttpError when a wait asked for is too long)."""
        status = response.status
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        if status == 429:
            self.stats.throttled += 1
        if not retry:
            return ""
        after = parse_retry_after(response.header("retry-after")) if status in RETRY_AFTER_STATUSES else None
        if status == 429 and self.block_waits and (
                attempt > self.retries or (after is not None and after > self.max_retry_after)):
            self._wait_block(method, shown, response, after, blocks)
            return "block"
        if status not in RETRY_STATUSES or attempt > self.retries:
            return ""
        delay = self.backoff_delay(attempt)
        if after is not None:
            if after > self.max_retry_after:
                raise HttpError(
                    f"{method} {shown}: HTTP {status}, server asks to wait "
                    f"{after:.0f}s (more than {self.max_retry_after:.0f}s); try again later",
                    status,
                    response,
                )
            delay = after
            if status == 429:
                self._tell_budget(after)
        self._wait(attempt, delay, f"HTTP {status}", shown)
        return "retry"

    def _tell_budget(self, seconds: float) -> None:
        blocked = getattr(self.pace, "blocked", None)
        if blocked is not None:
            blocked(seconds)  # every caller sharing this budget waits it out too

    def _wait_block(self, method: str, shown: str, response: Response, after: float | None, done: int) -> None:
        """Wait out block number `done + 1` of this request, or raise when it may not be."""
        # Without a Retry-After the block may have just begun: wait as long as one can last.
        seconds = self.max_block_wait if after is None else after
        if seconds > self.max_block_wait:
            raise HttpError(
                f"{method} {shown}: HTTP 429, {self.block_note}, and asks to wait {seconds:.0f}s, longer than a "
                f"block lasts ({self.max_block_wait:.0f}s): try again after {clock_time(seconds)}",
                429, response)
        self._tell_budget(seconds)
        if done >= self.block_waits:
            raise HttpError(
                f"{method} {shown}: HTTP 429, {self.block_note}, still blocked after {done} waits: something else "
                f"is using this token hard; stop it, or try again after {clock_time(seconds)}",
                429, response)
        self.stats.blocks += 1
        me, end = threading.get_ident(), time.monotonic() + seconds
        with self._blocked_lock:
            # Another thread already waits out a block ending then: the same event (as waits.wait judges it).
            told = any(end <= other + 1.0 for other in self._blocked.values())
            self._blocked[me] = end
        try:
            if self.on_block is not None and not told:
                self.on_block(seconds)
            waits.wait(seconds, "429", self.sleep, f": {self.block_note}; until {clock_time(seconds)}, "
                                                  f"then sending again (block wait {done + 1} of {self.block_waits})")
        finally:
            with self._blocked_lock:
                self._blocked.pop(me, None)

    def _send(
        self, method: str, url: str, shown: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Response:
        req = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                return Response(resp.status, _lower(resp.headers.items()), resp.read(), shown)
        except urllib.error.HTTPError as err:
            try:
                payload = err.read()
            except (OSError, http.client.HTTPException):
                payload = b""
            return Response(err.code, _lower(err.headers.items() if err.headers else []), payload, shown)

    def get_json(self, path_or_url: str, **kwargs: Any) -> Any:
        return self.request("GET", path_or_url, **kwargs).json()

    def post_json(self, path_or_url: str, payload: Any, **kwargs: Any) -> Any:
        return self.request("POST", path_or_url, json=payload, **kwargs).json()


def _carries_credentials(headers: Mapping[str, str]) -> bool:
    return any(name.lower() in redact.SECRET_HEADERS for name in headers)


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {k.lower(): v for k, v in items}


def describe_exception(exc: BaseException) -> str:
    """One redacted line for a network exception."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc_reason: Any = exc.reason
        text = f"{type(exc_reason).__name__}: {exc_reason}" if isinstance(exc_reason, BaseException) else str(exc_reason)
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact.scrub(text)
