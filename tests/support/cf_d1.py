"""D1 endpoints for FakeCloudflare, backed by sqlite3, per the REST docs:

- `GET  /accounts/{account_id}/d1/database/{database_id}` -> `{uuid, name, version, num_tables,
  file_size, created_at}`
- `POST /accounts/{account_id}/d1/database/{database_id}/query` with `{sql, params}` or
  `{batch: [{sql, params}, …]}` -> `result: [{results, success, meta}, …]`, one entry per
  statement. A batch runs as one transaction (D1: "batched statements are SQL transactions").
  Invalid SQL -> HTTP 400, code 7500 (D1 changelog 2024-04-15). Statements over 100,000 bytes
  are refused as D1 does (SQLITE_TOOBIG); BEGIN/COMMIT/ROLLBACK are refused too; D1's other
  limits (expression depth 100, 100 bound parameters, …) are set on the connection.
"""
from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare, envelope, error
from tests.support.httpserver import Reply, Request

MAX_STATEMENT_BYTES = 100_000
_TRANSACTION = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|END|SAVEPOINT|RELEASE)\b", re.I)


@dataclass
class FakeD1Database:
    uuid: str
    name: str
    conn: sqlite3.Connection
    lock: threading.Lock = field(default_factory=threading.Lock)
    statements_run: int = 0
    queries: List[List[str]] = field(default_factory=list)  # per request: its statements

    def rows(self, sql: str, params: tuple = ()) -> List[tuple]:
        with self.lock:
            return list(self.conn.execute(sql, params))


class D1Store:
    def __init__(self) -> None:
        self.databases: Dict[str, FakeD1Database] = {}
        self.fail_next: str | None = None  # inject: the next query fails with this SQL error
        self.fail_at_query: int | None = None  # inject: fail once after this many successful queries

    def create(self, uuid: str, name: str, schema: str = "") -> FakeD1Database:
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        conn.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
        if schema:
            conn.executescript(schema)
        if hasattr(conn, "setlimit"):  # D1's limits (the statement length is checked in _run)
            from tests.support.sqlite import D1_LIMITS

            for limit, value in D1_LIMITS.items():
                if limit != "SQLITE_LIMIT_SQL_LENGTH":
                    conn.setlimit(getattr(sqlite3, limit), value)
        db = FakeD1Database(uuid, name, conn)
        self.databases[uuid] = db
        return db


def split_statements(sql: str) -> List[str]:
    """Split on `;` outside strings/comments, as D1 does for a multi-statement `sql`."""
    out: List[str] = []
    current = ""
    for part in sql.split(";"):
        current += part + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \t\r\n;"):
                out.append(current.strip())
            current = ""
    if current.strip(" \t\r\n;"):
        out.append(current.strip())
    return out


def _run(db: FakeD1Database, statements: List[tuple]) -> List[Dict[str, Any]]:
    results = []
    conn = db.conn
    conn.execute("BEGIN")
    try:
        for sql, params in statements:
            if len(sql.encode("utf-8", "surrogatepass")) > MAX_STATEMENT_BYTES:
                raise sqlite3.DataError("statement too long: SQLITE_TOOBIG")
            if _TRANSACTION.match(sql):
                raise sqlite3.OperationalError(
                    "To execute a transaction, please use the state.storage.transaction() APIs instead "
                    "of the SQL BEGIN TRANSACTION or SAVEPOINT statements: SQLITE_AUTH"
                )
            before = conn.total_changes
            cur = conn.execute(sql, params)
            names = [d[0] for d in cur.description or []]
            rows = [dict(zip(names, r)) for r in cur.fetchall()]
            changes = conn.total_changes - before
            results.append({
                "results": rows,
                "success": True,
                "meta": {
                    "changed_db": changes > 0,
                    "changes": changes,
                    "duration": 0.1,
                    "last_row_id": cur.lastrowid or 0,
                    "rows_read": len(rows),
                    "rows_written": changes,
                    "size_after": 0,
                },
            })
            db.statements_run += 1
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return results


def install(fake: FakeCloudflare, store: D1Store | None = None) -> D1Store:
    store = store or D1Store()

    def lookup(req: Request) -> FakeD1Database | None:
        if req.params["account_id"] != ACCOUNT_ID:
            return None
        return store.databases.get(req.params["database_id"])

    def info(req: Request) -> Reply:
        db = lookup(req)
        if db is None:
            return error(404, 7404, "The database could not be found")
        tables = db.rows("SELECT count(*) FROM sqlite_master WHERE type='table'")[0][0]
        return envelope({
            "uuid": db.uuid, "name": db.name, "version": "production", "num_tables": tables,
            "file_size": 8192, "created_at": "2026-01-01T00:00:00.000Z",
        })

    def query(req: Request) -> Reply:
        db = lookup(req)
        if db is None:
            return error(404, 7404, "The database could not be found")
        try:
            body = req.json()
        except ValueError:
            return error(400, 7400, "The request is malformed: body is not JSON")
        items = body.get("batch") if isinstance(body, dict) and "batch" in body else [body]
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("sql"), str) for i in items):
            return error(400, 7400, "The request is malformed: expected {sql, params} or {batch: [...]}")
        statements = []
        for item in items:
            params = tuple(item.get("params") or ())
            parts = split_statements(item["sql"])
            if params and len(parts) > 1:
                return error(400, 7500, "params are only allowed with a single statement")
            statements.extend((p, params) for p in parts)
        with db.lock:
            if store.fail_at_query is not None and len(db.queries) == store.fail_at_query:
                store.fail_at_query = None
                store.fail_next = "injected failure: SQLITE_BUSY"
            if store.fail_next is not None:
                message, store.fail_next = store.fail_next, None
                return error(400, 7500, message)
            db.queries.append([s for s, _ in statements])
            try:
                return envelope(_run(db, statements))
            except sqlite3.Error as exc:
                return error(400, 7500, f"{exc}: SQLITE_ERROR")

    fake.route("GET", "/accounts/{account_id}/d1/database/{database_id}", info)
    fake.route("POST", "/accounts/{account_id}/d1/database/{database_id}/query", query)
    return store


@contextlib.contextmanager
def serving_export(workdir: Path, monkeypatch: Any, ddl: str, uuid: str, lines: List[str]
                   ) -> Iterator[Tuple[FakeCloudflare, D1Store, FakeD1Database]]:
    """A started fake Cloudflare API with one D1 database `trading` (`ddl`), and in `workdir`
    (made the current directory) the export `trading_trades.json` (`lines`), schema.sql and
    rollback.json pointing backfill-d1 at both; the API's address and token in the environment."""
    fake = FakeCloudflare()
    store = install(fake)
    with fake:
        db = store.create(uuid, "trading", ddl)
        (workdir / "trading_trades.json").write_text("".join(line + "\n" for line in lines))
        (workdir / "schema.sql").write_text(ddl + "\n")
        (workdir / "rollback.json").write_text(json.dumps({
            "mongo": {"source": "export:.", "database": "bot"}, "cloudflare": {"account_id": ACCOUNT_ID},
            "d1": {"database": "trading", "database_id": uuid, "table": "trading_trades", "schema": "schema.sql"}}))
        monkeypatch.chdir(workdir)
        monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", fake.api_base)
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        yield fake, store, db
