"""Mongo documents -> rerunnable D1 statements: column mapping, ids, size limits.

Ids are resolved when the file is applied, through D1's id map (see d1ids): a document's
legacy id is its row id; a document already in the map keeps its id; a new one gets the next
id above everything the table and the map hold (and above the largest legacy id and
`start_id - 1`). Statements are multi-row `INSERT … SELECT … JOIN map … ON CONFLICT(id) DO
UPDATE SET …` of at most `max_statement_bytes`; a value too large to inline is written as
'' and appended with `UPDATE … SET col = col || …` pieces (still rerunnable).
"""
from __future__ import annotations

import collections
import contextlib
import gc
import hashlib
import operator
from dataclasses import dataclass, field
from typing import IO, Any, Dict, Iterable, Iterator, List, Tuple

from cutover.d1 import ids as d1ids
from cutover.d1 import sql
from cutover.d1.schema import Column, Table, snake_case
from cutover.mongo import values as v

D1_MAX_STATEMENT_BYTES = 100_000  # D1: maximum SQL statement length
D1_MAX_ROW_BYTES = 2_000_000  # D1: maximum string, BLOB or table row size
# D1's SQLite (workerd, wrangler 4.86 --local) fails a multi-row VALUES of ~7,000 short rows
# with SQLITE_NOMEM well below the byte limit; 1,000 rows per statement is far from that.
MAX_ROWS_PER_STATEMENT = 1000
EXAMPLES_KEPT = 20


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
class Issue:
    """A counted kind of problem with a few examples ("document _id=… field …")."""

    count: int = 0
    examples: List[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES_KEPT:
            self.examples.append(example)


@dataclass
class Report:
    documents: int = 0
    rows: int = 0
    legacy_ids: int = 0
    legacy_min: int | None = None
    legacy_max: int | None = None
    assigned: int = 0  # documents without a legacy id: their ids are given when the SQL is applied
    assigned_first: int | None = None  # (not known when the SQL is written)
    assigned_last: int | None = None
    base_id: int = 1  # new ids are at least this (and above every id D1 holds when applied)
    statements: int = 0
    map_statements: int = 0  # of `statements`: the id map's (create, legacy ids, new ids)
    bytes: int = 0
    split_values: int = 0  # values appended in pieces because they exceed one statement
    mapping: Dict[str, Dict[str, int]] = field(default_factory=dict)  # column -> field -> docs
    unmapped_fields: Dict[str, int] = field(default_factory=dict)
    unfilled_columns: List[str] = field(default_factory=list)
    warnings: Dict[str, Issue] = field(default_factory=dict)
    errors: Dict[str, Issue] = field(default_factory=dict)

    def warn(self, kind: str, example: str) -> None:
        self.warnings.setdefault(kind, Issue()).add(example)

    def error(self, kind: str, example: str) -> None:
        self.errors.setdefault(kind, Issue()).add(example)

    @property
    def error_count(self) -> int:
        return sum(i.count for i in self.errors.values())


@dataclass
class Plan:
    statements: List[str]
    units: List[Tuple[int, int]]  # (first statement, count): statements that belong together
    report: Report
    columns: List[str]  # written columns, id first
    first_row_statement: int = 0  # index of the first statement that writes rows (after the map's)


def describe_id(value: Any) -> str:
    if isinstance(value, v.ObjectId):
        return value.hex
    if isinstance(value, str):
        return repr(value)
    return repr(value)


def id_sort_key(doc_id: Any) -> Tuple[Any, ...]:
    """Stable order for documents without a legacy id: ObjectIds by time (then bytes), then others."""
    if isinstance(doc_id, v.ObjectId):
        return (0, doc_id.binary, 0, "")
    if isinstance(doc_id, (int, float)) and not isinstance(doc_id, bool):
        return (1, b"", doc_id, "")
    return (2, b"", 0, f"{type(doc_id).__name__}:{doc_id!r}")


def legacy_id_value(raw: Any) -> int:
    """An integer id from a legacy_id field (int, Int64, integral float, or digit string)."""
    if isinstance(raw, bool):
        raise ValueError(f"legacy id {raw!r} is a boolean")
    if isinstance(raw, int) or isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        value = int(raw.strip())
    elif isinstance(raw, v.Decimal128) and raw.value.lstrip("-").isdigit():
        value = int(raw.value)
    else:
        raise ValueError(f"legacy id {raw!r} is not an integer")
    if not sql.INT64_MIN <= value <= sql.INT64_MAX:
        raise ValueError(f"legacy id {value} does not fit a 64-bit INTEGER")
    return value


_MISSING = object()
_TXN = sql.TXN_PHRASE  # see sql.quote_text: never written whole


@dataclass
class _Shape:
    picks: List[Tuple[int, int, str]]  # (position in the document, column index, field name)
    render: Any  # (values, notes) -> cells; raises sql.LiteralError
    unmapped: List[str]
    absent_not_null: List[int]
    present_not_null: List[int]
    count: int = 0


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
        self.columns: List[Column] = [
            c for c in table.columns if c.name.lower() != id_col.name.lower() and not c.generated
        ]
        self._by_name = {c.name.lower(): i for i, c in enumerate(self.columns)}
        self._by_snake = {}
        for i, c in enumerate(self.columns):
            self._by_snake.setdefault(snake_case(c.name), i)
        units = {k.lower(): u for k, u in options.date_units.items()}
        renderers = [
            sql.column_renderers(
                sql.column_affinity(c.declared_type),
                units.get(c.name.lower(), sql.default_date_unit(c.declared_type)),
                options.replace_lone_surrogates,
            )
            for c in self.columns
        ]
        self._tables = [table for table, _ in renderers]
        self._generals = [general for _, general in renderers]
        self._shapes: Dict[Tuple[str, ...], _Shape] = {}
        self._blank = [c.default_sql if c.default_sql is not None else "NULL" for c in self.columns]
        widest = _StatementBuilder(options, id_col.name, self.columns, self.columns, self.report)
        self._join_below = options.max_statement_bytes - widest.fixed - 32
        self._not_null = [i for i, c in enumerate(self.columns) if c.not_null]
        # field name -> (column index, exact) or None (unmapped); filled lazily per new name
        self._fields: Dict[str, Tuple[int, bool] | None] = {}
        self._explicit_columns = set()
        for col_name, field_name in options.column_map.items():
            idx = self._by_name.get(col_name.lower())
            if idx is None:
                raise ValueError(f"column_map names column {col_name!r}, which table {table.name} does not have")
            self._fields[field_name] = (idx, True)
            self._explicit_columns.add(idx)
        self._skip_fields = {"_id", options.legacy_id_field}
        self._legacy_field = options.legacy_id_field
        self._used = [False] * len(self.columns)
        # (legacy id or None, _id, cells) of the documents to write
        self._rows: List[Tuple[int | None, Any, str | List[str]]] = []
        # legacy id -> the first document's _id, over every document known (written or only
        # read for id planning): the largest is a floor for new ids, a shared one an error
        self._legacy_owner: Dict[int, Any] = {}
        self._legacy_dupes: Dict[int, List[Any]] = {}  # legacy id -> every _id, when shared
        self._missing_required: List[Tuple[int, str]] = []  # (column index, document) without a value
        self._notes: List[str] = []

    # -- mapping -----------------------------------------------------------------------
    def _resolve(self, name: str) -> Tuple[int, bool] | None:
        idx = self._by_name.get(name.lower())
        found: Tuple[int, bool] | None = None
        if idx is not None and idx not in self._explicit_columns:
            found = (idx, True)
        else:
            idx = self._by_snake.get(snake_case(name))
            if idx is not None and idx not in self._explicit_columns:
                found = (idx, False)
        self._fields[name] = found
        return found

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

    def _shape(self, names: Tuple[str, ...]) -> _Shape:
        """Which field feeds which column, for documents with exactly these field names."""
        best: Dict[int, Tuple[bool, int, str]] = {}
        unmapped: List[str] = []
        for pos, name in enumerate(names):
            target = self._fields.get(name, _MISSING)
            if target is _MISSING:
                target = self._resolve(name)
            if target is None:
                if name not in self._skip_fields:
                    unmapped.append(name)
                continue
            idx, exact = target  # type: ignore[misc]
            previous = best.get(idx)
            # an exact name match (user_id) wins over a camelCase one (userId)
            if previous is None or (exact and not previous[0]):
                best[idx] = (exact, pos, name)
        picks = sorted((pos, idx, name) for idx, (_, pos, name) in best.items())
        for idx in best:
            self._used[idx] = True
        shape = _Shape(
            picks=picks,
            render=self._compile(picks),
            unmapped=unmapped,
            absent_not_null=[i for i in self._not_null if i not in best],
            present_not_null=[i for i in self._not_null if i in best],
        )
        self._shapes[names] = shape
        return shape

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
        shape = self._shapes.get(names) or self._shape(names)
        shape.count += 1
        notes = self._notes
        try:
            cells = shape.render(list(doc.values()), notes)
        except sql.LiteralError:
            cells = None
        if cells is None or notes:
            # Rare: render again field by field to say which field the problem is in.
            notes.clear()
            cells = self._render_reporting(doc, shape)
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

    def _render_reporting(self, doc: Dict[str, Any], shape: _Shape) -> List[str] | None:
        """The generic path: one field at a time, every error and note attributed to its field."""
        report = self.report
        label = f"document _id={describe_id(doc.get('_id'))}"
        values = list(doc.values())
        cells = list(self._blank)
        notes: List[str] = []
        failed = False
        for pos, idx, name in shape.picks:
            value = values[pos]
            try:
                cells[idx] = self._tables[idx].get(type(value), self._generals[idx])(value, notes)
            except sql.LiteralError as exc:
                report.error("unwritable_value", f"{label} field {name!r}: {exc}")
                failed = True
                continue
            for note in notes:
                report.warn(note, f"{label} field {name!r}")
            notes.clear()
        return None if failed else cells

    def _compile(self, picks: List[Tuple[int, int, str]]) -> Any:
        """A row renderer specialised for one document shape: straight-line code, no loop.

        Generated from integers only (positions, column indexes), never from field names."""
        namespace: Dict[str, Any] = {"TXN": _TXN, "BLANK": self._blank}
        by_column = {idx: pos for pos, idx, _ in picks}
        lines = ["def render(values, notes):"]
        for pos, idx, _ in picks:
            namespace[f"T{idx}"] = self._tables[idx]
            namespace[f"G{idx}"] = self._generals[idx]
            lines += [
                f"    x = values[{pos}]",
                "    if type(x) is str and x.isascii() and '\\x00' not in x and TXN not in x:",
                f"        c{idx} = \"'\" + x.replace(\"'\", \"''\") + \"'\"",
                "    else:",
                f"        c{idx} = T{idx}.get(type(x), G{idx})(x, notes)",
            ]
        cells = [f"c{i}" if i in by_column else f"BLANK[{i}]" for i in range(len(self.columns))]
        lines.append("    return [" + ", ".join(cells) + "]")
        exec(compile("\n".join(lines), "<d1plan row renderer>", "exec"), namespace)  # noqa: S102
        return namespace["render"]

    def _fill_required(self, idx: int, cells: List[str], doc_id: Any) -> None:
        default = self.columns[idx].default_sql
        if default is not None:
            cells[idx] = default
        else:
            self._missing_required.append((idx, f"document _id={describe_id(doc_id)}"))

    def _row_fits(self, cells: List[str], doc_id: Any) -> bool:
        sizes = [(sql.stored_size(c), i) for i, c in enumerate(cells)]
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
        used = [i for i, flag in enumerate(self._used) if flag]
        for idx, label in self._missing_required:
            if self._used[idx]:
                report.error(
                    "not_null_without_value",
                    f"{label}: column {self.columns[idx].name!r} is NOT NULL (no default) and the document has no value",
                )
        mapping: List[collections.Counter[str]] = [collections.Counter() for _ in self.columns]
        unmapped: collections.Counter[str] = collections.Counter()
        for shape in self._shapes.values():
            if shape.count:
                for _, idx, name in shape.picks:
                    mapping[idx][name] += shape.count
                for name in shape.unmapped:
                    unmapped[name] += shape.count
        report.mapping = {self.columns[i].name: dict(mapping[i]) for i in range(len(self.columns)) if mapping[i]}
        report.unmapped_fields = dict(unmapped.most_common())
        for i, col in enumerate(self.columns):
            if not self._used[i]:
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
        builder = _StatementBuilder(self.options, self.id_column.name, self.columns,
                                    [self.columns[i] for i in used], report)
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


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


class _StatementBuilder:
    def __init__(
        self, options: PlanOptions, id_name: str, columns: List[Column], updated: List[Column], report: Report
    ) -> None:
        self.limit = options.max_statement_bytes
        self.max_rows = options.max_rows_per_statement
        self.report = report
        self.table_name = options.table.name
        self.table = sql.quote_identifier(options.table.name)
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
        self.fixed = _utf8_len(self.header) + _utf8_len(self.footer)
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
            self.total_bytes += _utf8_len(stmt) + 1

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
            if _utf8_len("(" + ",".join([key] + inline) + ")") <= budget:
                break
            kind = sql.literal_kind(inline[i])
            if kind is None:
                continue
            inline[i] = sql.empty_literal(kind)
            deferred.append(i)
        row = "(" + ",".join([key] + inline) + ")"
        if _utf8_len(row) > budget:
            self.report.error("row_too_large", f"document _id {key}: cannot fit its non-text values in one statement")
            return
        statements = [self.header + row + self.footer]
        where = f" WHERE {self.id_q} = {d1ids.lookup_sql(self.table_name, key)}"
        for i in sorted(deferred):
            col = self.col_q[i]
            kind = sql.literal_kind(cells[i])
            if kind == "blob":
                prefix, suffix = f"UPDATE {self.table} SET {col} = CAST({col} || ", f" AS BLOB){where};"
            else:
                prefix, suffix = f"UPDATE {self.table} SET {col} = {col} || ", f"{where};"
            piece_budget = self.limit - _utf8_len(prefix) - _utf8_len(suffix)
            for piece in sql.split_literal(cells[i], piece_budget):
                statements.append(prefix + piece + suffix)
            self.report.split_values += 1
        self._emit(statements)


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
