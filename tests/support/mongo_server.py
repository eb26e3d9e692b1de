"""A small MongoDB server for tests: OP_MSG (and OP_QUERY for legacy handshakes), hello, SCRAM-SHA-256/1
server side, find/getMore/killCursors/count/aggregate ($match, $count), optional TLS and replica-set
roles, injectable faults. Queries use the Data API fake's matcher (`$gt..$type/$and/$or` with
MongoDB's type bracketing); an operator it does not know is an error, never ignored.

It uses pymongo's `bson` (an implementation independent of ours) and is first checked by real pymongo.
Loopback only; every socket wait is bounded.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import socket
import ssl
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import bson
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.datetime_ms import DatetimeMS
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from pymongo.saslprep import saslprep

from tests.support.dataapi_server import QueryError, matches

OPTIONS = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)
OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
MAX_WIRE_VERSION = 21  # MongoDB 7.0


def bson_order(value: Any) -> tuple:
    """MongoDB's cross-type sort order (numbers < strings < objects < ... < ObjectId < bool < date)."""
    if isinstance(value, MinKey):
        return (0,)
    if value is None:
        return (1,)
    if isinstance(value, bool):
        return (8, value)
    if isinstance(value, (int, float)):
        return (2, float(value))
    if isinstance(value, Decimal128):
        return (2, float(value.to_decimal()))
    if isinstance(value, str):
        return (3, value.encode("utf-8"))
    if isinstance(value, dict):
        return (4, tuple((k, bson_order(v)) for k, v in value.items()))
    if isinstance(value, list):
        return (5, tuple(bson_order(v) for v in value))
    if isinstance(value, bytes):
        return (6, len(value), bytes(value))
    if isinstance(value, ObjectId):
        return (7, value.binary)
    if isinstance(value, DatetimeMS):
        return (9, int(value))
    if isinstance(value, MaxKey):
        return (99,)
    return (50, repr(value))


@dataclass
class ScramUser:
    """Stored SCRAM credentials (what mongod keeps): salt, iterations, StoredKey, ServerKey per mechanism."""

    name: str
    db: str
    keys: dict[str, tuple[bytes, int, bytes, bytes]] = field(default_factory=dict)

    @classmethod
    def create(cls, name: str, password: str, db: str = "admin", iterations: int = 4096) -> ScramUser:
        user = cls(name, db)
        for mechanism, digest, secret in (
            ("SCRAM-SHA-256", "sha256", saslprep(password)),
            ("SCRAM-SHA-1", "sha1", hashlib.md5(f"{name}:mongo:{password}".encode()).hexdigest()),
        ):
            salt = os.urandom(16 if digest == "sha1" else 28)
            salted = hashlib.pbkdf2_hmac(digest, secret.encode("utf-8"), salt, iterations)
            stored = hashlib.new(digest, hmac.new(salted, b"Client Key", digest).digest()).digest()
            server = hmac.new(salted, b"Server Key", digest).digest()
            user.keys[mechanism] = (salt, iterations, stored, server)
        return user


@dataclass
class Faults:
    drop_on_getmore: int = 0  # close the connection instead of answering the next N getMores
    drop_on_find: int = 0
    lose_cursor_on_getmore: int = 0  # answer the next N getMores with CursorNotFound (cursor timed out)
    lose_on_getmore: int = 0  # the next N getMore batches silently leave out their first document (count still sees it)
    lose_ids: list = field(default_factory=list)  # find never returns these _ids; count and aggregate still see them
    forget_skip_empty_exchange: bool = False  # behave like servers before 4.4 (one more empty round)


class _Conversation:
    def __init__(self, user: ScramUser, mechanism: str, client_first_bare: str, server_first: str) -> None:
        self.user, self.mechanism = user, mechanism
        self.client_first_bare, self.server_first = client_first_bare, server_first
        self.done = False


