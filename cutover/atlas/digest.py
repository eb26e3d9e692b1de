"""HTTP Digest authentication (RFC 7616; RFC 2617/2069 compatible) as pure functions plus a small state holder."""
from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from typing import Callable

_PARAM = re.compile(r'([A-Za-z][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')

_HASHES: dict[str, str] = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}


class DigestError(ValueError):
    """The server's challenge is not one we can answer."""


@dataclass(frozen=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"  # as sent, e.g. "SHA-256-sess"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False
    userhash: bool = False


def parse_challenge(header: str) -> Challenge | None:
    """The Digest challenge in a WWW-Authenticate value, or None when there is none."""
    idx = header.lower().find("digest ")
    if idx < 0:
        return None
    params: dict[str, str] = {}
    for m in _PARAM.finditer(header[idx + 7 :]):
        name = m.group(1).lower()
        if name in params:
            break  # a second challenge (another scheme) starts here
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params[name] = re.sub(r"\\(.)", r"\1", value)
    if "nonce" not in params:
        return None
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=params.get("realm", ""),
        nonce=params["nonce"],
        algorithm=params.get("algorithm", "MD5"),
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
        userhash=params.get("userhash", "").lower() == "true",
    )


def _hasher(algorithm: str) -> Callable[[str], str]:
    base = algorithm.upper()
    if base.endswith("-SESS"):
        base = base[: -len("-SESS")]
    name = _HASHES.get(base)
    if name is None or name not in hashlib.algorithms_available:
        raise DigestError(f"unsupported digest algorithm {algorithm!r}")
    return lambda text: hashlib.new(name, text.encode("utf-8")).hexdigest()


def response_value(
    challenge: Challenge, username: str, password: str, method: str, uri: str, nc: int, cnonce: str
) -> tuple[str, str | None]:
    """(response, qop used) per RFC 7616 section 3.4.1; qop None = RFC 2069 form."""
    h = _hasher(challenge.algorithm)
    ha1 = h(f"{username}:{challenge.realm}:{password}")
    if challenge.algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    if not challenge.qop:
        return h(f"{ha1}:{challenge.nonce}:{ha2}"), None
    if "auth" not in challenge.qop:
        raise DigestError(f"server offers only qop={','.join(challenge.qop)}; this client supports qop=auth")
    return h(f"{ha1}:{challenge.nonce}:{nc:08x}:{cnonce}:auth:{ha2}"), "auth"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def authorization(
    challenge: Challenge, username: str, password: str, method: str, uri: str, nc: int, cnonce: str
) -> str:
    """The Authorization header value answering `challenge`."""
    response, qop = response_value(challenge, username, password, method, uri, nc, cnonce)
    shown_user = _hasher(challenge.algorithm)(f"{username}:{challenge.realm}") if challenge.userhash else username
    parts = [
        f"username={_quote(shown_user)}",
        f"realm={_quote(challenge.realm)}",
        f"nonce={_quote(challenge.nonce)}",
        f"uri={_quote(uri)}",
        f"algorithm={challenge.algorithm}",
        f"response={_quote(response)}",
    ]
    if qop is not None:
        parts += [f"qop={qop}", f"nc={nc:08x}", f"cnonce={_quote(cnonce)}"]
    if challenge.opaque is not None:
        parts.append(f"opaque={_quote(challenge.opaque)}")
    if challenge.userhash:
        parts.append("userhash=true")
    return "Digest " + ", ".join(parts)


class DigestState:
    """Remembers the last challenge so later requests answer it directly (nc counts up)."""

    def __init__(self, username: str, password: str, cnonce: Callable[[], str] | None = None) -> None:
        self.username = username
        self.password = password
        self._cnonce = cnonce or (lambda: os.urandom(16).hex())
        self._lock = threading.Lock()
        self.challenge: Challenge | None = None
        self._nc = 0

    def header(self, method: str, uri: str) -> str | None:
        with self._lock:
            if self.challenge is None:
                return None
            self._nc += 1
            return authorization(self.challenge, self.username, self.password, method, uri, self._nc, self._cnonce())

    def accept(self, challenge: Challenge) -> None:
        with self._lock:
            self.challenge = challenge
            self._nc = 0
