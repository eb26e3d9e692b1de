"""`MongoClient`: server selection (seed list + hello discovery) and cursors for a read-only scan."""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterator, List

from cutover.core.redact import scrub
from cutover.mongo.native.connection import Connection, Warn, stderr_warning, tls_context
from cutover.mongo.native.dns import Resolver
from cutover.mongo.native.errors import MongoError, MongoNetworkError, MongoServerSelectionError
from cutover.mongo.native.handshake import authenticate, handshake, server_kind
from cutover.mongo.native.uri import Address, MongoURI
from cutover.mongo.values import Document, Int64


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
