"""A new connection's first words: the hello handshake, SCRAM authentication, what kind of server answered."""
from __future__ import annotations

import platform
from typing import Any, Dict

from cutover import __version__
from cutover.mongo.native.connection import Connection
from cutover.mongo.native.errors import MongoAuthError, MongoCommandError, MongoError
from cutover.mongo.native.scram import ScramClient, ScramError
from cutover.mongo.native.uri import MongoURI
from cutover.mongo.values import Binary, Document

MIN_WIRE_VERSION = 6  # OP_MSG arrived with MongoDB 3.6
_AUTH_FAILED = 18
_COMMAND_NOT_FOUND = 59


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
