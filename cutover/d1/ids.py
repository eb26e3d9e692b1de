"""D1 ids that never move: a map table in D1 (`cutover_id_map`: table, Mongo `_id` → id).

The SQL file resolves ids when it is *applied*, not when it is written: a document with a
legacy id is mapped to it; any other document already in the map keeps its id; a document
not yet in the map gets max(id in the table, id in the map, floor) + 1 upward, computed by
D1 at that moment. So reruns, `--since` passes and deletions in Mongo cannot shift an id, and
a new document never takes an id that a D1 row holds, however long after writing the file
is run. Every row statement reads its id from the map (`JOIN`), and verify matches rows to
documents through the same table.
"""
from __future__ import annotations

import json
import math
from typing import Any, List, Sequence

from cutover.d1 import sql
from cutover.mongo import ejson
from cutover.mongo import values as v

MAP_TABLE = "cutover_id_map"
_MAP = sql.quote_identifier(MAP_TABLE)

CREATE_MAP_SQL = (
    f"CREATE TABLE IF NOT EXISTS {_MAP} (tbl TEXT NOT NULL, mongo_id TEXT NOT NULL, id INTEGER NOT NULL, "
    "PRIMARY KEY (tbl, mongo_id));"
)


def id_key(doc_id: Any) -> str:
    """The map's text for a Mongo `_id`: ObjectId as its 24 hex digits, a string as JSON
    (quoted, ASCII), a number as Mongo compares it (1, 1.0 and Int64(1) are one `_id`),
    anything else as canonical Extended JSON. Distinct `_id`s give distinct keys."""
    kind = type(doc_id)
    if kind is v.ObjectId:
        return doc_id.binary.hex()
    if isinstance(doc_id, str):
        return json.dumps(str(doc_id))
    if isinstance(doc_id, bool) or doc_id is None:
        return json.dumps(doc_id)
    if isinstance(doc_id, int):
        return str(int(doc_id))
    if isinstance(doc_id, float):
        if math.isfinite(doc_id) and doc_id.is_integer() and sql.INT64_MIN <= doc_id <= sql.INT64_MAX:
            return str(int(doc_id))
        return repr(doc_id)
    if isinstance(doc_id, v.Decimal128):
        text = doc_id.value
        body = text.lstrip("-")
        if body.isdigit() and sql.INT64_MIN <= int(text) <= sql.INT64_MAX:
            return str(int(text))
        return "Decimal128:" + text
    canonical = json.loads(ejson.dumps(doc_id))  # key order kept: {a, b} and {b, a} are two _ids
    return "ejson:" + json.dumps(canonical, ensure_ascii=True, separators=(",", ":"))


def key_literal(key: str) -> str:
    """A key as a SQL literal (keys are ASCII without NUL, so plain quoting does)."""
    return sql.quote_text(key)


def key_literal_of(doc_id: Any) -> str:
    if type(doc_id) is v.ObjectId:
        return "'" + doc_id.binary.hex() + "'"
    return key_literal(id_key(doc_id))


class MapStatements:
    """The statements that fill the map, for one target table. Rows: `(key, legacy id)` for
    legacy documents, `(ordinal, key)` for the others (the ordinal orders their new ids)."""

    def __init__(self, table: str, id_column: str, floor: int) -> None:
        self.table_literal = sql.quote_text(table)
        self.table = sql.quote_identifier(table)
        self.id_column = sql.quote_identifier(id_column)
        self.floor = floor

    def legacy_header(self) -> str:
        return (f"INSERT INTO {_MAP} (tbl, mongo_id, id) SELECT {self.table_literal}, column1, column2 FROM (VALUES\n")

    def legacy_footer(self) -> str:
        # The legacy id is the row's id: a map entry that says otherwise is corrected.
        return ") WHERE true\nON CONFLICT (tbl, mongo_id) DO UPDATE SET id = excluded.id WHERE id <> excluded.id;"

    def new_header(self) -> str:
        return (
            f"INSERT INTO {_MAP} (tbl, mongo_id, id) SELECT {self.table_literal}, column2, "
            f"(SELECT max(x) FROM (SELECT max({self.id_column}) AS x FROM {self.table} "
            f"UNION ALL SELECT max(id) FROM {_MAP} WHERE tbl = {self.table_literal} "
            f"UNION ALL SELECT {int(self.floor)})) + row_number() OVER (ORDER BY column1) FROM (VALUES\n"
        )

    def new_footer(self) -> str:
        return f")\nWHERE column2 NOT IN (SELECT mongo_id FROM {_MAP} WHERE tbl = {self.table_literal});"


def pack(header: str, footer: str, rows: Sequence[str], max_bytes: int, max_rows: int) -> List[str]:
    """Multi-row statements `header + rows joined by ",\\n" + footer`, each within the limits.
    Map rows are ASCII (keys are, see `id_key`), so their length is their size."""
    fixed = len((header + footer).encode("utf-8"))
    if rows and fixed + (max(map(len, rows)) + 2) * max_rows <= max_bytes:
        # the usual case (short keys): whole chunks of max_rows fit
        return [header + ",\n".join(rows[i : i + max_rows]) + footer for i in range(0, len(rows), max_rows)]
    statements: List[str] = []
    pending: List[str] = []
    size = 0
    for row in rows:
        if fixed + len(row) > max_bytes:
            raise ValueError("a map row does not fit one statement")  # keys are short: cannot happen
        if pending and (fixed + size + 2 + len(row) > max_bytes or len(pending) >= max_rows):
            statements.append(header + ",\n".join(pending) + footer)
            pending, size = [], 0
        size += len(row) + (2 if pending else 0)
        pending.append(row)
    if pending:
        statements.append(header + ",\n".join(pending) + footer)
    return statements


def read_map_sql(table: str, after: str | None, limit: int) -> str:
    """One page of the map for `table`, in key order (read-only; for verify)."""
    where = f"tbl = {sql.quote_text(table)}"
    if after is not None:
        where += f" AND mongo_id > {sql.quote_text(after)}"
    return f"SELECT mongo_id, id FROM {_MAP} WHERE {where} ORDER BY mongo_id LIMIT {int(limit)}"


MAP_EXISTS_SQL = f"SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '{MAP_TABLE}'"


def lookup_sql(table: str, key_lit: str) -> str:
    """A scalar subquery giving the id a key maps to (for appends to large values)."""
    return f"(SELECT id FROM {_MAP} WHERE tbl = {sql.quote_text(table)} AND mongo_id = {key_lit})"


def drop_map_sql() -> str:
    return f"DROP TABLE IF EXISTS {_MAP};"

