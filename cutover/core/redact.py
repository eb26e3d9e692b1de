"""Keep secrets out of every message, log and exception text.

Two layers: known-secret *names* (headers, URL parameters) are masked wherever they
appear, and known-secret *values* (registered from the environment or by the code that
read them) are replaced in any string, whatever carries them.
"""
from __future__ import annotations

import os
import re
import threading
from typing import Iterable, Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"

SECRET_HEADERS = frozenset(
    h.lower()
    for h in (
        "Authorization",
        "Proxy-Authorization",
        "X-Auth-Key",
        "X-Auth-Email",
        "api-key",
        "apiKey",
        "X-Api-Key",
        "Cookie",
        "Set-Cookie",
        "X-Telegram-Bot-Api-Secret-Token",
    )
)

_SECRET_PARAM = re.compile(
    r"(?i)(token|secret|password|passwd|pwd|api[-_]?key|apikey|key|sig|signature|auth|credential|client_secret)"
)

SECRET_ENV_VARS = (
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_API_KEY",
    "MONGODB_URI",
    "MONGODB_DATA_API_KEY",
    "TELEGRAM_WEBHOOK_SECRET",
    "TELEGRAM_BOT_TOKEN",
    "ATLAS_PRIVATE_KEY",
    "ATLAS_CLIENT_SECRET",
)

_lock = threading.Lock()
_values: set[str] = set()
# Minimum length: masking every 2-character string would mangle unrelated text.
_MIN_SECRET_LEN = 4


def register_secret(value: str | None) -> None:
    """Remember a secret value so `scrub` removes it from any text."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _values.add(value)
            # A URI's password may appear percent-decoded or encoded; register its parts.
            m = re.match(r"^[a-z+]+://([^:@/]*):([^@/]*)@", value)
            if m and len(m.group(2)) >= _MIN_SECRET_LEN:
                _values.add(m.group(2))


def register_env_secrets(environ: Mapping[str, str] | None = None) -> None:
    env = os.environ if environ is None else environ
    for name in SECRET_ENV_VARS:
        register_secret(env.get(name))


_URI_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/@\s:]+):([^/@\s]+)@")
_BEARER = re.compile(r"(?i)\b(bearer|basic|digest)\s+[A-Za-z0-9._~+/=-]{8,}")


def scrub(text: str) -> str:
    """Replace every registered secret value, URI password and bearer token in `text`."""
    if not text:
        return text
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    text = _URI_CREDENTIALS.sub(lambda m: f"{m.group(1)}{m.group(2)}:{MASK}@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return text


def is_secret_param(name: str) -> bool:
    return bool(_SECRET_PARAM.search(name))


def redact_url(url: str) -> str:
    """The URL with secret-looking query parameters and userinfo masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if is_secret_param(k) else v) for k, v in pairs], safe="*")
    return scrub(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: (MASK if k.lower() in SECRET_HEADERS else scrub(v)) for k, v in items}
