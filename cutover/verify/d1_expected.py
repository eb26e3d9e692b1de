"""What D1 should hold according to Mongo: plan the rows exactly as `backfill-d1` would with
the same config, run that SQL into an in-memory SQLite table of the same shape, read it back.

Sharing the planner keeps one definition of ids, column mapping and value conversion; the
comparison then proves the target holds what the restore was meant to write."""
from __future__ import annotations

import argparse
import sqlite3
from dataclasses import dataclass
from typing import Any, Dict

from cutover.core.config import Config
from cutover.errors import CutoverError
from cutover.sources.base import MongoSource
from cutover.verify.compare import Row


@dataclass
class ExpectedD1:
    table: str
    id_column: str
    rows: Dict[Any, Row]


def _create_table_sql(table: Any) -> str:
    from cutover.sinks.sql import quote_identifier

    cols = []
    for col in table.columns:
        if col.generated:
            continue
        pk = " PRIMARY KEY" if table.primary_key == (col.name,) else ""
        cols.append(f"{quote_identifier(col.name)} {col.declared_type}{pk}".rstrip())
    return f"CREATE TABLE {quote_identifier(table.name)} ({', '.join(cols)})"


def expected_rows(cfg: Config, source: MongoSource) -> ExpectedD1:
    from cutover.commands import _backfill_d1_run as d1run
    from cutover.commands import backfill_d1
    from cutover.sinks.d1plan import render_file
    from cutover.sources.base import ScanOptions

    parser = argparse.ArgumentParser(add_help=False)
    backfill_d1.add_arguments(parser)
    args = parser.parse_args(["--config", cfg.source] if not cfg.source.startswith("<") else [])
    settings, table, planner = d1run.build_planner(args, cfg)
    for batch in source.scan(settings.collection, ScanOptions(batch_size=5000)):
        for doc in batch:
            planner.add(doc)
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
        rows = {r[settings.id_column]: dict(r) for r in conn.execute(f'SELECT {cols} FROM "{table.name}"')}
    finally:
        conn.close()
    return ExpectedD1(table.name, settings.id_column, rows)
