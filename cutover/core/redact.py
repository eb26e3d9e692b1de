"""Keep secrets out of every message, log and exception text.

Two layers: credential *positions* (URI userinfo, auth headers, password=/token= values,
bearer tokens) are masked whatever they hold, and known-secret *values* (registered from
the environment, or by the code that obtained them at run time) are replaced where they
stand as a whole token, or anywhere once long enough. A short plain word that equals a
password is not rewritten in ordinary text: that would mangle messages and reveal the
password by where the mask lands.
"""
from __future__ import annotations

import os
import re
import threading
from typing import Iterable, Mapping
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

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
# A registered value this long is masked wherever it appears, even inside other text.
_LONG_SECRET_LEN = 16


def register_secret(value: str | None) -> None:
    """Remember a secret value so `scrub` removes it from any text."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _lock:
            _values.add(value)
            # A URI's password may appear percent-decoded or encoded; register both forms.
            m = re.match(r"^[a-z+]+://([^:@/]*):([^@/]*)@", value)
            if m and len(m.group(2)) >= _MIN_SECRET_LEN:
                _values.add(m.group(2))
                _values.add(unquote(m.group(2)))


def register_env_secrets(environ: Mapping[str, str] | None = None) -> None:
    env = os.environ if environ is None else environ
    for name in SECRET_ENV_VARS:
        register_secret(env.get(name))


def _token_like(value: str) -> bool:
    """Mixes at least two kinds of character (lower, upper, digit, other): not an ordinary word or number."""
    kinds = (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    return sum(bool(re.search(kind, value)) for kind in kinds) >= 2


# Credential positions: masked whatever the value, registered or not.
_URI_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/@\s:]+):([^/@\s]+)@")
_TOKEN_CHARS = r"[A-Za-z0-9._~+/=-]"
_AUTH_SCHEME = re.compile(rf"\b(Bearer|Basic)\s+({_TOKEN_CHARS}{{8,}})", re.IGNORECASE)
_HEADER_VALUE = re.compile(
    r"(?i)(?<![\w-])(" + "|".join(re.escape(h) for h in sorted(SECRET_HEADERS, key=len, reverse=True)) + r")"
    r"(\s*:\s*)((?:(?:bearer|basic|digest)\s+)?)([^\s,;)]+)"
)
_KEY_VALUE = re.compile(
    r"""(?i)(?<![\w-])(["']?)(password|passwd|pwd|secret|token|access_token|refresh_token|client_secret|api[-_]?key)\1"""
    r"""(=|\s*:\s*(?=["']))(["']?)([^\s"'&,;)]+)"""
)


def scrub(text: str) -> str:
    """Mask secrets in `text` where they stand as credentials (URI userinfo, auth headers,
    password=/token= values, bearer tokens) and every registered value that is long enough
    or token-like and standing alone; an ordinary word that happens to equal a short
    password (`admin`, `wrong`) is left alone so the message still reads."""
    if not text:
        return text
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value not in text:
            continue
        if len(value) >= _LONG_SECRET_LEN:
            text = text.replace(value, MASK)
        elif _token_like(value):
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", MASK, text)
    text = _URI_CREDENTIALS.sub(lambda m: f"{m.group(1)}{m.group(2)}:{MASK}@", text)
    text = _HEADER_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{MASK}", text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)} {MASK}" if _token_like(m.group(2)) else m.group(0), text)
    text = _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(1)}{m.group(3)}{m.group(4)}{MASK}", text)
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
