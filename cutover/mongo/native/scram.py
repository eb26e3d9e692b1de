"""SCRAM-SHA-256 (RFC 7677, password SASLprep'd) and SCRAM-SHA-1 (MongoDB's hashed password), client side."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stringprep
import unicodedata
from typing import Dict

MIN_ITERATIONS = 4096
MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-1")


class ScramError(ValueError):
    """The server's SCRAM messages are malformed, too weak, or fail verification."""


def saslprep(text: str) -> str:
    """RFC 4013 SASLprep (stored-strings profile: unassigned code points are refused)."""
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch for ch in text if not stringprep.in_table_b1(ch)
    )
    normalized = unicodedata.normalize("NFKC", mapped)
    if not normalized:
        return normalized
    prohibited = (
        stringprep.in_table_a1,
        stringprep.in_table_c12,
        stringprep.in_table_c21,
        stringprep.in_table_c22,
        stringprep.in_table_c3,
        stringprep.in_table_c4,
        stringprep.in_table_c5,
        stringprep.in_table_c6,
        stringprep.in_table_c7,
        stringprep.in_table_c8,
        stringprep.in_table_c9,
    )
    for ch in normalized:
        if any(check(ch) for check in prohibited):
            raise ScramError("password contains a character SASLprep prohibits")
    # Bidirectional rule (RFC 3454 section 6).
    if any(stringprep.in_table_d1(ch) for ch in normalized):
        if any(stringprep.in_table_d2(ch) for ch in normalized):
            raise ScramError("password mixes right-to-left and left-to-right characters")
        if not (stringprep.in_table_d1(normalized[0]) and stringprep.in_table_d1(normalized[-1])):
            raise ScramError("right-to-left password must start and end with a right-to-left character")
    return normalized


def _escape_username(name: str) -> str:
    return name.replace("=", "=3D").replace(",", "=2C")


def _parse(message: bytes) -> Dict[str, str]:
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise ScramError("server SCRAM message is not UTF-8") from None
    fields: Dict[str, str] = {}
    for item in text.split(","):
        if len(item) < 2 or item[1] != "=":
            raise ScramError("malformed server SCRAM message")
        fields.setdefault(item[0], item[2:])
    return fields


class ScramClient:
    """One conversation: `first()`, then `final(server_first)`, then `verify(server_final)`."""

    def __init__(self, mechanism: str, username: str, password: str, nonce: str | None = None) -> None:
        if mechanism not in MECHANISMS:
            raise ScramError(f"unsupported mechanism {mechanism}")
        self.mechanism = mechanism
        self._digest = "sha256" if mechanism == "SCRAM-SHA-256" else "sha1"
        if mechanism == "SCRAM-SHA-1":
            # MongoDB's SCRAM-SHA-1 salts the legacy MONGODB-CR hash, not the password itself.
            secret = hashlib.md5(f"{username}:mongo:{password}".encode()).hexdigest()  # noqa: S324 - protocol-mandated
        else:
            secret = saslprep(password)
        self._password = secret.encode("utf-8")
        self._nonce = nonce or base64.b64encode(os.urandom(24)).decode("ascii")
        self._first_bare = f"n={_escape_username(username)},r={self._nonce}"
        self._server_signature = b""

    def first(self) -> bytes:
        return ("n,," + self._first_bare).encode("utf-8")

    def final(self, server_first: bytes) -> bytes:
        fields = _parse(server_first)
        nonce, salt_b64, iterations_text = fields.get("r", ""), fields.get("s", ""), fields.get("i", "")
        if not nonce.startswith(self._nonce) or len(nonce) <= len(self._nonce):
            raise ScramError("server nonce does not extend the client nonce")
        try:
            salt = base64.b64decode(salt_b64, validate=True)
            iterations = int(iterations_text)
        except (ValueError, TypeError):
            raise ScramError("malformed salt or iteration count from server") from None
        if iterations < MIN_ITERATIONS:
            raise ScramError(f"server asks for {iterations} SCRAM iterations (< {MIN_ITERATIONS}); refusing")
        salted = hashlib.pbkdf2_hmac(self._digest, self._password, salt, iterations)
        client_key = hmac.new(salted, b"Client Key", self._digest).digest()
        stored_key = hashlib.new(self._digest, client_key).digest()
        without_proof = f"c=biws,r={nonce}"
        auth_message = f"{self._first_bare},{server_first.decode('utf-8')},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, self._digest).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        server_key = hmac.new(salted, b"Server Key", self._digest).digest()
        self._server_signature = hmac.new(server_key, auth_message, self._digest).digest()
        return f"{without_proof},p={base64.b64encode(proof).decode('ascii')}".encode()

    def verify(self, server_final: bytes) -> None:
        """Raise unless the server proved it knows the password too (mutual authentication)."""
        fields = _parse(server_final)
        if "e" in fields:
            raise ScramError(f"server reported SCRAM error: {fields['e']}")
        try:
            signature = base64.b64decode(fields.get("v", ""), validate=True)
        except ValueError:
            raise ScramError("malformed server signature") from None
        if not self._server_signature or not hmac.compare_digest(signature, self._server_signature):
            raise ScramError("server signature does not verify: this server does not know the password")
