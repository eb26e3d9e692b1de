"""Mongo documents -> rerunnable D1 statements: column mapping, ids, size limits.

Ids are resolved when the file is applied, through D1's id map (see d1ids): a document's
legacy id is its row id; a document already in the map keeps its id; a new one gets the next
id above everything the table and the map hold (and above the largest legacy id and
`start_id - 1`). Statements are multi-row `INSERT … SELECT … JOIN map … ON CONFLICT(id) DO
UPDATE SET …` of at most `max_statement_bytes`; a value too large to inline is written as
'' and appended with `UPDATE … SET col = col || …` pieces (still rerunnable).
"""
from __future__ import annotations

import contextlib
import gc
import hashlib
import operator
from dataclasses import dataclass, field
from typing import IO, Any, Dict, Iterable, Iterator, List, Tuple

from cutover.d1 import ids as d1ids
from cutover.d1 import sql
from cutover.d1.findings import Report
from cutover.d1.mapping import ColumnMapper
from cutover.d1.pieces import stored_size
from cutover.d1.record import describe_id, id_sort_key, legacy_id_value
from cutover.d1.schema import Column, Table
from cutover.d1.statements import StatementBuilder
from cutover.mongo import values as v

D1_MAX_STATEMENT_BYTES = 100_000  # D1: maximum SQL statement length
D1_MAX_ROW_BYTES = 2_000_000  # D1: maximum string, BLOB or table row size
# D1's SQLite (workerd, wrangler 4.86 --local) fails a multi-row VALUES of ~7,000 short rows
# with SQLITE_NOMEM well below the byte limit; 1,000 rows per statement is far from that.
MAX_ROWS_PER_STATEMENT = 1000


@dataclass
class PlanOptions:
    table: Table
    id_column: str = "id"
    legacy_id_field: str = "legacy_id"
    start_id: int = 1
    date_units: Dict[str, str] = field(default_factory=dict)  # column (any case) -> iso|ms|s|sqlite
    column_map: Dict[str, str] = field(default_factory=dict)  # column -> field, overrides name matching
    max_statement_bytes: int = D1_MAX_STATEMENT_BYTES
    max_row_bytes: int = D1_MAX_ROW_BYTES
    max_rows_per_statement: int = MAX_ROWS_PER_STATEMENT
    replace_lone_surrogates: bool = False


@dataclass
class Plan:
    statements: List[str]
    units: List[Tuple[int, int]]  # (first statement, count): statements that belong together
    report: Report
    columns: List[str]  # written columns, id first
    first_row_statement: int = 0  # index of the first statement that writes rows (after the map's)


