"""Extended JSON decoding: bson-corpus vectors, pymongo's json_util as oracle, legacy forms, errors."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bson import json_util
from bson.json_util import (
    CANONICAL_JSON_OPTIONS,
    LEGACY_JSON_OPTIONS,
    RELAXED_JSON_OPTIONS,
    DatetimeConversion,
    JSONOptions,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cutover.mongo import ejson
from cutover.mongo import values as v
from cutover.mongo.ejson import dates as ejson_dates
from cutover.mongo.ejson import lines as ejson_lines
from tests.support.ejson_oracle import comparable, encode_bson, from_pymongo, to_pymongo
from tests.support.tools import shared_testdata

# -- bson-corpus ---------------------------------------------------------------------------

CORPUS_FILES = [
    "array", "binary", "boolean", "code", "code_w_scope", "datetime", "dbpointer", "dbref",
    "decimal128-1", "decimal128-2", "decimal128-3", "decimal128-4", "decimal128-5", "decimal128-6",
    "decimal128-7", "document", "double", "int32", "int64", "maxkey", "minkey", "multi-type",
    "multi-type-deprecated", "null", "oid", "regex", "string", "symbol", "timestamp", "top", "undefined",
]  # fmt: skip

# A parse error in the corpus that we accept on purpose: the legacy v1 date {"$date": <ms>}
# old mongoexport wrote (the issue requires reading it; pymongo accepts it too).
ACCEPTED_LEGACY = {"Bad $date (number, not string or hash)"}


def _corpus(name: str) -> dict:
    path = shared_testdata("bson-corpus", f"{name}.json")
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _cases(kind: str, keep: Any = lambda data, case: True) -> list:  # (file, case) params
    out = []
    root = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "bson-corpus"
    for name in CORPUS_FILES:
        path = root / f"{name}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        for i, case in enumerate(data.get(kind, [])):
            if keep(data, case):
                out.append(pytest.param(name, case, id=f"{name}:{i}:{case['description'][:50]}"))
    if not out:
        out.append(pytest.param(None, None, id="corpus-missing"))
    return out


def _skip_if_missing(name: Any) -> None:
    if name is None:
        shared_testdata("bson-corpus")  # skips with the reason
        pytest.skip("bson-corpus not present")


@pytest.mark.parametrize(
    ("name", "case"),
    _cases("valid", lambda d, c: not c.get("lossy") and (not d.get("deprecated") or "converted_bson" in c)),
)
def test_corpus_canonical_extjson_encodes_to_canonical_bson(name: str, case: dict) -> None:
    """json_to_bson(cEJ) = cB: our decoded value, encoded by pymongo's BSON encoder, is the vector's
    bytes (for deprecated types: the converted form, as pymongo has no encoder for them)."""
    _skip_if_missing(name)
    deprecated = _corpus(name).get("deprecated")
    decoded = ejson.loads_document(case["canonical_extjson"])
    expected_hex = case["converted_bson"] if deprecated else case["canonical_bson"]
    assert encode_bson(decoded).hex().upper() == expected_hex.upper()


@pytest.mark.parametrize(("name", "case"), _cases("valid", lambda d, c: not c.get("lossy")))
def test_corpus_canonical_round_trip(name: str, case: dict) -> None:
    """cEJ -> ours -> cEJ (our encoder) is the same JSON, floats compared by value."""
    _skip_if_missing(name)
    decoded = ejson.loads_document(case["canonical_extjson"])
    again = ejson.loads_document(ejson.dumps(decoded))
    assert comparable(again) == comparable(decoded)
    assert _normal(json.loads(ejson.dumps(decoded))) == _normal(json.loads(case["canonical_extjson"]))


@pytest.mark.parametrize(("name", "case"), _cases("valid", lambda d, c: "degenerate_extjson" in c or "relaxed_extjson" in c))
def test_corpus_degenerate_and_relaxed_forms(name: str, case: dict) -> None:
    _skip_if_missing(name)
    canonical = ejson.loads_document(case["canonical_extjson"])
    if "degenerate_extjson" in case:
        assert comparable(ejson.loads_document(case["degenerate_extjson"])) == comparable(canonical)
    if "relaxed_extjson" in case:
        ours = ejson.loads_document(case["relaxed_extjson"])
        oracle = from_pymongo(json_util.loads(case["relaxed_extjson"], json_options=_ORACLE_OPTIONS))
        assert comparable(ours, strict_ints=False) == comparable(oracle, strict_ints=False)
        assert comparable(ours, strict_ints=False) == comparable(canonical, strict_ints=False)


# deprecated types (symbol, undefined, dbPointer) have no pymongo equivalent; lossy vectors differ by design
@pytest.mark.parametrize(("name", "case"), _cases("valid", lambda d, c: not d.get("deprecated") and not c.get("lossy")))
def test_corpus_matches_bson_decoded_by_pymongo(name: str, case: dict) -> None:
    """Decimal128 canonical strings and every other value equal what pymongo decodes from cB."""
    _skip_if_missing(name)
    import bson

    oracle = from_pymongo(bson.decode(bytes.fromhex(case["canonical_bson"]), codec_options=_ORACLE_OPTIONS))
    ours = ejson.loads_document(case["canonical_extjson"])
    assert comparable(ours) == comparable(oracle)


@pytest.mark.parametrize(("name", "case"), _cases("parseErrors"))
def test_corpus_parse_errors_are_refused(name: str, case: dict) -> None:
    _skip_if_missing(name)
    text = case["string"]
    if name.startswith("decimal128"):
        text = json.dumps({"d": {"$numberDecimal": text}})
    if case["description"] in ACCEPTED_LEGACY:
        assert ejson.loads_document(text) == {"a": v.DateTime(42)}
        return
    with pytest.raises(ValueError) as info:
        ejson.loads_document(text)
    assert str(info.value)  # a message an operator can read


_ORACLE_OPTIONS = JSONOptions(
    datetime_conversion=DatetimeConversion.DATETIME_MS, tz_aware=True, uuid_representation=0
)


def _normal(value: Any) -> Any:
    """JSON with $numberDouble strings compared by value (the corpus writes 1.0E+3, repr writes 1000.0)."""
    if isinstance(value, dict):
        if set(value) == {"$numberDouble"}:
            return ("double", repr(float(value["$numberDouble"])))
        return {k: _normal(x) for k, x in value.items()}
    if isinstance(value, list):
        return [_normal(x) for x in value]
    return value


# -- table: every type and legacy form --------------------------------------------------------

OID = "56e1fc72e0c917e9c4714161"
DECODES = [
    ('{"$oid": "56e1fc72e0c917e9c4714161"}', v.ObjectId.from_hex(OID)),
    ('{"$date": "1970-01-01T00:00:00Z"}', v.DateTime(0)),
    ('{"$date": "2012-12-24T12:15:30.501Z"}', v.DateTime(1356351330501)),
    ('{"$date": {"$numberLong": "1356351330501"}}', v.DateTime(1356351330501)),
    ('{"$date": {"$numberLong": "-284643869501"}}', v.DateTime(-284643869501)),
    ('{"$date": 1356351330501}', v.DateTime(1356351330501)),  # legacy v1
    ('{"$date": "2012-12-24T13:15:30.501+01:00"}', v.DateTime(1356351330501)),  # legacy local offset
    ('{"$date": "2012-12-24T13:15:30.501+0100"}', v.DateTime(1356351330501)),
    ('{"$date": "2012-12-24T07:15:30.501-05"}', v.DateTime(1356351330501)),
    ('{"$date": "2012-12-24T12:15:30.5012Z"}', v.DateTime(1356351330501)),  # sub-ms truncated
    ('{"$date": "2012-12-24T12:15:30.5Z"}', v.DateTime(1356351330500)),
    ('{"$date": "2012-12-24T12:15Z"}', v.DateTime(1356351300000)),
    ('{"$numberInt": "-2147483648"}', -2147483648),
    ('{"$numberLong": "9223372036854775807"}', v.Int64(2**63 - 1)),
    ('{"$numberLong": "-9223372036854775808"}', v.Int64(-(2**63))),
    ('{"$numberDouble": "-0.0"}', -0.0),
    ('{"$numberDouble": "1E+300"}', 1e300),
    ('{"$numberDouble": "Infinity"}', float("inf")),
    ('{"$numberDouble": "-Infinity"}', float("-inf")),
    ('{"$numberDecimal": "1.10"}', v.Decimal128("1.10")),
    ('{"$numberDecimal": "-0"}', v.Decimal128("-0")),
    ('{"$numberDecimal": "1E+3"}', v.Decimal128("1E+3")),
    ('{"$numberDecimal": "-NaN"}', v.Decimal128("NaN")),
    ('{"$numberDecimal": "-Infinity"}', v.Decimal128("-Infinity")),
    ('{"$binary": {"base64": "AQID", "subType": "00"}}', v.Binary(b"\x01\x02\x03", 0)),
    ('{"$binary": {"base64": "AQID", "subType": "80"}}', v.Binary(b"\x01\x02\x03", 0x80)),
    ('{"$binary": "AQID", "$type": "00"}', v.Binary(b"\x01\x02\x03", 0)),  # legacy
    ('{"$type": "5", "$binary": "AQID"}', v.Binary(b"\x01\x02\x03", 5)),  # legacy, keys swapped
    ('{"$binary": "AQID", "$type": "ffffff80"}', v.Binary(b"\x01\x02\x03", 0x80)),  # old sign-extended
    ('{"$uuid": "73ffd264-44b3-4c69-90e8-e7d1dfc035d4"}', v.Binary(bytes.fromhex("73ffd26444b34c6990e8e7d1dfc035d4"), 4)),
    ('{"$timestamp": {"t": 4294967295, "i": 1}}', v.Timestamp(4294967295, 1)),
    ('{"$regularExpression": {"pattern": "^a.c$", "options": "mi"}}', v.Regex("^a.c$", "im")),
    ('{"$regex": "^a", "$options": "xi"}', v.Regex("^a", "ix")),  # legacy
    ('{"$regex": "^a"}', v.Regex("^a", "")),
    ('{"$minKey": 1}', v.MinKey),
    ('{"$maxKey": 1}', v.MaxKey),
    ('{"$undefined": true}', v.Undefined),
    ('{"$symbol": "sym"}', v.Symbol("sym")),
    ('{"$code": "f()"}', v.Code("f()")),
    ('{"$code": "f(x)", "$scope": {"x": {"$numberInt": "1"}}}', v.Code("f(x)", {"x": 1})),
    ('{"$ref": "c", "$id": {"$oid": "56e1fc72e0c917e9c4714161"}}', v.DBRef("c", v.ObjectId.from_hex(OID))),
    ('{"$ref": "c", "$id": 5, "$db": "d", "x": 1}', v.DBRef("c", 5, "d", {"x": 1})),
    ('{"$dbPointer": {"$ref": "b", "$id": {"$oid": "56e1fc72e0c917e9c4714161"}}}', v.DBPointer("b", v.ObjectId.from_hex(OID))),
    ('{"$ref": 5, "a": 1}', {"$ref": 5, "a": 1}),  # not a DBRef: kept as a document
]


@pytest.mark.parametrize(("text", "expected"), DECODES, ids=[t for t, _ in DECODES])
def test_decodes_every_type_and_legacy_form(text: str, expected: Any) -> None:
    got = ejson.loads(text)
    assert comparable(got) == comparable(expected)
    # the same value nested in a document, and as a top-level field (the export fast path)
    line = ('{"_id": 1, "x": ' + text + ', "y": [' + text + "]}").encode()
    doc = ejson.decode_line(line)
    assert comparable(doc) == comparable({"_id": 1, "x": expected, "y": [expected]})


def test_legacy_date_matches_pymongo() -> None:
    for text in ('{"d": {"$date": 1356351330501}}', '{"d": {"$date": "2012-12-24T13:15:30.501+01:00"}}'):
        oracle = from_pymongo(json_util.loads(text, json_options=_ORACLE_OPTIONS))
        assert ejson.loads(text) == oracle


ERRORS = [
    ('{"$oid": "56e1fc72e0c917e9c47141"}', "bad $oid"),
    ('{"$oid": "zz e1fc72e0c917e9c4714161"}', "bad $oid"),
    ('{"$date": "2012-13-24T12:15:30.501Z"}', "bad $date"),
    ('{"$date": "2013-02-29T00:00:00Z"}', "bad $date"),
    ('{"$date": "yesterday"}', "bad $date"),
    ('{"$date": 1.5}', "bad $date"),
    ('{"$date": true}', "bad $date"),
    ('{"$numberLong": "9223372036854775808"}', "int64 range"),
    ('{"$numberLong": " 1"}', "bad $numberLong"),
    ('{"$numberLong": "1_000"}', "bad $numberLong"),
    ('{"$numberInt": "2147483648"}', "int32 range"),
    ('{"$numberDouble": "inf"}', "bad $numberDouble"),
    ('{"$numberDouble": "1e999"}', "double range"),
    ('{"$numberDecimal": "1_0"}', "bad $numberDecimal"),
    ('{"$binary": {"base64": "AQI", "subType": "00"}}', "invalid base64"),
    ('{"$binary": {"base64": "AQID", "subType": "100"}}', "subType"),
    ('{"$binary": "AQID", "$type": "zz"}', "$type"),
    ('{"$uuid": "73ffd26444b34c6990e8e7d1dfc035d4"}', "bad $uuid"),
    ('{"$timestamp": {"t": -1, "i": 1}}', "bad $timestamp"),
    ('{"$timestamp": {"t": true, "i": 1}}', "bad $timestamp"),
    ('{"$regex": "a", "$options": "i", "x": 1}', "bad $regex"),
    ('{"$undefined": false}', "bad $undefined"),
    ('{"$dbPointer": {"$ref": "b", "$id": 5}}', "bad $dbPointer"),
    ('{"$symbol": 5}', "bad $symbol"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[t for t, _ in ERRORS])
def test_bad_wrappers_raise_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ejson.EJSONError, match=message.replace("$", r"\$")):
        ejson.loads(text)
    # the export fast path takes the same decision
    with pytest.raises(ejson.EJSONError, match=message.replace("$", r"\$")):
        ejson.decode_line(('{"a": ' + text + "}").encode())


def test_nul_in_field_name_is_refused_but_allowed_in_values() -> None:
    with pytest.raises(ejson.EJSONError, match="NUL"):
        ejson.loads('{"a": {"b\\u0000": 1}}')
    assert ejson.loads('{"a": "b\\u0000"}') == {"a": "b\x00"}


def test_loads_document_refuses_non_documents() -> None:
    for text, kind in (("[1]", "an array"), ('"x"', "a string"), ("3", "a number"), ("null", "null")):
        with pytest.raises(ejson.EJSONError, match=kind):
            ejson.loads_document(text)


def test_dumps_is_canonical() -> None:
    doc = {
        "_id": v.ObjectId.from_hex(OID),
        "i": 1,
        "l": v.Int64(1),
        "big": 2**40,
        "f": 1.5,
        "nan": float("nan"),
        "d": v.DateTime(-1),
        "dec": v.Decimal128("1.10"),
        "b": v.Binary(b"\x00", 4),
    }
    assert json.loads(ejson.dumps(doc)) == {
        "_id": {"$oid": OID},
        "i": {"$numberInt": "1"},
        "l": {"$numberLong": "1"},
        "big": {"$numberLong": str(2**40)},
        "f": {"$numberDouble": "1.5"},
        "nan": {"$numberDouble": "NaN"},
        "d": {"$date": {"$numberLong": "-1"}},
        "dec": {"$numberDecimal": "1.10"},
        "b": {"$binary": {"base64": "AA==", "subType": "04"}},
    }


def test_dates_outside_datetime_range_keep_their_millis() -> None:
    far = 253402300800000 * 2  # beyond year 9999
    assert ejson.loads('{"$date": {"$numberLong": "' + str(far) + '"}}') == v.DateTime(far)
    assert far > 0 and ejson.loads('{"$date": "9999-12-31T23:59:59.999Z"}') == v.DateTime(253402300799999)
    assert ejson.loads('{"$date": "0001-01-01T00:00:00Z"}') == v.DateTime(-62135596800000)


# -- oracle: hypothesis-generated documents through pymongo's json_util -------------------------

_keys = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8).filter(
    lambda k: not k.startswith("$")
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**63), 2**63 - 1).map(v.Int64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.binary(min_size=12, max_size=12).map(v.ObjectId),
    st.integers(-62135596800000, 253402300799999).map(v.DateTime),  # years 1..9999
    st.decimals(allow_nan=False, places=None).filter(lambda d: len(d.as_tuple().digits) <= 34 and -6143 <= d.adjusted() <= 6144)
    .map(lambda d: v.Decimal128(ejson.canonical_decimal128(str(d)))),
    st.tuples(st.binary(max_size=20), st.sampled_from([0, 1, 2, 5, 6, 0x80])).map(lambda t: v.Binary(*t)),
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)).map(lambda t: v.Timestamp(*t)),
    st.tuples(st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=10),
              st.sets(st.sampled_from("ilmsux")).map(lambda s: "".join(sorted(s)))).map(lambda t: v.Regex(*t)),
    st.text(max_size=10).map(v.Code),
    st.just(v.MinKey),
    st.just(v.MaxKey),
)  # fmt: skip
_documents = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=4)),
    max_leaves=25,
)
_top = st.dictionaries(_keys, _documents, max_size=6)


def _pymongo_dumps(doc: dict, options: JSONOptions) -> str:
    return json_util.dumps(to_pymongo(doc), json_options=options)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_top)
def test_oracle_canonical(doc: dict) -> None:
    text = _pymongo_dumps(doc, CANONICAL_JSON_OPTIONS)
    ours = ejson.loads_document(text)
    assert comparable(ours) == comparable(doc)
    assert comparable(ours) == comparable(from_pymongo(json_util.loads(text, json_options=_ORACLE_OPTIONS)))
    assert comparable(ejson.decode_line(text.encode())) == comparable(ours)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_top)
def test_oracle_relaxed(doc: dict) -> None:
    text = _pymongo_dumps(doc, RELAXED_JSON_OPTIONS)
    ours = ejson.loads_document(text)
    oracle = from_pymongo(json_util.loads(text, json_options=_ORACLE_OPTIONS))
    assert comparable(ours, strict_ints=False) == comparable(oracle, strict_ints=False)
    assert comparable(ours, strict_ints=False) == comparable(doc, strict_ints=False)
    assert comparable(ejson.decode_line(text.encode())) == comparable(ours)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_top)
def test_oracle_legacy(doc: dict) -> None:
    text = _pymongo_dumps(doc, LEGACY_JSON_OPTIONS)
    ours = ejson.loads_document(text)
    oracle = from_pymongo(json_util.loads(text, json_options=_ORACLE_OPTIONS))
    assert comparable(ours, strict_ints=False) == comparable(oracle, strict_ints=False)


def test_decode_of_already_parsed_json_equals_loads() -> None:
    text = '{"a": {"$oid": "56e1fc72e0c917e9c4714161"}, "b": [{"$date": "2012-12-24T12:15:30.501Z"}, {"$numberLong": "5"}]}'
    assert comparable(ejson.decode(json.loads(text))) == comparable(ejson.loads(text))


@pytest.mark.parametrize(
    "text",
    ["2026-W46-7T10:30:41.388Z", "2026-W46-7T10:30:41Z", "2026-11-15X10:30:41.388Z", "2026-11-15T10:30:41,388Z",
     "2026-11-15T25:30:41.388Z", "2026-02-30T10:30:41.388Z", "２０２６-11-15T10:30:41.388Z"],
)  # fmt: skip
def test_fast_date_path_is_as_strict_as_the_general_parser(text: str) -> None:
    """Python 3.11's fromisoformat accepts more ISO forms than 3.8's; ours must not vary by version."""
    for decode in (ejson.loads, lambda t: ejson.decode_line(t.encode())):
        with pytest.raises(ejson.EJSONError, match=r"bad \$date"):
            decode('{"d": {"$date": "' + text + '"}}')


# -- the block reader for checked files (decode_checked_lines) ----------------------------------

_TRICKY_LINES = [
    b'{"_id": {"$oid": "56e1fc72e0c917e9c4714161"}, "at": {"$date": "2012-12-24T12:15:30.501Z"}}\n',
    b"\n",  # blank lines are skipped, by both readers
    b"   \r\n",
    b'  {"lead": "blanks"}\r\n',
    b'{"$ref": "c", "$id": {"$oid": "56e1fc72e0c917e9c4714161"}, "x": 1}\n',  # a DBRef-shaped document
    b'{"n": {"$numberLong": "5"}, "d": [{"$date": {"$numberLong": "-5"}}], "s": "$$$$$$$$$$"}\n',  # > 8 dollars
    b'{"nested": {"deep": {"$oid": "56e1fc72e0c917e9c4714161"}}, "one": {"plain": 1}}\n',
    b'{"esc": "a\\"b\\\\c\\u00e9", "k\\u00e9y": [1, 2.5, -3e2, true, false, null]}\n',
    b'{"dup": 1, "dup": 2}\n',
    b'{"esc": {"\\u0024date": "2012-12-24T12:15:30.501Z"}, "at": {"$oid": "56e1fc72e0c917e9c4714161"}}\n',
    b'{"last": "no newline at the end"}',
]


def _read_both(lines: list, block: int) -> tuple:
    import io

    errors: list = []
    plain = list(ejson.decode_lines(lines, lambda n, why: errors.append(("lines", n, why))))
    original = ejson_lines._BLOCK_BYTES
    ejson_lines._BLOCK_BYTES = block
    try:
        checked = list(ejson.decode_checked_lines(io.BytesIO(b"".join(lines)), lambda n, why: errors.append(("checked", n, why))))
    finally:
        ejson_lines._BLOCK_BYTES = original
    return plain, checked, errors


@pytest.mark.parametrize("block", [1, 64, 256, 1 << 20])
def test_checked_reader_gives_what_the_line_reader_gives(block: int) -> None:
    plain, checked, errors = _read_both(_TRICKY_LINES[:-1] * 3 + _TRICKY_LINES[-1:], block)
    assert errors == []
    assert len(plain) == 8 * 3 + 1
    assert comparable(checked) == comparable(plain)
    assert isinstance(plain[0]["_id"], v.ObjectId) and isinstance(plain[2], dict) and plain[2]["$ref"] == "c"


@pytest.mark.parametrize("bad", [b'{"a": 1\n', b'{"a": 1} {"b": 2}\n', b"[1, 2]\n", b'{"a": {"$oid": "zz"}}\n', b'{"k\\u0000": 1}\n', b"\xff\n",
                                 b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"\n"])
def test_damage_in_a_block_is_reported_on_its_line_as_by_the_line_reader(bad: bytes) -> None:
    """A file changed after its check: the block falls back to the line reader, same line numbers."""
    lines = _TRICKY_LINES[:1] * 5 + [bad] + _TRICKY_LINES[:1] * 5
    plain, checked, errors = _read_both(lines, 1 << 20)
    assert [(n, why) for who, n, why in errors if who == "lines"] == [(n, why) for who, n, why in errors if who == "checked"]
    assert [n for who, n, _ in errors if who == "checked"] == [6]
    assert comparable(checked) == comparable(plain) and len(plain) == 10


# -- the line reader's fast paths against the hooked parse -----------------------------------------
# decode_lines converts the top-level wrappers of a plainly parsed line by the previous line's
# shape, with `$date` read through a per-minute cache; every line must come out as the hooked
# parse (`loads_document`) has it, or fail as it fails, with its own line number.


def _hooked(line: bytes) -> Any:
    try:
        return comparable(ejson.loads_document(line.decode("utf-8")))
    except ValueError as exc:
        return ("error", ejson.error_reason(exc))


def _by_line_reader(lines: list) -> list:
    """What decode_lines gives for each (non-blank) line: a document, or ("error", reason)."""
    errors: dict = {}
    docs = iter(list(ejson.decode_lines(lines, lambda n, why: errors.__setitem__(n, ("error", why)))))
    return [errors[n] if n in errors else comparable(next(docs)) for n in range(1, len(lines) + 1)]


def _iso(millis: int) -> str:
    return v.DateTime(millis).iso()


_MINUTE = 1_764_000_000_000 - 1_764_000_000_000 % 60_000
_damage = st.sampled_from(list("0123456789-:.TZz ,+X٣")) | st.just("")


@st.composite
def _date_texts(draw: Any) -> str:
    """ISO dates as exports write them, some near a shared minute (cache hits), some damaged."""
    millis = draw(st.one_of(st.integers(-62135596800000, 253402300799999), st.integers(_MINUTE - 120_000, _MINUTE + 120_000)))
    text = _iso(millis)
    if draw(st.booleans()):  # replace, drop or add characters anywhere
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 2))
        text = text[:at] + draw(_damage) + text[at + cut :]
    return text


@settings(max_examples=400, deadline=None)
@given(st.lists(_date_texts(), min_size=1, max_size=12))
def test_fast_dates_equal_the_hooked_parse(dates: list) -> None:
    """Cached minutes must accept exactly what fromisoformat and the general parser accept:
    month/day/hour/minute ranges, leap years, second 60 (general parser only), 3-digit millis."""
    lines = [json.dumps({"_id": i, "at": {"$date": d}, "more": [{"$date": d}][:i % 2]}).encode() + b"\n" for i, d in enumerate(dates)]
    assert _by_line_reader(lines) == [_hooked(line) for line in lines]


@pytest.mark.parametrize(
    "text",
    ["2025-11-24T16:00:60.000Z", "2025-11-24T16:00:59.99Z", "2025-11-24T16:00:59.9999Z", "2025-11-24T16:00:5.999Z",
     "2025-11-24T16:00:0x.999Z", "2025-11-24T16:00:59,999Z", "2025-11-24T16:00:59.999z", "2025-11-24T16:00:59.999+00:00",
     "2025-11-24T16:00:+5.999Z", "2025-11-24T16:00:59.+99Z", "2025-11-24T16:00:59.9_9Z", "2025-11-24T16:00:٥9.999Z"],
)  # fmt: skip
def test_a_cached_minute_does_not_widen_what_is_accepted(text: str) -> None:
    """The minute is cached by the first line; the second line's odd seconds/millis must still go
    the way the hooked parse goes (an error, or the general parser's value)."""
    lines = [b'{"_id": 1, "at": {"$date": "2025-11-24T16:00:01.000Z"}}\n', json.dumps({"_id": 2, "at": {"$date": text}}).encode() + b"\n"]
    assert _by_line_reader(lines) == [_hooked(line) for line in lines]


_wrapped = st.one_of(
    st.binary(min_size=12, max_size=12).map(lambda b: {"$oid": b.hex()}),
    st.sampled_from(["56e1fc72e0c917e9c47141zz", "56e1fc72e0c917e9c47141", "56e1fc72 0c917e9c4714161"]).map(lambda h: {"$oid": h}),
    st.integers(_MINUTE - 90_000, _MINUTE + 90_000).map(lambda ms: {"$date": _iso(ms)}),
    st.integers(-(2**63), 2**63 - 1).map(lambda n: {"$numberLong": str(n)}),
    st.just({"$date": "2025-11-24T17:00:00.000+01:00"}),
    st.just({"$date": {"$numberLong": "5"}}),
    st.just({"$oid": 5}),
    st.just({"plain": "one field"}),
    st.just({"$date": "2025-11-24T16:00:00.000Z", "extra": 1}),
    st.just({"$unknown": 1}),
    st.just({"\\u0024date": "2025-11-24T16:00:00.000Z"}),  # becomes an escaped "$" in the text
    st.just({"nested": {"$oid": "56e1fc72e0c917e9c4714161"}}),
    st.just("a $ in a string"),
    st.just(7),
)
_fields = st.sampled_from(["_id", "at", "updatedAt", "expiresAt", "n", "$top"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.dictionaries(_fields, _wrapped, max_size=5), min_size=1, max_size=10))
def test_shapes_changing_from_line_to_line_equal_the_hooked_parse(docs: list) -> None:
    """The previous line's shape is only a hint: fields missing, reordered, no longer wrappers,
    wrappers the fast path does not take, extra `$` anywhere - every line as the hooked parse has it."""
    lines = [json.dumps(d).replace("\\\\u0024", "\\u0024").encode() + b"\n" for d in docs]
    expected = [_hooked(line) for line in lines]
    assert _by_line_reader(lines) == expected
    # the block reader (for checked files) hands its block parse to the same line loop
    import io

    errors: list = []
    checked = list(ejson.decode_checked_lines(io.BytesIO(b"".join(lines)), lambda n, why: errors.append(n)))
    assert [comparable(d) for d in checked] == [x for x in expected if x[0] != "error"]
    assert errors == [n for n, x in enumerate(expected, 1) if x[0] == "error"]


def test_an_escaped_dollar_key_is_a_wrapper_as_in_the_hooked_parse() -> None:
    line = b'{"_id": {"$oid": "56e1fc72e0c917e9c4714161"}, "at": {"\\u0024date": "2012-12-24T12:15:30.501Z"}}\n'
    doc = ejson.decode_line(line)
    assert doc["at"] == v.DateTime(1356351330501) and doc == ejson.loads_document(line)


def test_damaged_lines_after_a_shape_is_known_are_reported_on_their_lines() -> None:
    good = b'{"_id": {"$oid": "56e1fc72e0c917e9c4714161"}, "at": {"$date": "2025-11-24T16:00:01.000Z"}}\n'
    bad = [
        b'{"_id": {"$oid": "56e1fc72e0c917e9c47141zz"}, "at": {"$date": "2025-11-24T16:00:01.000Z"}}\n',
        b'{"_id": {"$oid": "56e1fc72e0c917e9c4714161"}, "at": {"$date": "2025-02-29T16:00:01.000Z"}}\n',
        b'{"_id": {"$oid": "56e1fc72e0c917e9c4714161"}, "at": {"$date": "2025-11-24T16:00:01.000Z"}} x\n',
        b'{"_id": {"$oid": "56e1fc72e0c917e9c4714161"}, "at": {"$date": "2025-11-24T16:00:01.000Z", "x": 1}}\n',
        b'{"_id": {"$oid": "56e1fc72e0c917e9c4714161"}, "at": {"$date": "2025-11-24T16:00:01.000Z"}\n',
    ]
    lines = [good, good] + [line for b in bad for line in (b, good)]
    got = _by_line_reader(lines)
    assert [n for n, x in enumerate(got, 1) if x[0] == "error"] == [3, 5, 7, 9, 11]
    assert got == [_hooked(line) for line in lines]


def test_slotted_values_still_pickle_and_copy() -> None:
    import copy
    import pickle

    for value in (v.DateTime(-5), v.ObjectId(bytes(range(12)))):
        assert pickle.loads(pickle.dumps(value)) == value and copy.deepcopy(value) == value
        with pytest.raises(AttributeError):
            value.__dict__  # noqa: B018 - slots: no per-instance dict


def test_the_minute_cache_stays_bounded_and_right_past_its_size() -> None:
    """Dates far apart (a cache miss each, clears on the way) give what the hooked parse gives."""
    minutes = [_MINUTE + 60_000 * 7919 * i for i in range(ejson_dates._MINUTES_MAX + 500)]
    lines = [json.dumps({"at": {"$date": _iso(ms + i % 60_000)}}).encode() + b"\n" for i, ms in enumerate(minutes + minutes[:50])]
    docs = list(ejson.decode_lines(lines, lambda n, why: pytest.fail(f"{n}: {why}")))
    assert [d["at"].millis for d in docs] == [ms + i % 60_000 for i, ms in enumerate(minutes + minutes[:50])]
    assert docs == [ejson.loads_document(line) for line in lines]
    assert 0 < len(ejson_dates._MINUTES) <= ejson_dates._MINUTES_MAX
