"""SQL literals: every value written must read back from SQLite exactly (or be refused clearly)."""
from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from cutover.d1 import pieces as d1pieces
from cutover.d1 import sql
from cutover.mongo import jsvalue
from cutover.mongo.values import Binary, DateTime, Decimal128, Int64, ObjectId, Regex, Undefined
from tests.support import sqlite as sqlite_support

TRICKY = ["'", "''", "--", ";", "\n", "\r\n", "\x00", "/*", "*/", "😀", "\ud800", "\udc80", "\udcff", "\udbff\udfff",
          "BEGIN TRANSACTION;", "COMMIT;", "\\", '"', "\u2028", "\ufeff", "é", "\x7f", "X'00'", "CAST("]

any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=())
tricky_text = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(any_char, max_size=8)), max_size=12).map("".join)


@pytest.fixture(scope="module")
def db():
    return sqlite_support.connect()


def read_back(db, literal: str):
    return db.execute(f"SELECT {literal}").fetchone()[0]


_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def expected_text(text: str) -> str | None:
    """What D1 should hold: pairs joined, U+DC80..DCFF as raw bytes; None when a lone surrogate remains."""
    joined = _PAIR.sub(lambda m: m.group(0).encode("utf-16", "surrogatepass").decode("utf-16"), text)
    if re.search("[\ud800-\udc7f\udd00-\udfff]", joined):
        return None
    return joined


@settings(max_examples=400, deadline=None)
@given(tricky_text)
@example("it's -- a; test\x00 😀")
@example("\udc80\udcff")
@example("x BEGIN TRANSACTION; it's COMMIT; BEGIN TRANSACTION")
def test_text_round_trips_or_is_refused(db, text):
    expected = expected_text(text)
    if expected is None:
        with pytest.raises(sql.LiteralError, match="lone surrogate"):
            sql.render(text)
        return
    literal = sql.render(text)
    assert read_back(db, literal) == expected
    assert db.execute(f"SELECT typeof({literal})").fetchone()[0] == "text"
    # wrangler edits/refuses files holding this phrase anywhere, even inside a string
    assert "BEGIN TRANSACTION" not in literal


@settings(max_examples=200, deadline=None)
@given(tricky_text)
def test_lone_surrogates_replaced_on_request(db, text):
    notes: list[str] = []
    literal = sql.render(text, notes=notes, replace_lone_surrogates=True)
    value = read_back(db, literal)
    expected = expected_text(text)
    if expected is not None:
        assert value == expected
        assert sql.NOTE_SURROGATE_REPLACED not in notes
    else:
        assert "\ufffd" in value
        assert sql.NOTE_SURROGATE_REPLACED in notes


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(2**70), max_value=2**70))
@example(2**63 - 1)
@example(-(2**63))
@example(2**53)
@example(2**53 - 1)
def test_integers(db, number):
    notes: list[str] = []
    if not sql.INT64_MIN <= number <= sql.INT64_MAX:
        with pytest.raises(sql.LiteralError, match="64-bit"):
            sql.render(number, notes=notes)
        return
    assert read_back(db, sql.render(number, notes=notes)) == number
    assert read_back(db, sql.render(Int64(number))) == number
    assert (sql.NOTE_UNSAFE_INTEGER in notes) == (abs(number) > 2**53 - 1)


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
@example(5e-324)
@example(1.7976931348623157e308)
@example(1e16)
@example(3.0)
@example(-0.0)
def test_floats(db, number):
    if not sqlite_support.EXACT_REAL_PARSING:
        pytest.skip("SQLite < 3.43 parses some REAL literals inexactly (install pysqlite3-binary)")
    notes: list[str] = []
    literal = sql.render(number, notes=notes)
    value = read_back(db, literal)
    if math.isnan(number) or math.isinf(number):
        assert value is None and notes == [sql.NOTE_NON_FINITE]
    else:
        assert isinstance(value, float) and value == number
        assert notes == []


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), tricky_text.filter(
    lambda t: expected_text(t) == t))
json_values = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(tricky_text.filter(lambda t: expected_text(t) == t), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.dictionaries(st.text(max_size=5), json_values, max_size=5), st.lists(json_values, max_size=5)))
def test_nested_values_as_json_text(db, value):
    literal = sql.render(value)
    text = read_back(db, literal)
    assert text == jsvalue.stringify(value)
    assert json.loads(text) == json.loads(jsvalue.stringify(value))


def test_booleans_are_one_and_zero(db):
    assert read_back(db, sql.render(True)) == 1
    assert read_back(db, sql.render(False)) == 0


