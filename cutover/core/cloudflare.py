"""The one credentialed Cloudflare API client.

Every command that calls Cloudflare gets its HTTP client here: the token read from
CLOUDFLARE_API_TOKEN (or CLOUDFLARE_API_TOKEN_FILE) and never shown, the base URL from
CLOUDFLARE_API_BASE_URL checked before any request (https, or http to loopback), and every
request paced by the token's one budget (1,200 per 5 minutes less the headroom, shared with the
other cutover processes on this machine; see core.ratelimit). Retries, Retry-After and 429
blocks are the shared HTTP client's: past the budget (another client on the token) Cloudflare
blocks *every* call for 5 minutes, and a paced client waits such a block out (BLOCK_WAITS times
per request at most), telling the shared budget so every cutover process on the token waits too.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Tuple

from cutover.core.config import cloudflare_api_base, read_secret
from cutover.core.http import HttpClient
from cutover.core.progress import format_duration
from cutover.core.ratelimit import DEFAULT_HEADROOM, RateLimiter, cloudflare_api_limit, cloudflare_limiter
from cutover.errors import UsageError

# A 429 asking for more than this is a block, not a passing throttle.
MAX_RETRY_AFTER = 60.0
# A block lasts 5 minutes (Retry-After up to 300 s): wait out a few, each with a little slack.
BLOCK_WAITS = 3
MAX_BLOCK_WAIT = 330.0


def api_token(required: bool = True) -> str | None:
    """The API token (ConfigError naming the variable when required and unset)."""
    return read_secret("CLOUDFLARE_API_TOKEN", required=required)


def budget(
    token: str,
    *,
    per_second: float | None = None,
    headroom: float = DEFAULT_HEADROOM,
    api_limit: Tuple[int, float] | None = None,
    on_wait: Callable[[float, str], None] | None = None,
) -> RateLimiter:
    """The token's shared, padded request budget (UsageError for a rate/headroom out of range)."""
    try:
        return cloudflare_limiter(token, cloudflare_api_base(), per_second=per_second, headroom=headroom,
                                  api_limit=api_limit, on_wait=on_wait)
    except ValueError as exc:
        raise UsageError(f"request budget: {exc}") from None


def client(
    token: str | None = None,
    *,
    pace: Callable[[], Any] | None = None,
    per_second: float | None = None,
    headroom: float = DEFAULT_HEADROOM,
    api_limit: Tuple[int, float] | None = None,
    paced: bool = True,
    on_block: Callable[[float], None] | None = None,
    **http_options: Any,
) -> HttpClient:
    """An HttpClient for the Cloudflare API with the bearer token.

    `pace`: a callable run before every request (e.g. a wrapper around `budget(...)`); by
    default the token's shared budget. A paced client waits out 429 blocks (`on_block(seconds)`
    is told once per block event, however many threads' requests hit it). `paced=False` only for a handful of interactive lookups (delete-guard)
    that must not wait minutes for the budget, nor for a block.
    """
    token = token if token is not None else api_token(required=True)
    assert token is not None
    if pace is None and paced:
        pace = budget(token, per_second=per_second, headroom=headroom, api_limit=api_limit)
    if paced:
        limit, window = api_limit or cloudflare_api_limit()
        http_options = {"max_retry_after": MAX_RETRY_AFTER, "block_waits": BLOCK_WAITS, "max_block_wait": MAX_BLOCK_WAIT,
                        "block_note": f"Cloudflare blocked this token (more than {limit:,} requests per "
                                      f"{format_duration(window)})",
                        **http_options}
    http_options.setdefault("sleep", time.sleep)  # looked up now, like the budget's clock
    return HttpClient(cloudflare_api_base(), headers={"Authorization": f"Bearer {token}"}, pace=pace,
                      on_block=on_block, **http_options)
