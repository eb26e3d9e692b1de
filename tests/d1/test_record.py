"""A document's identity: legacy ids as integers, the order new ids are given in, `_id` in messages."""
from __future__ import annotations

import pytest

from cutover.d1.record import describe_id, id_sort_key, legacy_id_value
from cutover.mongo.values import Decimal128, Int64, ObjectId


@pytest.mark.parametrize(("raw", "expected"), [
    (7, 7), (Int64(2**62), 2**62), (12.0, 12), ("  42 ", 42), ("-3", -3), (Decimal128("99"), 99),
    (-(2**63), -(2**63)), (2**63 - 1, 2**63 - 1),
])
def test_legacy_id_values(raw, expected):
    value = legacy_id_value(raw)
    assert value == expected and type(value) is int


@pytest.mark.parametrize(("raw", "reason"), [
    (True, "boolean"), (1.5, "not an integer"), ("12a", "not an integer"), (Decimal128("1.5"), "not an integer"),
    (2**63, "64-bit"), ("-9223372036854775809", "64-bit"), (None, "not an integer"), ({"n": 1}, "not an integer"),
])
def test_legacy_ids_refused_say_why(raw, reason):
    with pytest.raises(ValueError, match=reason):
        legacy_id_value(raw)


def test_new_ids_follow_objectid_time_then_numbers_then_the_rest():
    early = ObjectId((1).to_bytes(4, "big") + bytes(8))
    late = ObjectId((2).to_bytes(4, "big") + bytes(8))
    ids = ["b", 5, late, 2.5, "a", early]
    assert sorted(ids, key=id_sort_key) == [early, late, 2.5, 5, "a", "b"]


def test_describe_id_is_hex_for_objectids_and_repr_otherwise():
    oid = ObjectId(bytes(range(12)))
    assert describe_id(oid) == bytes(range(12)).hex()
    assert describe_id("x'1") == repr("x'1") and describe_id(5) == "5"