@pytest.mark.parametrize(
    ("value", "affinity", "unit", "expected"),
    [
        (DateTime(1700000000123), "TEXT", "iso", "2023-11-14T22:13:20.123Z"),
        (DateTime(1700000000123), "INTEGER", "ms", 1700000000123),
        (DateTime(1700000000000), "INTEGER", "s", 1700000000),
        (DateTime(1700000000500), "INTEGER", "s", 1700000000.5),
        (DateTime(1700000000000), "TEXT", "sqlite", "2023-11-14 22:13:20"),
        (DateTime(1700000000120), "TEXT", "sqlite", "2023-11-14 22:13:20.120"),
        (DateTime(-1), "TEXT", "iso", "1969-12-31T23:59:59.999Z"),
        (ObjectId.from_hex("65a0000000000000000000ff"), "TEXT", "iso", "65a0000000000000000000ff"),
        (Decimal128("1.10"), "TEXT", "iso", "1.10"),
        (Decimal128("NaN"), "TEXT", "iso", "NaN"),
        (Binary(b"\x00\x01'"), "BLOB", "iso", b"\x00\x01'"),
        (Binary(bytes(range(16)), 4), "TEXT", "iso", "00010203-0405-0607-0809-0a0b0c0d0e0f"),
        (Binary(b"hi", 0), "TEXT", "iso", "aGk="),
        (Undefined, "TEXT", "iso", None),
        (None, "TEXT", "iso", None),
        (Regex("a.*", "i"), "TEXT", "iso", '{"$regularExpression":{"pattern":"a.*","options":"i"}}'),
        ({"n": float("nan"), "d": DateTime(0)}, "TEXT", "iso", '{"n":null,"d":"1970-01-01T00:00:00.000Z"}'),
    ],
)
def test_bson_values(db, value, affinity, unit, expected):
    assert read_back(db, sql.render(value, affinity, unit)) == expected


def test_date_units_follow_the_column_type():
    assert sql.default_date_unit("INTEGER") == "ms"
    assert sql.default_date_unit("BIGINT") == "ms"
    assert sql.default_date_unit("TEXT") == "iso"
    assert sql.default_date_unit("DATETIME") == "iso"
    assert sql.default_date_unit("") == "iso"


@pytest.mark.parametrize(
    ("declared", "affinity"),
    [("INTEGER", "INTEGER"), ("int", "INTEGER"), ("VARCHAR(255)", "TEXT"), ("CLOB", "TEXT"), ("BLOB", "BLOB"),
     ("", "BLOB"), ("REAL", "REAL"), ("DOUBLE PRECISION", "REAL"), ("FLOAT", "REAL"), ("DECIMAL(10,2)", "NUMERIC"),
     ("BOOLEAN", "NUMERIC"), ("DATETIME", "NUMERIC"), ("CHARINT", "INTEGER")],
)
def test_affinity_rules(declared, affinity):
    assert sql.column_affinity(declared) == affinity


def test_identifiers_are_quoted():
    assert sql.quote_identifier('we"ird col') == '"we""ird col"'


@settings(max_examples=200, deadline=None)
@given(tricky_text, st.integers(min_value=64, max_value=400), st.binary(max_size=600))
def test_split_literal_pieces_fit_and_concatenate_back(db, text, limit, data):
    text = text * 7
    assume(expected_text(text) is not None)
    literals = [sql.render(text), sql.blob_literal(data), sql.hex_text_literal(data)]
    for literal in literals:
        pieces = d1pieces.split_literal(literal, limit)
        assert all(len(p.encode("utf-8")) <= limit for p in pieces)
        assert not any("BEGIN TRANSACTION" in p for p in pieces)
        joined = " || ".join(pieces)
        if d1pieces.literal_kind(literal) == "blob":
            joined = f"CAST({joined} AS BLOB)"
        got = db.execute(f"SELECT CAST({joined} AS BLOB), CAST({literal} AS BLOB)").fetchone()
        assert got[0] == got[1]
        assert d1pieces.stored_size(literal) == len(got[1])


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=-(10**16), max_value=10**16))
@example(-62135596800000)
@example(253402300799999)
@example(253402300800000)
@example(-62135596800001)
def test_iso_dates_match_javascript_form(millis):
    table, _ = sql.column_renderers("TEXT", "iso")
    assert table[DateTime](DateTime(millis), []) == "'" + DateTime(millis).iso() + "'"
    assert sql.date_literal(DateTime(millis), "iso") == "'" + DateTime(millis).iso() + "'"
