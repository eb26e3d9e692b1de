"""A local MongoDB Atlas Administration API v2: HTTP Digest API keys (RFC 7616 challenge/response,
fresh nonce per 401), service-account tokens (POST /api/oauth/token, client credentials), and
GET /api/atlas/v2/groups/{groupId}/processes/{processId}/measurements with CONNECTIONS data points
in the documented shape. Verification here is written independently of cutover.atlas."""
from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
import secrets
from typing import Callable

from tests.support.httpserver import FakeServer, Reply, Request

ACCEPT = "application/vnd.atlas.2023-01-01+json"
REALM = "MMS Public API"
_HASH = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def _iso(dt: datetime.datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def _error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Reply:
    reasons = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 406: "Not Acceptable"}
    body = {"detail": detail, "error": status, "errorCode": code, "parameters": [], "reason": reasons.get(status, "")}
    return Reply.json(body, status, headers)


class FakeAtlas(FakeServer):
    def __init__(
        self,
        connections: Callable[[], float],
        public_key: str = "abcdefgh",
        private_key: str = "11111111-2222-3333-4444-555555555555",
        client_id: str = "mdb_sa_id_0123456789abcdef01234567",
        client_secret: str = "mdb_sa_sk_notarealsecret0123456789",
        algorithm: str = "MD5",
        history: int = 29,
        baseline: float = 40.0,
        empty: bool = False,
    ) -> None:
        super().__init__()
        self.connections = connections
        self.public_key, self.private_key = public_key, private_key
        self.client_id, self.client_secret = client_id, client_secret
        self.algorithm = algorithm
        self.history = history
        self.baseline = baseline
        self.empty = empty  # a process Atlas has no data for: every point null
        # How the token endpoint answers a good request, given the token it issued: the
        # documented JSON by default; tests swap in broken answers (truncated, renamed field).
        self.token_reply: Callable[[str], Reply] = lambda token: Reply.json(
            {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})
        self.issued: list[str] = []  # every token handed out, including in broken answers
        self.nonces: set[str] = set()
        self.tokens: set[str] = set()
        self.samples: list[float] = []
        self.challenges = 0
        self.route("POST", "/api/oauth/token", self._token)
        self.route("GET", "/api/atlas/v2/groups/{group}/processes/{process}/measurements", self._measurements)

    # -- auth ----------------------------------------------------------------
    def _challenge(self, detail: str) -> Reply:
        nonce = secrets.token_urlsafe(24)
        self.nonces.add(nonce)
        self.challenges += 1
        header = f'Digest realm="{REALM}", domain="", nonce="{nonce}", algorithm={self.algorithm}, qop="auth", stale=false'
        return _error(401, "UNAUTHORIZED", detail, {"WWW-Authenticate": header})

    def _digest_ok(self, header: str, req: Request) -> bool:
        params = dict((m.group(1), m.group(2) if m.group(2) is not None else m.group(3))
                      for m in re.finditer(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', header[len("Digest "):]))
        if params.get("username") != self.public_key or params.get("nonce") not in self.nonces:
            return False
        if params.get("realm") != REALM or params.get("qop") != "auth" or params.get("algorithm", "MD5") != self.algorithm:
            return False
        target = req.path + (("?" + "&".join(f"{k}={v}" for k, v in req.query_list)) if req.query_list else "")
        if params.get("uri") != target:
            return False
        h = _HASH[self.algorithm]
        ha1 = h(f"{self.public_key}:{REALM}:{self.private_key}".encode()).hexdigest()
        ha2 = h(f"{req.method}:{params['uri']}".encode()).hexdigest()
        expected = h(f"{ha1}:{params['nonce']}:{params.get('nc')}:{params.get('cnonce')}:auth:{ha2}".encode()).hexdigest()
        return secrets.compare_digest(expected, params.get("response", ""))

    def before(self, req: Request) -> Reply | None:
        if not req.path.startswith("/api/atlas/v2/"):
            return None
        header = req.headers.get("authorization", "")
        if header.startswith("Bearer "):
            if header[len("Bearer "):] in self.tokens:
                return None
            return _error(401, "NOT_ORG_GROUP_CREATOR", "Invalid or expired access token.")
        if header.startswith("Digest ") and self._digest_ok(header, req):
            return None
        return self._challenge("You are not authorized for this resource.")

    def _token(self, req: Request) -> Reply:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {expected}":
            return Reply.json({"error": "invalid_client", "error_description": "Invalid client credentials"}, 401)
        if req.body != b"grant_type=client_credentials":
            return Reply.json({"error": "unsupported_grant_type"}, 400)
        token = "eyJ" + secrets.token_urlsafe(32)
        self.tokens.add(token)
        self.issued.append(token)
        return self.token_reply(token)

    # -- measurements --------------------------------------------------------
    def _measurements(self, req: Request) -> Reply:
        if req.headers.get("accept") != ACCEPT:
            return _error(406, "INVALID_VERSION", f"Accept must be {ACCEPT}")
        if not re.match(r"^[0-9a-f]{24}$", req.params["group"]):
            return _error(400, "INVALID_GROUP_ID", "An invalid group ID was specified.")
        if "granularity" not in req.query or ("period" not in req.query and "start" not in req.query):
            return _error(400, "MISSING_ATTRIBUTE", "granularity and period (or start/end) are required")
        wanted = [v for k, v in req.query_list if k == "m"]
        value = float(self.connections())
        self.samples.append(value)
        now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=10 * len(self.samples))
        points = [{"timestamp": _iso(now - datetime.timedelta(seconds=10 * (self.history - i + 1))), "value": self.baseline}
                  for i in range(self.history - len(self.samples[-self.history:]))]
        recent = self.samples[-self.history:]
        points += [{"timestamp": _iso(now - datetime.timedelta(seconds=10 * (len(recent) - i))), "value": v}
                   for i, v in enumerate(recent)]
        points.append({"timestamp": _iso(now), "value": None})  # Atlas leaves the newest interval empty
        if self.empty:
            points = [{"timestamp": p["timestamp"], "value": None} for p in points]
        measurements = [{"dataPoints": points, "name": "CONNECTIONS", "units": "SCALAR"}] if "CONNECTIONS" in wanted or not wanted else []
        process = req.params["process"]
        return Reply.json({
            "end": _iso(now),
            "granularity": req.query["granularity"],
            "groupId": req.params["group"],
            "hostId": process,
            "links": [],
            "measurements": measurements,
            "processId": process,
            "start": _iso(now - datetime.timedelta(minutes=5)),
        })


def _truncated(token: str) -> Reply:
    whole = json.dumps({"access_token": token, "expires_in": 3600, "token_type": "Bearer"}).encode()
    return Reply(200, whole[: whole.index(token.encode()) + len(token) - 5], {"Content-Type": "application/json"})


# Token endpoint answers that go wrong in ways an attacker or a broken proxy could arrange;
# each holds the issued token somewhere.
BROKEN_TOKEN_ANSWERS: dict[str, Callable[[str], Reply]] = {
    "truncated": _truncated,
    "renamed-field": lambda t: Reply.json({"accessToken": t, "expires_in": 3600, "token_type": "Bearer"}),
    "nested": lambda t: Reply.json({"data": {"access_token": t}}),
    "not-json": lambda t: Reply(200, f"access_token={t}&expires_in=3600".encode(), {"Content-Type": "text/plain"}),
    "token-not-a-string": lambda t: Reply.json({"access_token": [t], "expires_in": 3600}),
    "server-error-echoing": lambda t: Reply.json({"error": "server_error", "error_description": f"issued {t} but failed"}, 500),
    "refused-echoing": lambda t: Reply.json({"error": "invalid_client", "error_description": f"token {t} revoked"}, 401),
}


def token_pieces(token: str, size: int = 12) -> set[str]:
    """The token and every `size`-character piece of it: none may appear in output (a
    truncated answer holds only a prefix)."""
    return {token[i:i + size] for i in range(0, len(token) - size + 1)}
