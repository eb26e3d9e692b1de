"""Which Mongo field feeds which D1 column, and a row renderer per document shape.

A field maps to the column of the same name (any case), else to the column its snake_case
names (`userId` -> `user_id`; an exact match wins), unless `column_map` names the field for a
column. Documents with the same field names share one compiled renderer: straight-line code,
no loop, generated from integers only (positions, column indexes), never from field names.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Tuple

from cutover.d1 import sql
from cutover.d1.findings import Report
from cutover.d1.record import describe_id
from cutover.d1.schema import Column, Table, snake_case

_MISSING = object()
_TXN = sql.TXN_PHRASE  # see sql.quote_text: never written whole


@dataclass
class Shape:
    picks: List[Tuple[int, int, str]]  # (position in the document, column index, field name)
    render: Any  # (values, notes) -> cells; raises sql.LiteralError
    unmapped: List[str]
    absent_not_null: List[int]
    present_not_null: List[int]
    count: int = 0


class ColumnMapper:
    """The written columns (not the id, not generated ones) and how documents fill them."""

    def __init__(
        self,
        table: Table,
        id_column: Column,
        date_units: Mapping[str, str],
        column_map: Mapping[str, str],
        skip_fields: Tuple[str, ...],
        replace_lone_surrogates: bool = False,
    ) -> None:
        self.columns: List[Column] = [
            c for c in table.columns if c.name.lower() != id_column.name.lower() and not c.generated
        ]
        self._by_name = {c.name.lower(): i for i, c in enumerate(self.columns)}
        self._by_snake: Dict[str, int] = {}
        for i, c in enumerate(self.columns):
            self._by_snake.setdefault(snake_case(c.name), i)
        units = {k.lower(): u for k, u in date_units.items()}
        renderers = [
            sql.column_renderers(
                sql.column_affinity(c.declared_type),
                units.get(c.name.lower(), sql.default_date_unit(c.declared_type)),
                replace_lone_surrogates,
            )
            for c in self.columns
        ]
        self._tables = [table for table, _ in renderers]
        self._generals = [general for _, general in renderers]
        self.shapes: Dict[Tuple[str, ...], Shape] = {}
        self.blank = [c.default_sql if c.default_sql is not None else "NULL" for c in self.columns]
        self._not_null = [i for i, c in enumerate(self.columns) if c.not_null]
        # field name -> (column index, exact) or None (unmapped); filled lazily per new name
        self._fields: Dict[str, Tuple[int, bool] | None] = {}
        self._explicit_columns = set()
        for col_name, field_name in column_map.items():
            idx = self._by_name.get(col_name.lower())
            if idx is None:
                raise ValueError(f"column_map names column {col_name!r}, which table {table.name} does not have")
            self._fields[field_name] = (idx, True)
            self._explicit_columns.add(idx)
        self._skip_fields = set(skip_fields)
        self.used = [False] * len(self.columns)

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

    def shape(self, names: Tuple[str, ...]) -> Shape:
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
            # an exact name match (user_id) wins over a camelCase one (userId); the field that
            # loses the column is reported with the unmapped ones (its value is not written)
            if previous is None or (exact and not previous[0]):
                best[idx] = (exact, pos, name)
                if previous is not None:
                    unmapped.append(previous[2])
            else:
                unmapped.append(name)
        picks = sorted((pos, idx, name) for idx, (_, pos, name) in best.items())
        for idx in best:
            self.used[idx] = True
        shape = Shape(
            picks=picks,
            render=self._compile(picks),
            unmapped=unmapped,
            absent_not_null=[i for i in self._not_null if i not in best],
            present_not_null=[i for i in self._not_null if i in best],
        )
        self.shapes[names] = shape
        return shape

    def render_reporting(self, doc: Dict[str, Any], shape: Shape, report: Report) -> List[str] | None:
        """The generic path: one field at a time, every error and note attributed to its field."""
        label = f"document _id={describe_id(doc.get('_id'))}"
        values = list(doc.values())
        cells = list(self.blank)
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
        """A row renderer specialised for one document shape."""
        namespace: Dict[str, Any] = {"TXN": _TXN, "BLANK": self.blank}
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

    def tally(self, report: Report) -> None:
        """Which fields filled which columns, and the fields no column took, over every document."""
        mapping: List[collections.Counter[str]] = [collections.Counter() for _ in self.columns]
        unmapped: collections.Counter[str] = collections.Counter()
        for shape in self.shapes.values():
            if shape.count:
                for _, idx, name in shape.picks:
                    mapping[idx][name] += shape.count
                for name in shape.unmapped:
                    unmapped[name] += shape.count
        report.mapping = {self.columns[i].name: dict(mapping[i]) for i in range(len(self.columns)) if mapping[i]}
        report.unmapped_fields = dict(unmapped.most_common())