class D1Planner:
    """Feed documents with `add`; `plan()` assigns ids and builds the statements."""

    def __init__(self, options: PlanOptions) -> None:
        self.options = options
        table = options.table
        id_col = table.column(options.id_column)
        if id_col is None:
            raise ValueError(f"table {table.name} has no id column {options.id_column!r}")
        self.id_column = id_col
        self.report = Report()
        self.mapper = ColumnMapper(table, id_col, options.date_units, options.column_map,
                                   ("_id", options.legacy_id_field), options.replace_lone_surrogates)
        self.columns = self.mapper.columns
        self._shapes = self.mapper.shapes
        widest = self._builder(self.columns)
        self._join_below = options.max_statement_bytes - widest.fixed - 32
        self._legacy_field = options.legacy_id_field
        # (legacy id or None, _id, cells) of the documents to write
        self._rows: List[Tuple[int | None, Any, str | List[str]]] = []
        # legacy id -> the first document's _id, over every document known (written or only
        # read for id planning): the largest is a floor for new ids, a shared one an error
        self._legacy_owner: Dict[int, Any] = {}
        self._legacy_dupes: Dict[int, List[Any]] = {}  # legacy id -> every _id, when shared
        self._missing_required: List[Tuple[int, str]] = []  # (column index, document) without a value
        self._notes: List[str] = []

    def _builder(self, updated: List[Column]) -> StatementBuilder:
        opts = self.options
        return StatementBuilder(opts.table.name, self.id_column.name, self.columns, updated, self.report,
                                opts.max_statement_bytes, opts.max_rows_per_statement)

    # -- documents -----------------------------------------------------------------------
    def _register(self, doc: Dict[str, Any], label: str) -> Tuple[bool, int | None]:
        """Record a document for id planning: (ok, legacy id). `label` unused when empty."""
        doc_id = doc.get("_id")
        legacy: int | None = None
        raw_legacy = doc.get(self.options.legacy_id_field)
        if type(raw_legacy) is int and sql.INT64_MIN <= raw_legacy <= sql.INT64_MAX:
            legacy = raw_legacy
        elif raw_legacy is not None and raw_legacy is not v.Undefined:
            try:
                legacy = legacy_id_value(raw_legacy)
            except ValueError as exc:
                self.report.error("bad_legacy_id", f"{label or 'document _id=' + describe_id(doc_id)}: {exc}")
                return False, None
        if legacy is not None:
            self._claim_legacy(legacy, doc_id)
        return True, legacy

    def _claim_legacy(self, legacy: int, doc_id: Any) -> None:
        first = self._legacy_owner.setdefault(legacy, doc_id)
        if first is not doc_id and first != doc_id:  # the same document seen twice (--since) is fine
            self._legacy_dupes.setdefault(legacy, [first]).append(doc_id)

    def add_id_only(self, doc: Dict[str, Any]) -> None:
        """A document that is not written but takes part in id planning (--since runs): its
        legacy id raises the floor of new ids and is checked for duplicates."""
        self._register(doc, f"document _id={describe_id(doc.get('_id'))}")

    def add(self, doc: Dict[str, Any]) -> None:
        """Map and render one document (errors and warnings go to the report)."""
        self.report.documents += 1
        doc_id = doc.get("_id")
        legacy = doc.get(self._legacy_field)
        if type(legacy) is int and sql.INT64_MIN <= legacy <= sql.INT64_MAX:  # the common case
            self._claim_legacy(legacy, doc_id)
        else:
            ok, legacy = self._register(doc, "")
            if not ok:
                return
        names = tuple(doc)
        shape = self._shapes.get(names) or self.mapper.shape(names)
        shape.count += 1
        notes = self._notes
        try:
            cells = shape.render(list(doc.values()), notes)
        except sql.LiteralError:
            cells = None
        if cells is None or notes:
            # Rare: render again field by field to say which field the problem is in.
            notes.clear()
            cells = self.mapper.render_reporting(doc, shape, self.report)
            if cells is None:
                return
        for idx in shape.present_not_null:
            if cells[idx] == "NULL":
                self._fill_required(idx, cells, doc.get("_id"))
        for idx in shape.absent_not_null:
            if self.columns[idx].default_sql is None:
                self._missing_required.append((idx, f"document _id={describe_id(doc.get('_id'))}"))
        total = sum(map(len, cells))
        if total > self.options.max_row_bytes and not self._row_fits(cells, doc.get("_id")):
            return
        # One joined string per row keeps a million rows in a few hundred MB; rows that might
        # not fit one statement (4 bytes per character at worst) stay split for _add_big_row.
        self._rows.append((legacy, doc_id, ",".join(cells) if total * 4 < self._join_below else cells))

    def _fill_required(self, idx: int, cells: List[str], doc_id: Any) -> None:
        default = self.columns[idx].default_sql
        if default is not None:
            cells[idx] = default
        else:
            self._missing_required.append((idx, f"document _id={describe_id(doc_id)}"))

    def _row_fits(self, cells: List[str], doc_id: Any) -> bool:
        sizes = [(stored_size(c), i) for i, c in enumerate(cells)]
        stored = sum(size for size, _ in sizes)
        if stored <= self.options.max_row_bytes:
            return True
        big = max(sizes)
        self.report.error(
            "row_too_large",
            f"document _id={describe_id(doc_id)}: {stored:,} bytes, over D1's {self.options.max_row_bytes:,}-byte "
            f"row limit (largest: column {self.columns[big[1]].name!r}, {big[0]:,} bytes)",
        )
        return False

    def add_all(self, docs: Iterable[Dict[str, Any]]) -> None:
        for doc in docs:
            self.add(doc)

    # -- ids and statements ------------------------------------------------------------
    def _ordered_rows(self) -> Tuple[List[Tuple[int | None, Any, Any]], List[str], int]:
        """The rows to write (legacy ones by legacy id, then new ones in a stable order:
        ObjectId time, then `_id`), their `_id`s as SQL literals, and how many are legacy.
        Errors for shared legacy ids and for an `_id` written twice."""
        report = self.report
        for legacy, owners in sorted(self._legacy_dupes.items()):
            report.error(
                "duplicate_legacy_id",
                f"{self.options.legacy_id_field} {legacy} is used by {len(owners)} documents: "
                + ", ".join(describe_id(o) for o in owners[:5]) + (" …" if len(owners) > 5 else ""),
            )
        legacy_max = max(self._legacy_owner) if self._legacy_owner else None
        report.base_id = max(legacy_max or 0, self.options.start_id - 1) + 1
        legacy_rows = [r for r in self._rows if r[0] is not None]
        new_rows = [r for r in self._rows if r[0] is None]
        legacy_rows.sort(key=operator.itemgetter(0))
        new_rows.sort(key=lambda r: id_sort_key(r[1]))
        rows = legacy_rows + new_rows
        oid, key_of = v.ObjectId, d1ids.key_literal_of
        keys = ["'" + d.binary.hex() + "'" if type(d) is oid else key_of(d) for _, d, _ in rows]
        if len(set(keys)) != len(keys):
            rows, keys = self._drop_repeated_ids(rows, keys)
            legacy_rows = [r for r in rows if r[0] is not None]
            new_rows = [r for r in rows if r[0] is None]
        if legacy_rows:
            report.legacy_ids = len(legacy_rows)
            report.legacy_min = legacy_rows[0][0]
            report.legacy_max = legacy_rows[-1][0]
        report.assigned = len(new_rows)
        if new_rows and report.base_id + len(new_rows) - 1 > sql.INT64_MAX:
            report.error("id_overflow", f"new ids would pass {sql.INT64_MAX}")
        return rows, keys, len(legacy_rows)

    def _drop_repeated_ids(self, rows: List[Any], keys: List[str]) -> Tuple[List[Any], List[str]]:
        seen = set()
        kept_rows, kept_keys = [], []
        for row, key in zip(rows, keys):
            if key in seen:
                self.report.error("duplicate_id", f"document _id={describe_id(row[1])} is in the source more than once")
                continue
            seen.add(key)
            kept_rows.append(row)
            kept_keys.append(key)
        return kept_rows, kept_keys

    def _map_statements(self, rows: List[Tuple[int | None, Any, Any]], keys: List[str], legacy_count: int) -> List[str]:
        """Create the id map, then map legacy ids, then give new documents their ids."""
        opts = self.options
        maps = d1ids.MapStatements(opts.table.name, self.id_column.name, self.report.base_id - 1)
        limit, per_statement = opts.max_statement_bytes, opts.max_rows_per_statement
        out = [d1ids.CREATE_MAP_SQL]
        legacy = [f"({key},{row[0]})" for key, row in zip(keys[:legacy_count], rows)]
        out += d1ids.pack(maps.legacy_header(), maps.legacy_footer(), legacy, limit, per_statement)
        new = [f"({i},{key})" for i, key in enumerate(keys[legacy_count:], 1)]
        out += d1ids.pack(maps.new_header(), maps.new_footer(), new, limit, per_statement)
        return out

    def plan(self) -> Plan:
        report = self.report
        rows, keys, legacy_count = self._ordered_rows()
        used = [i for i, flag in enumerate(self.mapper.used) if flag]
        for idx, label in self._missing_required:
            if self.mapper.used[idx]:
                report.error(
                    "not_null_without_value",
                    f"{label}: column {self.columns[idx].name!r} is NOT NULL (no default) and the document has no value",
                )
        self.mapper.tally(report)
        for i, col in enumerate(self.columns):
            if not self.mapper.used[i]:
                report.unfilled_columns.append(col.name)
                if col.not_null and col.default_sql is None and rows:  # no rows: nothing would fail
                    report.error(
                        "unfilled_not_null_column",
                        f"column {col.name!r} is NOT NULL without a default and no Mongo field maps to it "
                        f"(map one with d1.column_map {{\"{col.name}\": \"fieldName\"}})",
                    )
        # Every column is listed in the INSERT (a never-filled one gets exactly what omitting it
        # would give: its default or NULL) but only filled ones are overwritten on conflict,
        # so D1-only columns keep their values.
        builder = self._builder([self.columns[i] for i in used])
        if rows:
            builder.emit_each(self._map_statements(rows, keys, legacy_count))
        first_row_statement = len(builder.statements)
        report.map_statements = first_row_statement
        add_row = builder.add_row
        for key, row in zip(keys, rows):
            add_row(key, row[2])
        builder.flush()
        report.rows = len(rows)
        report.statements = len(builder.statements)
        report.bytes = builder.total_bytes
        return Plan(builder.statements, builder.units, report, [self.id_column.name] + [self.columns[i].name for i in used],
                    first_row_statement)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Planning builds millions of small acyclic objects; the cycle collector's repeated
    scans of them cost about a third of the time and find nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render_file(plan: Plan) -> str:
    """The .sql file: one statement per line group, no BEGIN/COMMIT (D1 refuses them)."""
    return "\n".join(plan.statements) + "\n" if plan.statements else ""


def write_file(plan: Plan, handle: IO[str]) -> str:
    """Stream the .sql file to `handle`; returns the SHA-256 of its UTF-8 bytes."""
    digest = hashlib.sha256()
    for stmt in plan.statements:
        chunk = stmt + "\n"
        handle.write(chunk)
        digest.update(chunk.encode("utf-8"))
    return digest.hexdigest()
