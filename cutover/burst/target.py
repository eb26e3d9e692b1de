"""The Worker URL: https only (plain http only to loopback), no credentials, cache-buster added."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from cutover.core import redact
from cutover.core.endpoint import require_private_channel
from cutover.errors import UsageError

CACHE_BUSTER_PARAM = "_cb"
# A bot token in the webhook path (a common pattern: /bot<id>:<secret>) must never be shown.
_BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


@dataclass(frozen=True)
class Target:
    scheme: str  # "http" | "https"
    host: str
    port: int
    path: str  # path plus any query the operator gave
    shown: str  # redacted URL for messages

    def path_with_token(self, token: str) -> str:
        sep = "&" if "?" in self.path else "?"
        return f"{self.path}{sep}{CACHE_BUSTER_PARAM}={quote(token, safe='')}"


def parse_target(url: str) -> Target:
    for token in _BOT_TOKEN.findall(url):
        redact.register_secret(token)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"--url {redact.redact_url(url)}: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url {redact.redact_url(url)}: must be an https:// URL of the Worker's webhook")
    if parts.username is not None or parts.password is not None:
        raise UsageError("--url must not contain credentials (user:password@); secrets come from the environment")
    host = parts.hostname
    require_private_channel(url, f"--url {redact.redact_url(url)}", error=UsageError)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path, redact.redact_url(url))
