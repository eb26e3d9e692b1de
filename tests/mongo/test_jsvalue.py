"""jsvalue against the real thing: node's JSON.stringify, on tables and on generated values."""
from __future__ import annotations

import json
import math
import subprocess
from typing import Any, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cutover.mongo import jsvalue
from cutover.mongo import values as v
from tests.support.tools import node_bin

# node reads tagged JSON lines (NaN/Infinity cannot be JSON) and prints JSON.stringify of each.
_NODE = r"""
const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter(Boolean);
const revive = (k, x) => (x && typeof x === 'object' && !Array.isArray(x) && '$num' in x && Object.keys(x).length === 1)
  ? Number(x.$num) : x;
for (const line of lines) process.stdout.write(JSON.stringify(JSON.parse(line, revive)) + '\n');
"""


def _tag(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return {"$num": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, dict):
        return {k: _tag(x) for k, x in value.items()}
    if isinstance(value, list):
        return [_tag(x) for x in value]
    return value


def node_stringify(values: List[Any]) -> List[str]:
    text = "".join(json.dumps(_tag(x), ensure_ascii=True) + "\n" for x in values)
    out = subprocess.run([node_bin(), "-e", _NODE], input=text.encode("ascii"), capture_output=True, timeout=60, check=True)
    # node writes lone surrogates as \uXXXX escapes, so its output is valid UTF-8.
    return out.stdout.decode("utf-8").split("\n")[:-1]


@pytest.mark.parametrize(
    "value, expected",
    [
        (1, "1"),
        (1.0, "1"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1.5e-7, "1.5e-7"),
        (1e-6, "0.000001"),
        (0.1 + 0.2, "0.30000000000000004"),
        (123.456, "123.456"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (float("nan"), "null"),
        (float("inf"), "null"),
        (float("-inf"), "null"),
        (-2.5e-10, "-2.5e-10"),
        (1e16, "10000000000000000"),
    ],
)
def test_numbers_table(value: float, expected: str) -> None:
    assert jsvalue.stringify(value) == expected


def test_strings_and_key_order() -> None:
    assert jsvalue.stringify("a\"b\\c\n\t\x01\x7fé😀\u2028") == '"a\\"b\\\\c\\n\\t\\u0001\x7fé😀\u2028"'
    assert jsvalue.stringify("\ud800x\udfff") == '"\\ud800x\\udfff"'
    assert jsvalue.stringify({"b": 1, "2": 2, "1": 3, "01": 4, "4294967295": 5, "4294967294": 6}) == (
        '{"1":3,"2":2,"4294967294":6,"b":1,"01":4,"4294967295":5}'
    )


def test_bson_types() -> None:
    oid = v.ObjectId.from_hex("5f1d2c3b4a5f1d2c3b4a5f1d")
    doc = {
        "_id": oid,
        "at": v.DateTime(1_700_000_000_123),
        "n": v.Int64(2**62),
        "d": v.Decimal128("1.10"),
        "b": v.Binary(b"\x00\xff", 0),
        "u": v.Binary(bytes(range(16)), 4),
        "s": v.Symbol("sym"),
        "un": v.Undefined,
        "re": v.Regex("^a", "i"),
        "ts": v.Timestamp(5, 6),
        "mk": [v.MinKey, v.MaxKey],
        "far": v.DateTime(8_640_000_000_000_001),
        "ref": v.DBRef("users", oid, "bot"),
    }
    assert jsvalue.stringify(doc) == (
        '{"_id":"5f1d2c3b4a5f1d2c3b4a5f1d","at":"2023-11-14T22:13:20.123Z","n":4611686018427387904,'
        '"d":"1.10","b":"AP8=","u":"00010203-0405-0607-0809-0a0b0c0d0e0f","s":"sym","un":null,'
        '"re":{"$regularExpression":{"pattern":"^a","options":"i"}},"ts":{"$timestamp":{"t":5,"i":6}},'
        '"mk":[{"$minKey":1},{"$maxKey":1}],"far":null,'
        '"ref":{"$ref":"users","$id":"5f1d2c3b4a5f1d2c3b4a5f1d","$db":"bot"}}'
    )


def test_dates_match_node() -> None:
    millis = [0, -1, 1_700_000_000_123, -62_198_755_200_000, 253_402_300_800_000, 8_640_000_000_000_000,
              -8_640_000_000_000_000]
    node_out = subprocess.run(
        [node_bin(), "-e", f"for (const m of {json.dumps(millis)}) console.log(JSON.stringify(new Date(m)))"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split("\n")[:-1]
    assert [jsvalue.stringify(v.DateTime(m)) for m in millis] == node_out


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(min_value=-1e-5, max_value=1e-5)
    | st.text()
    # lone and paired surrogates, which JSON.stringify escapes (well-formed JSON.stringify)
    | st.text(st.characters(min_codepoint=0xD7F0, max_codepoint=0xE010, blacklist_categories=()), max_size=4)
    | st.sampled_from(["0", "1", "10", "01", "4294967294", "4294967295", "-1", "1.5"])
)
_json_values = st.recursive(
    _json_scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=6) | st.sampled_from(["0", "7", "01", "4294967295", "42"]), children, max_size=6),
    max_leaves=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_json_values, min_size=1, max_size=40))
def test_matches_node_json_stringify(values: List[Any]) -> None:
    assert [jsvalue.stringify(x) for x in values] == node_stringify(values)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1, max_size=200))
def test_number_formatting_matches_node(numbers: List[float]) -> None:
    assert [jsvalue.js_number(x) for x in numbers] == node_stringify(numbers)
