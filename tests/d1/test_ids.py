"""The id map's keys: one per Mongo `_id` as Mongo compares them, ASCII, never two alike."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cutover.d1 import ids as d1ids
from cutover.mongo.values import DateTime, Decimal128, Int64, ObjectId
from tests.support import sqlite as sqlite_support

OID = ObjectId(bytes.fromhex("65a000000000000000000001"))


@pytest.mark.parametrize(("doc_id", "key"), [
    (OID, "65a000000000000000000001"),
    ("65a000000000000000000001", '"65a000000000000000000001"'),  # a string is not an ObjectId
    ("it's", '"it\'s"'),
    ("é\x00", '"\\u00e9\\u0000"'),
    (7, "7"), (Int64(7), "7"), (7.0, "7"), (Decimal128("7"), "7"),  # one _id to Mongo
    (7.5, "7.5"), (1e24, "1e+24"), (float("nan"), "nan"),
    (True, "true"), (None, "null"),
    (Decimal128("7.50"), "Decimal128:7.50"),
    ({"a": 1, "b": "x"}, 'ejson:{"a":{"$numberInt":"1"},"b":"x"}'),
    (DateTime(0), 'ejson:{"$date":{"$numberLong":"0"}}'),
])
def test_keys(doc_id, key):
    assert d1ids.id_key(doc_id) == key


ids = st.one_of(
    st.binary(min_size=12, max_size=12).map(ObjectId),
    st.text(max_size=30),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.dictionaries(st.text(max_size=3), st.integers(0, 9), max_size=2),
)


def same_to_mongo(a, b) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return a == b
    return type(a) is type(b) and a == b


@settings(max_examples=300, deadline=None)
@given(ids, ids)
def test_distinct_ids_give_distinct_ascii_keys(a, b):
    ka, kb = d1ids.id_key(a), d1ids.id_key(b)
    assert ka.isascii() and "\x00" not in ka
    assert (ka == kb) == same_to_mongo(a, b)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40).map(lambda t: "BEGIN TRANSACTION" + t))
def test_key_literals_store_the_key(text):
    key = d1ids.id_key(text)
    literal = d1ids.key_literal(key)
    assert "BEGIN TRANSACTION" not in literal
    conn = sqlite_support.connect()
    assert conn.execute(f"SELECT {literal}").fetchone()[0] == key


def test_pack_respects_rows_and_bytes():
    rows = [f"('{i:024x}',{i})" for i in range(2500)]
    statements = d1ids.pack("H(", ")F;", rows, 100_000, 1000)
    assert [s.count("\n") + 1 for s in statements] == [1000, 1000, 500]
    small = d1ids.pack("H(", ")F;", rows, 2000, 1000)
    assert all(len(s) <= 2000 for s in small)
    assert sum(s.count("\n") + 1 for s in small) == 2500
