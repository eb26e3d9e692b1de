"""The stream decoder gives the same values whatever its block size: a value, or a decode error,
cut by a block boundary is read on, not counted malformed (fastpath's regions rely on it)."""
from __future__ import annotations

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from cutover.soak import jsonstream
from tests.support.soak_records import js, logpush, timing

RECORD = js(logpush([[js(timing())]]))
PIECES = [RECORD, "{\"a\":\n{\"b\":1}\n}", RECORD[:40], RECORD[:-1], json.dumps(logpush([[timing()]]), indent=2), "[", "]", ",", " ", "\n", "\n\n",
          "true", "tru", "-Infinity", "-Infinit", "12345", "1e", '"\\u00e9"', '"\\u00', '"abc', "{", "}", '{"a":', "\ufeff", "null"]


def _decoded(data: bytes, block: int) -> list:
    return [("MALFORMED" if v is jsonstream.MALFORMED else v) for v in jsonstream.values(io.BytesIO(data), block=block)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12), st.sampled_from([1, 2, 3, 5, 16, 64, 300]))
def test_values_do_not_depend_on_the_block_size(pieces: list, block: int) -> None:
    data = "".join(pieces).encode("utf-8")
    assert _decoded(data, block) == _decoded(data, 1 << 20)


def test_a_literal_cut_by_a_block_boundary_is_read_on() -> None:
    data = b'{"a":1}\n[true,\nfalse]\n'
    for block in range(1, len(data) + 1):
        assert _decoded(data, block) == [{"a": 1}, True, False], block


def test_a_value_with_a_line_starting_with_a_brace_inside_is_read_whole_across_blocks() -> None:
    """Cut after the inner line, the first part fails only because the text ends there: not malformed."""
    data = b'{"a":\n{"b":1}\n}\n{"c":2}\n'
    for block in range(1, len(data) + 1):
        assert _decoded(data, block) == [{"a": {"b": 1}}, {"c": 2}], block



def test_a_value_nested_deeper_than_the_recursion_limit_is_one_malformed_value_not_a_crash() -> None:
    """5,000 nested objects exceed what the JSON decoder can recurse into (RecursionError): that
    line is one malformed value and the reading goes on (also with the rest of the input far away:
    no refill hunting for the value's end). A deep array is only its brackets to the decoder."""
    deep = "{\"a\":" * 5000 + "1" + "}" * 5000
    data = "\n".join([RECORD, deep, "[" * 5000 + "]" * 5000, RECORD]).encode() + b"\n"
    for block in (64, 1 << 20):
        got = _decoded(data, block)
        assert got == [json.loads(RECORD), "MALFORMED", json.loads(RECORD)], block
