"""Where verify reads D1 rows from: a SQLite file, `wrangler d1 execute --json`, or the REST
query endpoint. All read-only, paged by id."""
from __future__ import annotations

import abc
import re
import sqlite3
from typing import Any, Dict, Iterator, List, Sequence

from cutover.errors import CutoverError
from cutover.verify import wrangler
from cutover.verify.compare import Row

PAGE = 1000
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ident(name: str) -> str:
    if not _IDENT.match(name):
        raise CutoverError(f"unsafe SQL identifier {name!r}")
    return f'"{name}"'


def page_sql(table: str, id_column: str, after: int | None) -> str:
    where = f" WHERE {ident(id_column)} > {int(after)}" if after is not None else ""
    return f"SELECT * FROM {ident(table)}{where} ORDER BY {ident(id_column)} LIMIT {PAGE}"


class D1Target(abc.ABC):
    description = ""

    @abc.abstractmethod
    def query(self, sql: str) -> List[Row]:
        """Rows of one read-only SELECT."""

    def rows(self, table: str, id_column: str) -> Dict[Any, Row]:
        out: Dict[Any, Row] = {}
        after: int | None = None
        for _ in range(10_000_000):
            page = self.query(page_sql(table, id_column, after))
            for row in page:
                out[row[id_column]] = row
            if len(page) < PAGE:
                return out
            after = page[-1][id_column]
        raise CutoverError(f"D1 table {table}: paging did not end")

    def id_map(self, table: str) -> Dict[str, int] | None:
        """backfill-d1's id map for `table` (Mongo `_id` key -> row id); None when D1 has none."""
        from cutover.d1 import ids as d1ids

        found = self.query(d1ids.MAP_EXISTS_SQL)
        if not found or not found[0].get("n"):
            return None
        out: Dict[str, int] = {}
        after: str | None = None
        for _ in range(10_000_000):
            page = self.query(d1ids.read_map_sql(table, after, PAGE))
            for row in page:
                out[row["mongo_id"]] = row["id"]
            if len(page) < PAGE:
                return out
            after = page[-1]["mongo_id"]
        raise CutoverError(f"D1 table {d1ids.MAP_TABLE}: paging did not end")


class SqliteD1(D1Target):
    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"SQLite file {path}"

    def query(self, sql: str) -> List[Row]:
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise CutoverError(f"{self.path}: cannot open ({exc})") from None
        try:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute(sql)]
        except sqlite3.Error as exc:
            raise CutoverError(f"{self.path}: {exc}") from None
        finally:
            conn.close()


class WranglerD1(D1Target):
    def __init__(self, wrangler: Sequence[str], database: str, cwd: str, remote: bool = False,
                 persist_to: str | None = None, env: Dict[str, str] | None = None) -> None:
        self.wrangler = list(wrangler)
        self.database = database
        self.cwd = cwd
        self.where = ["--remote"] if remote else ["--local"] + (["--persist-to", persist_to] if persist_to else [])
        self.env = env
        self.description = "wrangler d1 execute " + ("--remote" if remote else "--local")

    def query(self, sql: str) -> List[Row]:
        argv = self.wrangler + ["d1", "execute", self.database, "--command", sql, "--json", *self.where]
        body = wrangler.decode_json(wrangler.run(argv, self.cwd, self.env, "d1 execute"), "d1 execute --json")
        return _results(body)


def _results(body: Any) -> List[Row]:
    rows: List[Row] = []
    for result in body if isinstance(body, list) else [body]:
        if isinstance(result, dict):
            rows.extend(result.get("results") or [])
    return rows


class RestD1(D1Target):
    """POST /accounts/{account_id}/d1/database/{database_id}/query."""

    def __init__(self, client: Any, account_id: str, database_id: str) -> None:
        self.client = client
        self.path = f"/accounts/{account_id}/d1/database/{database_id}/query"
        self.description = "Cloudflare D1 API"

    def query(self, sql: str) -> List[Row]:
        body = self.client.post_json(self.path, {"sql": sql})
        return _results(body.get("result"))


def iter_pages(target: D1Target, table: str, id_column: str) -> Iterator[Row]:
    yield from target.rows(table, id_column).values()
