"""Atlas API credentials: HTTP Digest API keys or a service account (OAuth 2.0 client credentials)."""
from __future__ import annotations

import base64
import json
import os
import re
import threading
import time
from typing import Any, Callable, Mapping

from cutover.atlas.digest import DigestState, parse_challenge
from cutover.core import redact
from cutover.core.config import read_secret
from cutover.core.http import HttpClient, HttpError, Response, excerpt
from cutover.errors import ConfigError

TOKEN_PATH = "/api/oauth/token"
# Renew a bearer token this long before Atlas says it expires (tokens live 3600 s).
TOKEN_EARLY_RENEW_SECONDS = 60.0


class AtlasAuthError(ConfigError):
    """Atlas refused the credentials (exit 1, with what to check)."""


def atlas_error_text(response: Response) -> str:
    """Atlas's own error fields (errorCode, detail) when the body has them, else an excerpt."""
    try:
        doc = response.json()
    except HttpError:  # not JSON: shown as an excerpt below
        doc = None
    if isinstance(doc, dict) and (doc.get("errorCode") or doc.get("detail")):
        code = doc.get("errorCode") or doc.get("reason") or ""
        return redact.scrub(f"{code}: {doc.get('detail') or ''}".strip(": "))
    return excerpt(response.body) or f"HTTP {response.status}"


# A run of token characters long enough, and mixed enough, to be a credential rather than a word.
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9._~+/=-]{16,}")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")


def _looks_like_token(text: str) -> bool:
    return sum(bool(re.search(p, text)) for p in ("[a-z]", "[A-Z]", "[0-9]")) >= 2


def register_credential_answer(body: bytes) -> Any:
    """Register every token-like value in a credential endpoint's answer as a secret (whatever
    its shape: truncated, renamed fields, not JSON); returns the parsed JSON or None."""
    text = body.decode("utf-8", errors="replace")
    for run in _TOKEN_LIKE.findall(text):
        if _looks_like_token(run):
            redact.register_secret(run)
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    pending = [doc]
    while pending:  # JSON may escape a token ("\/"): register the decoded strings too
        node = pending.pop()
        if isinstance(node, dict):
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, str) and len(node) >= 16:
            redact.register_secret(node)
    return doc


def _oauth_error_code(doc: Any) -> str:
    """The OAuth `error` code (RFC 6749 5.2) or Atlas `errorCode`, only when it has a code's shape."""
    if not isinstance(doc, dict):
        return ""
    for key, shape in (("error", r"[a-z_]{1,40}"), ("errorCode", r"[A-Z_]{1,60}")):
        value = doc.get(key)
        if isinstance(value, str) and re.fullmatch(shape, value):
            return value
    return ""


class Auth:
    """Adds credentials to a request and reacts to a 401; `name` says which kind, for messages."""

    name = ""
    env_names = ""

    def header(self, method: str, uri: str) -> str | None:
        raise NotImplementedError

    def retry_after_401(self, response: Response, sent: str | None) -> bool:
        """True when a new attempt can succeed (fresh challenge, renewed token)."""
        raise NotImplementedError


class DigestAuth(Auth):
    name = "API key (HTTP Digest)"
    env_names = "ATLAS_PUBLIC_KEY/ATLAS_PRIVATE_KEY"

    def __init__(self, public_key: str, private_key: str, cnonce: Callable[[], str] | None = None) -> None:
        self.state = DigestState(public_key, private_key, cnonce)

    def header(self, method: str, uri: str) -> str | None:
        return self.state.header(method, uri)

    def retry_after_401(self, response: Response, sent: str | None) -> bool:
        challenge = parse_challenge(response.header("www-authenticate") or "")
        if challenge is None:
            return False
        # Answer the new challenge; the caller caps attempts, so wrong keys end in a clear error.
        self.state.accept(challenge)
        return True


