"""One socket to one server: TCP, TLS (verifying by default), and OP_MSG commands over it."""
from __future__ import annotations

import ipaddress
import itertools
import os
import socket
import ssl
import sys
from typing import Any, Callable, Dict

from cutover.errors import ConfigError
from cutover.mongo.native import bson, wire
from cutover.mongo.native.dns import DNSError, Resolver
from cutover.mongo.native.errors import MongoCommandError, MongoNetworkError, MongoTLSError
from cutover.mongo.native.uri import Address, MongoURI
from cutover.mongo.values import Document

_request_ids = itertools.count(1)
Warn = Callable[[str], None]


def stderr_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def tls_context(uri: MongoURI, warn: Warn = stderr_warning) -> ssl.SSLContext | None:
    """Verifying context (system CAs or tlsCAFile); tlsInsecure only when asked, and loudly."""
    if not uri.tls:
        return None
    ca_file = uri.option("tlsCAFile")
    if ca_file and not os.path.isfile(ca_file):
        raise ConfigError(f"MongoDB URI tlsCAFile={ca_file}: no such file")
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except ssl.SSLError as exc:
        raise ConfigError(f"MongoDB URI tlsCAFile={ca_file}: not a PEM CA bundle ({exc.reason})") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if uri.tls_insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        warn(
            "tlsInsecure=true: the MongoDB server's certificate is NOT verified; anyone on the network path "
            "can impersonate it and read the data and the credentials. Use tlsCAFile instead."
        )
    elif uri.flag("tlsAllowInvalidHostnames"):
        context.check_hostname = False
        warn("tlsAllowInvalidHostnames=true: the MongoDB server's certificate is not checked against its host name.")
    return context


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Connection:
    """One socket to one server; `command` sends an OP_MSG and returns the checked reply body."""

    def __init__(
        self,
        address: Address,
        context: ssl.SSLContext | None,
        connect_timeout: float,
        socket_timeout: float,
        resolver: Resolver | None = None,
    ) -> None:
        self.address = address
        self.name = f"{address[0]}:{address[1]}"
        self.hello: Document = {}
        self.read_preference: Dict[str, Any] | None = None
        host, port = address
        target = host
        if resolver is not None and not _is_ip(host) and host != "localhost":
            try:
                target = resolver.address(host)
            except DNSError as exc:
                raise MongoNetworkError(f"cannot resolve {host}: {exc}") from None
        try:
            raw = socket.create_connection((target, port), timeout=connect_timeout)
        except socket.timeout:
            raise MongoNetworkError(f"timed out connecting to {self.name} after {connect_timeout:g}s") from None
        except OSError as exc:
            raise MongoNetworkError(f"cannot connect to {self.name}: {exc.strerror or exc}") from None
        try:
            if context is not None:
                raw.settimeout(connect_timeout)
                raw = context.wrap_socket(raw, server_hostname=host)  # SNI + host name check
        except ssl.SSLCertVerificationError as exc:
            raw.close()
            raise MongoTLSError(
                f"TLS certificate verification failed for {self.name}: {exc.verify_message or exc.reason}; "
                "give the CA with tlsCAFile=… (tlsInsecure=true only if you accept an unverified server)"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raw.close()
            raise MongoNetworkError(f"TLS handshake with {self.name} failed: {exc}") from None
        raw.settimeout(socket_timeout)
        self._sock: socket.socket | None = raw

    @property
    def alive(self) -> bool:
        return self._sock is not None

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def _recv_exact(self, size: int) -> bytes:
        assert self._sock is not None
        chunks, got = [], 0
        while got < size:
            chunk = self._sock.recv(min(size - got, 1 << 20))
            if not chunk:
                raise ConnectionResetError("server closed the connection")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def command(self, database: str, body: Dict[str, Any], check: bool = True) -> Document:
        """Run one command; network failures close the connection and raise MongoNetworkError."""
        if self._sock is None:
            raise MongoNetworkError(f"connection to {self.name} is closed")
        name = next(iter(body))
        full = dict(body)
        full["$db"] = database
        if self.read_preference is not None:
            full["$readPreference"] = self.read_preference
        request_id = next(_request_ids) & 0x7FFFFFFF
        try:
            self._sock.sendall(wire.encode_op_msg(request_id, full))
            while True:
                _rid, response_to, op_code, payload = wire.read_message(self._recv_exact)
                if response_to == request_id:
                    break  # replies to abandoned requests are skipped
            if op_code != wire.OP_MSG:
                raise wire.WireError(f"unexpected reply opcode {op_code} (compression is never requested)")
            _flags, reply = wire.decode_op_msg(payload)
        except socket.timeout:
            self.close()
            raise MongoNetworkError(f"{name} on {self.name} timed out") from None
        except (OSError, wire.WireError, bson.BSONError) as exc:
            self.close()
            raise MongoNetworkError(f"{name} on {self.name} failed: {exc}") from None
        if check and reply.get("ok") != 1:
            raise MongoCommandError(name, reply)
        return reply
