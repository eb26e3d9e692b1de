"""The native driver's failures, each explained in one line (all CutoverErrors)."""
from __future__ import annotations

from cutover.errors import CutoverError
from cutover.mongo.values import Document


class MongoError(CutoverError):
    """A MongoDB failure explained in one line."""


class MongoNetworkError(MongoError):
    """The connection failed or dropped; reconnecting may help."""


class MongoServerSelectionError(MongoNetworkError):
    """No usable server within the selection timeout; that wait already was the retry."""


class MongoCommandError(MongoError):
    """The server answered `ok: 0`."""

    def __init__(self, command: str, reply: Document) -> None:
        self.code = reply.get("code")
        self.code_name = reply.get("codeName", "")
        detail = f"code {self.code} {self.code_name}".strip() if self.code is not None else "no code"
        message = str(reply.get("errmsg", "unknown error")).replace("\n", " ")
        super().__init__(f"MongoDB {command} failed: {message} ({detail})")


class MongoAuthError(MongoError):
    """Wrong credentials or a server that fails SCRAM verification."""


class MongoTLSError(MongoError):
    """The server's certificate or TLS handshake was rejected; retrying will not help."""
