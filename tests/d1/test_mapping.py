"""Fields to columns: exact names win over snake_case ones, column_map overrides, and each
document shape's compiled renderer gives the same cells as the field-by-field path."""
from __future__ import annotations

import pytest

from cutover.d1.findings import Report
from cutover.d1.mapping import ColumnMapper
from cutover.d1.schema import parse_schema
from cutover.mongo.values import DateTime, Int64

TABLE = parse_schema(
    "CREATE TABLE t (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, qty REAL, created_at INTEGER, note TEXT, "
    "total REAL GENERATED ALWAYS AS (qty * 2));"
)["t"]


def mapper(column_map=None, **kw) -> ColumnMapper:
    return ColumnMapper(TABLE, TABLE.column("id"), kw.pop("units", {}), column_map or {}, ("_id", "legacy_id"), **kw)


def test_columns_leave_out_the_id_and_generated_ones():
    assert [c.name for c in mapper().columns] == ["user_id", "qty", "created_at", "note"]


def test_exact_name_beats_camel_case_and_unknown_fields_are_listed():
    m = mapper()
    shape = m.shape(("_id", "legacy_id", "userId", "user_id", "qty", "colour"))
    assert [(pos, name) for pos, _, name in shape.picks] == [(3, "user_id"), (4, "qty")]
    # _id and the legacy id are not "unmapped"; userId, which lost its column to user_id, is:
    # its value is written nowhere, so the report must name it
    assert shape.unmapped == ["userId", "colour"]
    assert shape.absent_not_null == [] and shape.present_not_null == [0]
    assert m.used == [True, True, False, False]


def test_column_map_overrides_name_matching():
    m = mapper({"note": "comment"})
    shape = m.shape(("note", "comment"))
    assert [name for _, _, name in shape.picks] == ["comment"]
    assert shape.unmapped == ["note"]  # the column is taken by the mapped field
    with pytest.raises(ValueError, match="column_map names column 'nope'"):
        mapper({"nope": "x"})


@pytest.mark.parametrize("doc", [
    {"userId": "u", "qty": 1.5, "createdAt": DateTime(1000), "note": "it's"},
    {"userId": "ü😀", "qty": Int64(3), "createdAt": DateTime(-5), "note": "a\x00b"},
    {"userId": "BEGIN TRANSACTION", "qty": None, "note": {"a": [1, True]}},
])
def test_compiled_renderer_and_reporting_path_agree(doc):
    m = mapper()
    shape = m.shape(tuple(doc))
    notes: list = []
    fast = shape.render(list(doc.values()), notes)
    slow = m.render_reporting(doc, shape, Report())
    assert fast == slow and notes == []


def test_reporting_path_names_the_field_and_tally_counts_documents():
    m = mapper()
    report = Report()
    doc = {"_id": 1, "userId": "u", "qty": float("nan"), "extra": 1}
    shape = m.shape(tuple(doc))
    cells = m.render_reporting(doc, shape, report)
    assert cells is not None and cells[1] == "NULL"
    assert report.warnings["non_finite_float"].examples == ["document _id=1 field 'qty'"]
    shape.count = 3
    m.tally(report)
    assert report.mapping == {"user_id": {"userId": 3}, "qty": {"qty": 3}}
    assert report.unmapped_fields == {"extra": 3}


def test_date_units_choose_the_literal():
    doc = {"createdAt": DateTime(1_700_000_000_000)}
    for units, expected in (({}, "1700000000000"), ({"CREATED_AT": "iso"}, "'2023-11-14T22:13:20.000Z'"),
                            ({"created_at": "s"}, "1700000000")):
        m = mapper(units=units)
        assert m.shape(tuple(doc)).render(list(doc.values()), [])[2] == expected
