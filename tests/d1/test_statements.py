"""Packing rows into statements: the byte and row limits hold, a row too large is split into appends."""
from __future__ import annotations

from cutover.d1.findings import Report
from cutover.d1.schema import parse_schema
from cutover.d1.statements import StatementBuilder, utf8_len

TABLE = parse_schema("CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT, n INTEGER);")["t"]
COLUMNS = [TABLE.column("note"), TABLE.column("n")]


def builder(limit=2000, max_rows=1000) -> StatementBuilder:
    return StatementBuilder("t", "id", COLUMNS, COLUMNS, Report(), limit, max_rows)


def test_rows_are_packed_within_bytes_and_rows():
    b = builder(limit=2000, max_rows=4)
    for i in range(30):
        b.add_row(f"'k{i}'", f"'note {i} {'x' * 40}',{i}")
    b.flush()
    assert all(utf8_len(s) <= 2000 for s in b.statements)
    assert all(s.count("\n('k") <= 4 for s in b.statements)
    assert sum(s.count("('k") for s in b.statements) == 30
    assert [u for u in b.units] == [(i, 1) for i in range(len(b.statements))]
    assert b.total_bytes == sum(utf8_len(s) + 1 for s in b.statements)


def test_a_row_too_large_is_inserted_empty_then_appended_in_pieces():
    b = builder(limit=1000)
    b.add_row("'big'", ["'" + "é" * 2000 + "'", "7"])
    b.flush()
    assert b.units == [(0, len(b.statements))]  # one unit: the INSERT and all its appends
    assert b.statements[0].count("'big',''") == 1 and len(b.statements) > 4
    assert all(s.startswith('UPDATE "t" SET "note" = "note" || ') for s in b.statements[1:])
    assert all(utf8_len(s) <= 1000 for s in b.statements)
    assert b.report.split_values == 1


def test_only_the_updated_columns_are_overwritten_on_conflict():
    b = StatementBuilder("t", "id", COLUMNS, COLUMNS[:1], Report(), 2000, 10)
    assert b.footer.endswith('ON CONFLICT ("id") DO UPDATE SET "note" = excluded."note";')
    assert StatementBuilder("t", "id", COLUMNS, [], Report(), 2000, 10).footer.endswith("DO NOTHING;")
