"""MongoDB's cross-type `_id` order as the paging and counting filters use it."""
from __future__ import annotations

from typing import Any

import pytest

from cutover.mongo import values as v
from cutover.mongo.base import ScanOptions
from cutover.mongo.idrange import _TYPE_BRACKETS, _bracket, increases, scan_count_range, upto_filter

OID = v.ObjectId(bytes(11) + b"\x01")


@pytest.mark.parametrize("value, alias", [
    (v.MinKey, "minKey"), (None, "null"), (v.Undefined, "undefined"), (7, "int"), (v.Int64(7), "long"),
    (1.5, "double"), (v.Decimal128("1.5"), "decimal"), ("a", "string"), (v.Symbol("a"), "symbol"),
    ({"a": 1}, "object"), (v.DBRef("c", 1), "object"), ([1], "array"), (v.Binary(b"x"), "binData"),
    (OID, "objectId"), (True, "bool"), (False, "bool"), (v.DateTime(0), "date"), (v.Timestamp(1, 1), "timestamp"),
    (v.Regex("a"), "regex"), (v.Code("f()"), "javascript"), (v.MaxKey, "maxKey"),
])
def test_every_bson_type_falls_in_its_bracket(value: Any, alias: str) -> None:
    assert alias in _TYPE_BRACKETS[_bracket(value)]


def test_order_across_brackets_and_within_them() -> None:
    ordered = [v.MinKey, None, -1, 2.5, v.Int64(3), "a", "b", {"a": 1}, [1], v.Binary(b"x"), OID, False, True,
               v.DateTime(0), v.DateTime(1), v.Timestamp(1, 1), v.Regex("a"), v.Code("f()"), v.MaxKey]
    assert all(increases(a, b) for a, b in zip(ordered, ordered[1:]))
    assert not any(increases(b, a) for a, b in zip(ordered, ordered[1:]))


def test_count_range_of_a_fresh_scan_a_resume_and_a_resume_that_counts_from_the_start() -> None:
    base = {"updatedAt": {"$gte": 1}}
    assert scan_count_range(base, ScanOptions(), "k9", 10) == ({"$and": [base, upto_filter("k9")]}, 0)
    assert scan_count_range({}, ScanOptions(), None, 0) == ({}, 0)  # nothing read: everything counts
    resumed = ScanOptions(after_id="k3", read_before=4)
    assert scan_count_range({}, resumed, "k9", 6) == (upto_filter("k9"), 4)
    assert scan_count_range({}, resumed, None, 0) == (upto_filter("k3"), 4)
    match, earlier = scan_count_range({}, ScanOptions(after_id="k3"), "k9", 6)
    assert earlier == 0 and len(match["$and"]) == 2
