"""What D1 should hold according to Mongo: plan the rows exactly as `backfill-d1` would with
the same config, run that SQL into an in-memory SQLite table of the same shape, read it back
keyed by each document's Mongo `_id`.

Sharing the planner keeps one definition of column mapping and value conversion; the ids
are not taken from it: the target's rows are found through the target's own id map (see
d1_match), so a row the planner would number differently is still found, and a row that
holds another document is caught."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any, Dict

from cutover.core.config import Config
from cutover.errors import CutoverError
from cutover.mongo.base import MongoSource
from cutover.verify.compare import Row


@dataclass
class ExpectedD1:
    table: str
    id_column: str
    rows: Dict[str, Row]  # Mongo _id key (d1ids.id_key) -> the row's columns, without the id
    legacy: Dict[str, int] = field(default_factory=dict)  # key -> legacy id, for documents that have one


def _create_table_sql(table: Any) -> str:
    from cutover.d1.sql import quote_identifier

    cols = []
    for col in table.columns:
        if col.generated:
            continue
        pk = " PRIMARY KEY" if table.primary_key == (col.name,) else ""
        cols.append(f"{quote_identifier(col.name)} {col.declared_type}{pk}".rstrip())
    return f"CREATE TABLE {quote_identifier(table.name)} ({', '.join(cols)})"


def expected_rows(cfg: Config, source: MongoSource) -> ExpectedD1:
    from cutover.d1 import ids as d1ids
    from cutover.d1.options import BackfillD1Options
    from cutover.d1.plan import render_file
    from cutover.d1.record import legacy_id_value
    from cutover.d1.settings import build_planner
    from cutover.mongo.base import ScanOptions

    # backfill-d1 with no flags: everything from the config, as the backfill reads it
    settings, table, planner = build_planner(BackfillD1Options(), cfg)
    legacy: Dict[str, int] = {}
    for batch in source.scan(settings.collection, ScanOptions(batch_size=5000)):
        for doc in batch:
            planner.add(doc)
            raw = doc.get(settings.legacy_id_field)
            if raw is not None:
                try:
                    legacy[d1ids.id_key(doc.get("_id"))] = legacy_id_value(raw)
                except ValueError:
                    pass  # the planner reports it
    plan = planner.plan()
    if plan.report.error_count:
        raise CutoverError(f"D1: Mongo holds {plan.report.error_count} document(s) backfill-d1 refuses; "
                           "run backfill-d1 --dry-run to see them")
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(_create_table_sql(table))
        conn.executescript(render_file(plan))
        conn.row_factory = sqlite3.Row
        cols = ", ".join(f'"{c}"' for c in plan.columns)
        by_id = {r[settings.id_column]: dict(r) for r in conn.execute(f'SELECT {cols} FROM "{table.name}"')}
        rows: Dict[str, Row] = {}
        for key, row_id in conn.execute(f"SELECT mongo_id, id FROM {d1ids.MAP_TABLE} WHERE tbl = ?", (table.name,)):
            row = by_id[row_id]
            rows[key] = {c: val for c, val in row.items() if c != settings.id_column}
    finally:
        conn.close()
    return ExpectedD1(table.name, settings.id_column, rows, legacy)
