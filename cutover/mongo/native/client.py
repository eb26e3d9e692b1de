"""Connections, the hello handshake, SCRAM auth, server selection and cursors for a read-only scan."""
from __future__ import annotations

import ipaddress
import itertools
import os
import platform
import socket
import ssl
import sys
import time
from typing import Any, Callable, Dict, Iterator, List

from cutover import __version__
from cutover.core.redact import scrub
from cutover.errors import ConfigError, CutoverError
from cutover.mongo.native import bson, wire
from cutover.mongo.native.dns import DNSError, Resolver
from cutover.mongo.native.scram import ScramClient, ScramError
from cutover.mongo.native.uri import Address, MongoURI
from cutover.mongo.values import Binary, Document, Int64

_request_ids = itertools.count(1)
MIN_WIRE_VERSION = 6  # OP_MSG arrived with MongoDB 3.6
_AUTH_FAILED = 18
_COMMAND_NOT_FOUND = 59
Warn = Callable[[str], None]


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


def client_metadata(app_name: str | None) -> Document:
    meta: Document = {
        "driver": {"name": "cutover-native", "version": __version__},
        "os": {"type": platform.system() or "unknown", "architecture": platform.machine() or "unknown"},
        "platform": f"{platform.python_implementation()} {platform.python_version()}",
    }
    if app_name:
        meta["application"] = {"name": app_name[:128]}
    return meta


def handshake(conn: Connection, uri: MongoURI, app_name: str | None) -> Document:
    body: Dict[str, Any] = {"hello": 1, "helloOk": True, "client": client_metadata(app_name)}
    if uri.username is not None and uri.option("authMechanism", "DEFAULT") == "DEFAULT":
        body["saslSupportedMechs"] = f"{uri.auth_source}.{uri.username}"
    if uri.flag("loadBalanced"):
        body["loadBalanced"] = True
    reply = conn.command("admin", body, check=False)
    if reply.get("ok") != 1 and reply.get("code") == _COMMAND_NOT_FOUND:
        body = dict(body)
        del body["hello"]
        reply = conn.command("admin", {"isMaster": 1, **body})  # servers before 4.4.2
    elif reply.get("ok") != 1:
        raise MongoCommandError("hello", reply)
    if int(reply.get("maxWireVersion", 0)) < MIN_WIRE_VERSION:
        raise MongoError(f"MongoDB server {conn.name} is too old (needs 3.6 or later for OP_MSG)")
    conn.hello = reply
    return reply


def authenticate(conn: Connection, uri: MongoURI) -> None:
    """SCRAM conversation; the server's signature is verified before we trust the connection."""
    if uri.username is None:
        return
    mechanism = uri.option("authMechanism", "DEFAULT")
    if mechanism == "DEFAULT":
        offered = conn.hello.get("saslSupportedMechs")
        mechanism = "SCRAM-SHA-1" if offered and "SCRAM-SHA-256" not in offered and "SCRAM-SHA-1" in offered else "SCRAM-SHA-256"
    source = uri.auth_source
    where = f"user {uri.username!r} (authSource={source}, {mechanism}) on {conn.name}"
    try:
        scram = ScramClient(mechanism, uri.username, uri.password or "")
        reply = conn.command(
            source,
            {
                "saslStart": 1,
                "mechanism": mechanism,
                "payload": Binary(scram.first()),
                "autoAuthorize": 1,
                "options": {"skipEmptyExchange": True},
            },
        )
        final = scram.final(_payload(reply))
        reply = conn.command(
            source, {"saslContinue": 1, "conversationId": reply.get("conversationId"), "payload": Binary(final)}
        )
        scram.verify(_payload(reply))
        for _ in range(2):  # servers without skipEmptyExchange want one more, empty, round
            if reply.get("done"):
                break
            reply = conn.command(
                source, {"saslContinue": 1, "conversationId": reply.get("conversationId"), "payload": Binary(b"")}
            )
        if not reply.get("done"):
            raise ScramError("server did not finish the SCRAM conversation")
    except MongoCommandError as exc:
        conn.close()
        if exc.code == _AUTH_FAILED:
            raise MongoAuthError(f"MongoDB authentication failed for {where}: wrong user name or password") from None
        raise MongoAuthError(f"MongoDB authentication failed for {where}: {exc}") from None
    except ScramError as exc:
        conn.close()
        raise MongoAuthError(f"MongoDB authentication failed for {where}: {exc}") from None


def _payload(reply: Document) -> bytes:
    payload = reply.get("payload")
    if isinstance(payload, Binary):
        return payload.data
    raise ScramError("server reply has no SCRAM payload")


def server_kind(hello: Document) -> str:
    if hello.get("serviceId") is not None:
        return "loadbalancer"
    if hello.get("msg") == "isdbgrid":
        return "mongos"
    if hello.get("setName"):
        if hello.get("isWritablePrimary") or hello.get("ismaster"):
            return "primary"
        if hello.get("secondary"):
            return "secondary"
        return "other"  # arbiter, hidden, recovering
    if hello.get("isreplicaset"):
        return "other"  # a member not yet initiated
    return "standalone"