class MongoTestServer:
    """`with MongoTestServer(...) as server:` — `server.uri(...)` builds a connection string for it."""

    def __init__(
        self,
        *,
        users: list[ScramUser] | None = None,
        data: dict[str, dict[str, list[dict]]] | None = None,
        tls: tuple[str, str] | None = None,
        role: str = "standalone",
        set_name: str | None = None,
        mechanisms: tuple[str, ...] = ("SCRAM-SHA-256", "SCRAM-SHA-1"),
    ) -> None:
        self.users = {(u.db, u.name): u for u in (users or [])}
        self.data = data if data is not None else {}
        self.role = role
        self.set_name = set_name
        self.hosts: list[str] = []
        self.mechanisms = mechanisms
        self.faults = Faults()
        self.log: list[dict] = []
        self._tls = None
        if tls:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(*tls)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.5)
        self.port = self._listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        self._cursors: dict[int, tuple[str, list[dict]]] = {}
        self._clients: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> MongoTestServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        self.drop_connections()

    def drop_connections(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for sock in clients:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def commands(self, name: str | None = None) -> list[dict]:
        with self._lock:
            return [e for e in self.log if name is None or e["cmd"] == name]

    # ------------------------------------------------------------------ transport

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        sock.settimeout(30)
        try:
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_side=True)
        except (OSError, ssl.SSLError):
            sock.close()
            return
        with self._lock:
            self._clients.append(sock)
        state: dict[str, Any] = {"user": None, "conversation": None}
        try:
            while not self._stop.is_set():
                header = _recv(sock, 16)
                if header is None:
                    return
                length, request_id, _to, op_code = struct.unpack("<iiii", header)
                payload = _recv(sock, length - 16)
                if payload is None:
                    return
                if op_code == OP_QUERY:
                    reply = self._dispatch(self._parse_query(payload), state, sock)
                    if reply is not None:
                        body = bson.encode(reply)
                        msg = struct.pack("<iqii", 0, 0, 0, 1) + body
                        sock.sendall(struct.pack("<iiii", 16 + len(msg), 0, request_id, OP_REPLY) + msg)
                elif op_code == OP_MSG:
                    reply = self._dispatch(self._parse_msg(payload), state, sock)
                    if reply is not None:
                        msg = struct.pack("<I", 0) + b"\x00" + bson.encode(reply)
                        sock.sendall(struct.pack("<iiii", 16 + len(msg), 0, request_id, OP_MSG) + msg)
                else:
                    return
        except (OSError, ssl.SSLError):
            return
        finally:
            sock.close()

    @staticmethod
    def _parse_query(payload: bytes) -> dict:
        nul = payload.index(b"\x00", 4)
        at = nul + 1 + 8
        size = struct.unpack_from("<i", payload, at)[0]
        query = bson.decode(payload[at : at + size], OPTIONS)
        return query.get("$query", query) if "$query" in query else query

    @staticmethod
    def _parse_msg(payload: bytes) -> dict:
        (flags,) = struct.unpack_from("<I", payload, 0)
        end = len(payload) - (4 if flags & 1 else 0)
        pos, body, seqs = 4, None, {}
        while pos < end:
            kind = payload[pos]
            pos += 1
            size = struct.unpack_from("<i", payload, pos)[0]
            if kind == 0:
                body = bson.decode(payload[pos : pos + size], OPTIONS)
            else:
                nul = payload.index(b"\x00", pos + 4)
                ident, at, docs = payload[pos + 4 : nul].decode(), nul + 1, []
                while at < pos + size:
                    n = struct.unpack_from("<i", payload, at)[0]
                    docs.append(bson.decode(payload[at : at + n], OPTIONS))
                    at += n
                seqs[ident] = docs
            pos += size
        assert body is not None
        body.update(seqs)
        return body

    # ------------------------------------------------------------------ commands

    def _dispatch(self, cmd: dict, state: dict, sock: socket.socket) -> dict | None:
        name = next(iter(cmd))
        with self._lock:
            self.log.append({"cmd": name, "body": cmd, "user": state["user"]})
        handler: Callable[[dict, dict], dict | None] | None = getattr(self, "_cmd_" + name.lower(), None)
        if handler is None:
            return _error(59, "CommandNotFound", f"no such command: '{name}'")
        if name.lower() in ("find", "getmore", "count", "aggregate", "killcursors") and self.users and state["user"] is None:
            return _error(13, "Unauthorized", f"command {name} requires authentication")
        if name.lower() in ("find", "getmore") and self._fault(name.lower()):
            sock.shutdown(socket.SHUT_RDWR)
            return None
        try:
            return handler(cmd, state)
        except QueryError as exc:
            return _error(2, "BadValue", str(exc))

    def _fault(self, name: str) -> bool:
        with self._lock:
            attr = "drop_on_getmore" if name == "getmore" else "drop_on_find"
            if getattr(self.faults, attr) > 0:
                setattr(self.faults, attr, getattr(self.faults, attr) - 1)
                return True
        return False

    def _hello(self, cmd: dict) -> dict:
        reply: dict[str, Any] = {
            "helloOk": True,
            "isWritablePrimary": self.role in ("standalone", "primary"),
            "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48_000_000,
            "maxWriteBatchSize": 100_000,
            "localTime": DatetimeMS(0),
            "logicalSessionTimeoutMinutes": 30,
            "connectionId": 1,
            "minWireVersion": 0,
            "maxWireVersion": MAX_WIRE_VERSION,
            "readOnly": False,
        }
        if self.set_name:
            reply.update(setName=self.set_name, hosts=list(self.hosts), me=self.address, secondary=self.role == "secondary")
            primary = [h for h, s in zip(self.hosts, getattr(self, "roles", [])) if s == "primary"]
            if primary:
                reply["primary"] = primary[0]
        mechs = cmd.get("saslSupportedMechs")
        if isinstance(mechs, str) and "." in mechs:
            db, user = mechs.split(".", 1)
            if (db, user) in self.users:
                reply["saslSupportedMechs"] = list(self.mechanisms)
        reply["ok"] = 1.0
        return reply

    def _cmd_hello(self, cmd: dict, state: dict) -> dict:
        return self._hello(cmd)

    def _cmd_ismaster(self, cmd: dict, state: dict) -> dict:
        reply = self._hello(cmd)
        reply["ismaster"] = reply.pop("isWritablePrimary")
        return reply

    def _cmd_ping(self, cmd: dict, state: dict) -> dict:
        return {"ok": 1.0}

    _cmd_endsessions = _cmd_ping

    def _cmd_buildinfo(self, cmd: dict, state: dict) -> dict:
        return {"version": "7.0.0", "versionArray": [7, 0, 0, 0], "ok": 1.0}

    def _cmd_saslstart(self, cmd: dict, state: dict) -> dict:
        mechanism = cmd.get("mechanism")
        if mechanism not in self.mechanisms:
            return _error(2, "BadValue", f"Unsupported mechanism {mechanism}")
        text = bytes(cmd["payload"]).decode("utf-8")
        if not text.startswith("n,,"):
            return _error(17, "ProtocolError", "channel binding not supported")
        bare = text[3:]
        fields = dict(item.split("=", 1) for item in bare.split(","))
        name = fields["n"].replace("=2C", ",").replace("=3D", "=")
        user = self.users.get((cmd["$db"], name))
        if user is None:
            return _error(18, "AuthenticationFailed", "Authentication failed.")
        salt, iterations, _stored, _server = user.keys[mechanism]
        nonce = fields["r"] + base64.b64encode(os.urandom(24)).decode()
        server_first = f"r={nonce},s={base64.b64encode(salt).decode()},i={iterations}"
        state["conversation"] = _Conversation(user, mechanism, bare, server_first)
        skip = bool((cmd.get("options") or {}).get("skipEmptyExchange")) and not self.faults.forget_skip_empty_exchange
        state["skip_empty"] = skip
        return {"conversationId": 1, "done": False, "payload": bson.Binary(server_first.encode()), "ok": 1.0}

    def _cmd_saslcontinue(self, cmd: dict, state: dict) -> dict:
        conv: _Conversation | None = state.get("conversation")
        if conv is None:
            return _error(17, "ProtocolError", "No SASL session state found")
        if conv.done:
            state["conversation"] = None
            state["user"] = conv.user.name
            return {"conversationId": 1, "done": True, "payload": bson.Binary(b""), "ok": 1.0}
        text = bytes(cmd["payload"]).decode("utf-8")
        without_proof, _, proof_b64 = text.rpartition(",p=")
        digest = "sha256" if conv.mechanism == "SCRAM-SHA-256" else "sha1"
        _salt, _it, stored, server_key = conv.user.keys[conv.mechanism]
        auth_message = f"{conv.client_first_bare},{conv.server_first},{without_proof}".encode()
        signature = hmac.new(stored, auth_message, digest).digest()
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof_b64), signature))
        nonce_ok = without_proof.split(",r=", 1)[-1] == conv.server_first.split(",")[0][2:]
        if not nonce_ok or hashlib.new(digest, client_key).digest() != stored:
            state["conversation"] = None
            return _error(18, "AuthenticationFailed", "Authentication failed.")
        server_final = "v=" + base64.b64encode(hmac.new(server_key, auth_message, digest).digest()).decode()
        if state.get("skip_empty"):
            state["conversation"] = None
            state["user"] = conv.user.name
            return {"conversationId": 1, "done": True, "payload": bson.Binary(server_final.encode()), "ok": 1.0}
        conv.done = True
        return {"conversationId": 1, "done": False, "payload": bson.Binary(server_final.encode()), "ok": 1.0}

    def _collection(self, cmd: dict, key: str) -> list[dict]:
        return self.data.get(cmd["$db"], {}).get(cmd[key], [])

    def _readable(self, cmd: dict) -> dict | None:
        mode = (cmd.get("$readPreference") or {}).get("mode", "primary")
        if self.role == "secondary" and mode == "primary":
            return _error(13435, "NotPrimaryNoSecondaryOk", "not primary and secondaryOk=false")
        return None

    def _cmd_find(self, cmd: dict, state: dict) -> dict:
        refused = self._readable(cmd)
        if refused:
            return refused
        lost = self.faults.lose_ids
        docs = [d for d in self._collection(cmd, "find") if matches(d, cmd.get("filter") or {}) and d.get("_id") not in lost]
        if cmd.get("sort"):
            (field_name, direction), *_ = cmd["sort"].items()
            docs.sort(key=lambda d: bson_order(d.get(field_name)), reverse=direction < 0)
        if "min" in cmd:
            if "hint" not in cmd:
                return _error(51173, "Location51173", "When using min()/max() a hint of which index to use must be provided")
            (field_name, low), *_ = cmd["min"].items()
            docs = [d for d in docs if bson_order(d.get(field_name)) >= bson_order(low)]
        projection = cmd.get("projection")
        if projection:
            keep = {k for k, v in projection.items() if v}
            docs = [{k: v for k, v in d.items() if k in keep or (k == "_id" and projection.get("_id", 1))} for d in docs]
        ns = f"{cmd['$db']}.{cmd['find']}"
        return self._batch(ns, docs, int(cmd.get("batchSize", 101)), "firstBatch")

    def _batch(self, ns: str, docs: list[dict], size: int, key: str, cursor_id: int = 0) -> dict:
        size = size or len(docs)
        batch, rest = docs[:size], docs[size:]
        with self._lock:
            if rest:
                cursor_id = cursor_id or int.from_bytes(os.urandom(7), "big") + 1
                self._cursors[cursor_id] = (ns, rest)
            else:
                self._cursors.pop(cursor_id, None)
                cursor_id = 0
        return {"cursor": {"id": Int64(cursor_id), "ns": ns, key: batch}, "ok": 1.0}

    def _cmd_getmore(self, cmd: dict, state: dict) -> dict:
        cursor_id = int(cmd["getMore"])
        with self._lock:
            found = self._cursors.get(cursor_id)
        if found is None:
            return _error(43, "CursorNotFound", f"cursor id {cursor_id} not found")
        ns, rest = found
        with self._lock:
            if self.faults.lose_cursor_on_getmore > 0:
                self.faults.lose_cursor_on_getmore -= 1
                self._cursors.pop(cursor_id, None)
                return _error(43, "CursorNotFound", f"cursor id {cursor_id} not found")
            if self.faults.lose_on_getmore > 0 and rest:
                self.faults.lose_on_getmore -= 1
                rest = rest[1:]
        return self._batch(ns, rest, int(cmd.get("batchSize", 0)), "nextBatch", cursor_id)

    def _cmd_killcursors(self, cmd: dict, state: dict) -> dict:
        killed = []
        with self._lock:
            for cid in cmd.get("cursors", []):
                if self._cursors.pop(int(cid), None) is not None:
                    killed.append(cid)
        return {"cursorsKilled": killed, "cursorsNotFound": [], "cursorsAlive": [], "cursorsUnknown": [], "ok": 1.0}

    def _cmd_count(self, cmd: dict, state: dict) -> dict:
        refused = self._readable(cmd)
        if refused:
            return refused
        docs = [d for d in self._collection(cmd, "count") if matches(d, cmd.get("query") or {})]
        return {"n": len(docs), "ok": 1.0}

    def _cmd_aggregate(self, cmd: dict, state: dict) -> dict:
        """`{aggregate: coll, pipeline: [...], cursor: {batchSize?}}`: the stages a count needs."""
        refused = self._readable(cmd)
        if refused:
            return refused
        if not isinstance(cmd.get("cursor"), dict):
            return _error(9, "FailedToParse", "The 'cursor' option is required, except for aggregate with the explain argument")
        docs = list(self._collection(cmd, "aggregate"))
        for stage in cmd.get("pipeline") or []:
            (name, arg), = stage.items()
            if name == "$match":
                docs = [d for d in docs if matches(d, arg)]
            elif name == "$count":
                docs = [{arg: len(docs)}] if docs else []
            else:
                raise QueryError(f"Unrecognized pipeline stage name: '{name}'")
        ns = f"{cmd['$db']}.{cmd['aggregate']}"
        return self._batch(ns, docs, int(cmd["cursor"].get("batchSize", 101)), "firstBatch")

    def open_cursors(self) -> int:
        with self._lock:
            return len(self._cursors)


