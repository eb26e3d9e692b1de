"""A local Cloudflare REST API (v4) fake: bearer auth, the v4 envelope, and the global rate
limit (1,200 requests per rolling 5 minutes per token; once exceeded, *every* call gets 429
until the block expires). Product endpoints are installed by small modules:
`cf_kv.install(fake)`, `cf_d1.install(fake)`, `cf_telemetry.install(fake)`.

Limits are constructor arguments so tests can scale time down (e.g. 50 per 2 s).
"""
from __future__ import annotations

import collections
import contextlib
import time
from typing import Any, Callable, Iterator

from tests.support.httpserver import FakeServer, Reply, Request

ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
TOKEN = "cf-test-token-5f1d2c3b4a"


def envelope(result: Any = None, result_info: dict[str, Any] | None = None, status: int = 200) -> Reply:
    body: dict[str, Any] = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return Reply.json(body, status)


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply.json(
        {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None},
        status,
        headers,
    )


class FakeCloudflare(FakeServer):
    def __init__(
        self,
        token: str = TOKEN,
        window_limit: int = 1200,
        window_seconds: float = 300.0,
        block_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.token = token
        self.window_limit = window_limit
        self.window_seconds = window_seconds
        self.block_seconds = block_seconds
        self.clock = clock
        self._recent: collections.deque[float] = collections.deque()
        self.blocked_until = 0.0
        self.rate_limited = 0  # 429s served because of the global limit
        self.limit_exceeded = 0  # times the window budget was crossed (triggering a block)

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/client/v4"

    def before(self, request: Request) -> Reply | None:
        if not request.path.startswith("/client/v4/"):
            return None
        request.path = request.path[len("/client/v4") :]
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return error(403 if "authorization" in request.headers else 400, 10000, "Authentication error")
        with self.lock:
            now = self.clock()
            if now < self.blocked_until:
                self.rate_limited += 1
                return error(429, 971, "Please wait and consider throttling your request speed",
                             {"Retry-After": str(max(1, int(self.blocked_until - now + 0.999)))})
            while self._recent and self._recent[0] <= now - self.window_seconds:
                self._recent.popleft()
            if len(self._recent) >= self.window_limit:
                self.limit_exceeded += 1
                self.rate_limited += 1
                self.blocked_until = now + self.block_seconds
                return error(429, 971, "Please wait and consider throttling your request speed",
                             {"Retry-After": str(max(1, int(self.block_seconds + 0.999)))})
            self._recent.append(now)
        return None


def point_cutover_at(fake: FakeCloudflare, monkeypatch: Any, account: bool = True) -> None:
    """CLOUDFLARE_* set so that cutover (in this process and its children) talks to `fake`."""
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", fake.token)
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", fake.api_base)
    if account:
        monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT_ID)
    else:
        monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)


@contextlib.contextmanager
def serving(monkeypatch: Any = None) -> Iterator[FakeCloudflare]:
    """A started fake Cloudflare API, stopped at the end; with `monkeypatch`, cutover points at it."""
    fake = FakeCloudflare()
    with fake:
        if monkeypatch is not None:
            point_cutover_at(fake, monkeypatch)
        yield fake
