"""Rows -> statements within D1's limits: multi-row `INSERT … SELECT … JOIN map … ON CONFLICT(id)
DO UPDATE SET …` of at most `limit` bytes; a value too large to inline is written as '' and
appended with `UPDATE … SET col = col || …` pieces (still rerunnable)."""
from __future__ import annotations

from typing import List, Tuple

from cutover.d1 import ids as d1ids
from cutover.d1 import pieces, sql
from cutover.d1.findings import Report
from cutover.d1.schema import Column


def utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


class StatementBuilder:
    """Packs rows into multi-row upserts of at most `limit` bytes and `max_rows` rows; a row too large
    for one statement is inserted with its largest values empty, then appended in pieces."""

    def __init__(
        self, table_name: str, id_name: str, columns: List[Column], updated: List[Column], report: Report,
        limit: int, max_rows: int,
    ) -> None:
        self.limit = limit
        self.max_rows = max_rows
        self.report = report
        self.table_name = table_name
        self.table = sql.quote_identifier(table_name)
        self.id_q = sql.quote_identifier(id_name)
        self.col_q = [sql.quote_identifier(c.name) for c in columns]
        # Each row is (`_id` literal, values…); its id comes from the map, joined on the `_id`.
        picks = ", ".join(["m.id"] + [f"v.column{i + 2}" for i in range(len(columns))])
        self.header = f"INSERT INTO {self.table} ({', '.join([self.id_q] + self.col_q)}) SELECT {picks} FROM (VALUES\n"
        join = (f"\n) AS v JOIN {sql.quote_identifier(d1ids.MAP_TABLE)} AS m ON m.tbl = {sql.quote_text(self.table_name)}"
                " AND m.mongo_id = v.column1 WHERE true")
        if updated:
            sets = ", ".join(f"{q} = excluded.{q}" for q in (sql.quote_identifier(c.name) for c in updated))
            self.footer = f"{join}\nON CONFLICT ({self.id_q}) DO UPDATE SET {sets};"
        else:
            self.footer = f"{join}\nON CONFLICT ({self.id_q}) DO NOTHING;"
        self.fixed = utf8_len(self.header) + utf8_len(self.footer)
        if self.fixed + 64 > self.limit:
            raise ValueError("table has too many columns for one statement under the size limit")
        self.statements: List[str] = []
        self.units: List[Tuple[int, int]] = []
        self.total_bytes = 0
        self._pending: List[str] = []
        self._pending_bytes = 0

    def emit_each(self, statements: List[str]) -> None:
        """Statements that stand alone (one unit each)."""
        for stmt in statements:
            self._emit([stmt])

    def _emit(self, statements: List[str]) -> None:
        self.units.append((len(self.statements), len(statements)))
        for stmt in statements:
            self.statements.append(stmt)
            self.total_bytes += utf8_len(stmt) + 1

    def flush(self) -> None:
        if self._pending:
            self._emit([self.header + ",\n".join(self._pending) + self.footer])
            self._pending = []
            self._pending_bytes = 0

    def add_row(self, key: str, cells: str | List[str]) -> None:
        """`key`: the `_id` as a literal; `cells`: the row's literals, or already joined with ','
        (then known to fit)."""
        joined = cells if isinstance(cells, str) else ",".join(cells)
        row = "(" + key + "," + joined + ")" if self.col_q else "(" + key + ")"
        size = len(row) if row.isascii() else len(row.encode("utf-8"))
        if self.fixed + size > self.limit:
            self.flush()
            if isinstance(cells, str):
                raise AssertionError("a joined row must fit one statement")  # _join_below guarantees it
            self._add_big_row(key, cells)
            return
        if self._pending and (self.fixed + self._pending_bytes + 2 + size > self.limit
                              or len(self._pending) >= self.max_rows):
            self.flush()
        self._pending_bytes += size + (2 if self._pending else 0)
        self._pending.append(row)

    def _add_big_row(self, key: str, cells: List[str]) -> None:
        """INSERT with the largest values empty, then append them in pieces that each fit."""
        budget = self.limit - self.fixed
        order = sorted(range(len(cells)), key=lambda i: -len(cells[i]))
        inline = list(cells)
        deferred: List[int] = []
        for i in order:
            if utf8_len("(" + ",".join([key] + inline) + ")") <= budget:
                break
            kind = pieces.literal_kind(inline[i])
            if kind is None:
                continue
            inline[i] = pieces.empty_literal(kind)
            deferred.append(i)
        row = "(" + ",".join([key] + inline) + ")"
        if utf8_len(row) > budget:
            self.report.error("row_too_large", f"document _id {key}: cannot fit its non-text values in one statement")
            return
        statements = [self.header + row + self.footer]
        where = f" WHERE {self.id_q} = {d1ids.lookup_sql(self.table_name, key)}"
        for i in sorted(deferred):
            col = self.col_q[i]
            kind = pieces.literal_kind(cells[i])
            if kind == "blob":
                prefix, suffix = f"UPDATE {self.table} SET {col} = CAST({col} || ", f" AS BLOB){where};"
            else:
                prefix, suffix = f"UPDATE {self.table} SET {col} = {col} || ", f"{where};"
            piece_budget = self.limit - utf8_len(prefix) - utf8_len(suffix)
            for piece in pieces.split_literal(cells[i], piece_budget):
                statements.append(prefix + piece + suffix)
            self.report.split_values += 1
        self._emit(statements)