def _error(code: int, name: str, message: str) -> dict:
    return {"ok": 0.0, "errmsg": message, "code": code, "codeName": name}


def _recv(sock: socket.socket, size: int) -> bytes | None:
    chunks, got = [], 0
    while got < size:
        try:
            chunk = sock.recv(size - got)
        except (OSError, ssl.SSLError):
            return None
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def replica_set(servers: list[MongoTestServer], roles: list[str]) -> None:
    """Make started servers one replica set: each reports all hosts, its own role and the primary."""
    hosts = [s.address for s in servers]
    for server, role in zip(servers, roles):
        server.role = role
        server.hosts = hosts
        server.roles = roles  # type: ignore[attr-defined]


def make_certificate(directory: str, names: tuple[str, ...] = ("localhost",), ips: tuple[str, ...] = ("127.0.0.1",)) -> tuple[str, str]:
    """A self-signed certificate + key made with the openssl CLI: (cert.pem, key.pem)."""
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        from tests.support.tools import missing

        missing("openssl")
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    san = ",".join([f"DNS:{n}" for n in names] + [f"IP:{i}" for i in ips])
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={names[0]}",
         "-addext", f"subjectAltName={san}", "-addext", "basicConstraints=critical,CA:TRUE",
         "-keyout", key, "-out", cert],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key