class MongoClient:
    """Selects one suitable server (seed list + hello discovery) and keeps one connection to it."""

    def __init__(
        self,
        uri: MongoURI,
        *,
        resolver: Resolver | None = None,
        warn: Warn = stderr_warning,
        app_name: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.uri = uri
        self.resolver = resolver
        self.warn = warn
        self.app_name = app_name or uri.option("appName") or "cutover"
        self.sleep = sleep
        self.context = tls_context(uri, warn)
        self.connect_timeout = uri.millis("connectTimeoutMS", 10_000)
        self.socket_timeout = uri.millis("socketTimeoutMS", 120_000)
        self.selection_timeout = uri.millis("serverSelectionTimeoutMS", 30_000)
        self._conn: Connection | None = None

    def connection(self) -> Connection:
        if self._conn is None or not self._conn.alive:
            self._conn = self._select()
        return self._conn

    def reset(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    close = reset

    def _open(self, address: Address) -> Connection:
        conn = Connection(address, self.context, self.connect_timeout, self.socket_timeout, self.resolver)
        try:
            handshake(conn, self.uri, self.app_name)
        except MongoError:
            conn.close()
            raise
        return conn

    def _select(self) -> Connection:
        deadline = time.monotonic() + self.selection_timeout
        delay = 0.25
        errors: List[str] = []
        while True:
            conn = self._discover(errors)
            if conn is not None:
                return conn
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.sleep(min(delay, remaining))
            delay = min(delay * 2, 5.0)
        mode = self.uri.read_preference
        detail = "; ".join(dict.fromkeys(errors[-3:])) or "no server answered"
        raise MongoServerSelectionError(
            scrub(f"no suitable MongoDB server (readPreference={mode}) within {self.selection_timeout:g}s: {detail}")
        )

    def _discover(self, errors: List[str]) -> Connection | None:
        """One pass over seeds and the hosts they report; the chosen connection is authenticated."""
        mode = self.uri.read_preference
        want_set = self.uri.option("replicaSet")
        direct = self.uri.flag("directConnection")
        queue = list(self.uri.hosts)
        seen: set = set()
        primary: Connection | None = None
        secondary: Connection | None = None
        try:
            while queue and len(seen) < 64:
                address = queue.pop(0)
                if address in seen:
                    continue
                seen.add(address)
                try:
                    conn = self._open(address)
                except MongoNetworkError as exc:
                    errors.append(str(exc))
                    continue
                kind = server_kind(conn.hello)
                if kind in ("loadbalancer", "mongos") or self.uri.flag("loadBalanced"):
                    return self._choose(conn, kind)
                if want_set and conn.hello.get("setName") != want_set:
                    errors.append(f"{conn.name} is in replica set {conn.hello.get('setName')!r}, not {want_set!r}")
                    conn.close()
                    continue
                if direct or kind == "standalone":
                    return self._choose(conn, kind)
                primary_host = _primary_address(conn.hello)
                for host in _member_addresses(conn.hello):
                    if host in seen:
                        continue
                    if host == primary_host:
                        queue.insert(0, host)  # hello points at the primary: ask it next
                    else:
                        queue.append(host)
                if kind == "primary" and primary is None:
                    if mode in ("primary", "primaryPreferred"):
                        return self._choose(conn, kind)
                    primary = conn
                elif kind == "secondary" and secondary is None:
                    if mode in ("secondary", "secondaryPreferred", "nearest"):
                        return self._choose(conn, kind)
                    secondary = conn
                else:
                    conn.close()
            if primary is not None and mode in ("secondaryPreferred", "nearest"):
                if mode == "secondaryPreferred":
                    self.warn(f"no secondary reachable; reading from the primary {primary.name}")
                chosen, primary = primary, None
                return self._choose(chosen, "primary")
            if secondary is not None and mode == "primaryPreferred":
                chosen, secondary = secondary, None
                return self._choose(chosen, "secondary")
            errors.append(f"no {'primary' if mode == 'primary' else 'secondary'} among {len(seen)} host(s)")
            return None
        finally:
            for spare in (primary, secondary):
                if spare is not None:
                    spare.close()

    def _choose(self, conn: Connection, kind: str) -> Connection:
        mode = self.uri.read_preference
        if kind in ("secondary", "other"):
            # Without a non-primary read preference a secondary refuses reads (NotPrimaryNoSecondaryOk).
            conn.read_preference = {"mode": mode if mode != "primary" else "primaryPreferred"}
        elif kind in ("mongos", "loadbalancer") and mode != "primary":
            conn.read_preference = {"mode": mode}
        authenticate(conn, self.uri)
        return conn

    def cursor(self, database: str, collection: str, find: Dict[str, Any], batch_size: int) -> Iterator[List[Document]]:
        """Batches of a `find` until the cursor is exhausted; killCursors if the caller stops early."""
        conn = self.connection()
        body: Dict[str, Any] = {"find": collection, **find, "batchSize": batch_size}
        reply = conn.command(database, body)
        cursor = reply.get("cursor") or {}
        cursor_id = int(cursor.get("id", 0))
        try:
            yield list(cursor.get("firstBatch", []))
            while cursor_id:
                reply = conn.command(
                    database, {"getMore": Int64(cursor_id), "collection": collection, "batchSize": batch_size}
                )
                cursor = reply.get("cursor") or {}
                cursor_id = int(cursor.get("id", 0))
                yield list(cursor.get("nextBatch", []))
        finally:
            if cursor_id and conn.alive:
                try:
                    conn.command(database, {"killCursors": collection, "cursors": [Int64(cursor_id)]})
                except MongoError:
                    pass  # the server reaps abandoned cursors after 10 minutes anyway


def _member_addresses(hello: Document) -> List[Address]:
    found: List[Address] = []
    for key in ("hosts", "passives"):
        for text in hello.get(key) or []:
            found.append(_split_address(str(text)))
    return found


def _primary_address(hello: Document) -> Address | None:
    primary = hello.get("primary")
    return _split_address(str(primary)) if primary else None


def _split_address(text: str) -> Address:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        return text.lower().strip("[]"), 27017
    return host.lower().strip("[]"), int(port)


__all__ = [
    "Connection",
    "MongoAuthError",
    "MongoClient",
    "MongoCommandError",
    "MongoError",
    "MongoNetworkError",
    "MongoTLSError",
]