class ServiceAccountAuth(Auth):
    name = "service account (OAuth 2.0)"
    env_names = "ATLAS_CLIENT_ID/ATLAS_CLIENT_SECRET"

    def __init__(self, http: HttpClient, client_id: str, client_secret: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.http = http
        self.clock = clock
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        redact.register_secret(basic)
        self._basic = basic
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def _fetch(self) -> None:
        """Get a bearer token. The endpoint's body is never quoted: whatever its shape, it may
        hold a token, so every token-like value in it is registered as a secret first."""
        response = self.http.request(
            "POST",
            TOKEN_PATH,
            data=b"grant_type=client_credentials",
            headers={
                "Authorization": f"Basic {self._basic}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            check=False,
        )
        doc = register_credential_answer(response.body)
        code = _oauth_error_code(doc)
        if response.status in (400, 401, 403):
            raise AtlasAuthError(
                f"Atlas refused the service account credentials at {TOKEN_PATH} (HTTP {response.status}"
                f"{': ' + code if code else ''}); check ATLAS_CLIENT_ID and ATLAS_CLIENT_SECRET"
            )
        if not response.ok:
            raise AtlasAuthError(
                f"Atlas token endpoint {TOKEN_PATH} answered HTTP {response.status}{' (' + code + ')' if code else ''}; "
                "try again later, or check ATLAS_API_BASE_URL"
            )
        if not isinstance(doc, dict):
            raise AtlasAuthError(
                f"Atlas token endpoint {TOKEN_PATH} answered HTTP {response.status} with {len(response.body):,} bytes "
                "that are not a JSON object (not shown: they may hold a token); check ATLAS_API_BASE_URL points at Atlas"
            )
        token = doc.get("access_token")
        if not isinstance(token, str) or not token:
            fields = ", ".join(k for k in list(doc)[:10] if _FIELD_NAME.fullmatch(k)) or "none"
            raise AtlasAuthError(
                f"Atlas token endpoint {TOKEN_PATH} answered without an access_token string (fields: {fields}; "
                "values not shown); check ATLAS_API_BASE_URL points at Atlas"
            )
        expires_in = doc.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool) else 3600.0
        self._token = token
        self._expires = self.clock() + max(0.0, lifetime - TOKEN_EARLY_RENEW_SECONDS)

    def header(self, method: str, uri: str) -> str | None:
        with self._lock:
            if self._token is None or self.clock() >= self._expires:
                self._fetch()
            return f"Bearer {self._token}"

    def retry_after_401(self, response: Response, sent: str | None) -> bool:
        with self._lock:
            self._token = None  # revoked or expired early: fetch a new one on the next header() call
        return sent is not None


def auth_from_env(http: HttpClient, environ: Mapping[str, str] | None = None) -> Auth:
    """Service account when ATLAS_CLIENT_ID/SECRET are set, else Digest API keys; else a clear error."""
    env = os.environ if environ is None else environ
    client_id = env.get("ATLAS_CLIENT_ID")
    if client_id:
        secret = read_secret("ATLAS_CLIENT_SECRET", environ)
        if not secret:
            raise ConfigError("ATLAS_CLIENT_ID is set but ATLAS_CLIENT_SECRET is not (or set ATLAS_CLIENT_SECRET_FILE)")
        return ServiceAccountAuth(http, client_id, secret)
    public_key = env.get("ATLAS_PUBLIC_KEY")
    private_key = read_secret("ATLAS_PRIVATE_KEY", environ)
    if public_key and private_key:
        return DigestAuth(public_key, private_key)
    if public_key or private_key:
        raise ConfigError("set both ATLAS_PUBLIC_KEY and ATLAS_PRIVATE_KEY (or ATLAS_PRIVATE_KEY_FILE)")
    raise ConfigError(
        "--atlas-group needs Atlas credentials: ATLAS_CLIENT_ID/ATLAS_CLIENT_SECRET (service account) "
        "or ATLAS_PUBLIC_KEY/ATLAS_PRIVATE_KEY (API key), in the environment or *_FILE"
    )
