"""BSON against the shared bson-corpus vectors and against pymongo's bson on generated documents."""
from __future__ import annotations

import json
import math
from typing import Any, Iterator, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cutover.mongo import values as v
from cutover.mongo.native import bson as ours
from tests.support.pymongo_compat import key, pymongo_decode, pymongo_encode, pymongo_view
from tests.support.tools import SHARED

CORPUS = SHARED / "testdata" / "bson-corpus"


def _cases(section: str) -> Iterator[Tuple[str, dict]]:
    # Collected at import time; the tests below skip through shared_testdata when ../shared is absent.
    if not CORPUS.exists():
        return
    for path in sorted(CORPUS.glob("*.json")):
        spec = json.loads(path.read_text())
        for case in spec.get(section, []):
            yield f"{path.stem}: {case['description']}", dict(case, _spec=spec)


def _params(section: str) -> List[Any]:
    found = [pytest.param(case, id=name) for name, case in _cases(section)]
    return found or [pytest.param(None, id="corpus-absent")]


def _corpus(case: dict | None) -> dict:
    from tests.support.tools import shared_testdata

    shared_testdata("bson-corpus")
    assert case is not None
    return case


@pytest.mark.parametrize("case", _params("valid"))
def test_corpus_valid_round_trip(case: dict | None) -> None:
    case = _corpus(case)
    canonical = bytes.fromhex(case["canonical_bson"])
    doc = ours.decode(canonical)
    if not case.get("lossy"):
        assert ours.encode(doc) == canonical
    if "degenerate_bson" in case:
        degenerate = ours.decode(bytes.fromhex(case["degenerate_bson"]))
        if not case.get("lossy"):
            assert ours.encode(degenerate) == canonical
    # Same values as pymongo reads from the same bytes.
    assert key(pymongo_view(doc)) == key(pymongo_decode(canonical))


@pytest.mark.parametrize("case", _params("valid"))
def test_corpus_decimal128_canonical_string(case: dict | None) -> None:
    case = _corpus(case)
    if case["_spec"]["bson_type"] != "0x13":
        return
    expected = json.loads(case["canonical_extjson"])["d"]["$numberDecimal"]
    assert ours.decode(bytes.fromhex(case["canonical_bson"]))["d"] == v.Decimal128(expected)


@pytest.mark.parametrize("case", _params("decodeErrors"))
def test_corpus_decode_errors(case: dict | None) -> None:
    case = _corpus(case)
    with pytest.raises(ours.BSONError):
        ours.decode(bytes.fromhex(case["bson"]))


@pytest.mark.parametrize("case", _params("parseErrors"))
def test_corpus_decimal128_parse_errors(case: dict | None) -> None:
    case = _corpus(case)
    if case["_spec"]["bson_type"] != "0x13":
        return  # the other parse errors are Extended JSON cases, not BSON
    with pytest.raises(ours.BSONError):
        ours.decimal128_from_string(case["string"])


def test_int_widths_and_unencodable() -> None:
    doc = ours.decode(ours.encode({"a": 1, "b": 2**31, "c": v.Int64(1), "t": True}))
    assert key(doc) == key({"a": 1, "b": v.Int64(2**31), "c": v.Int64(1), "t": True})
    with pytest.raises(ours.BSONError):
        ours.encode({"a": 2**63})
    with pytest.raises(ours.BSONError):
        ours.encode({"a": object()})
    with pytest.raises(ours.BSONError):
        ours.encode({"a\x00b": 1})


# ---------------------------------------------------------------- generated documents

def _ok128(d: v.Decimal128) -> bool:
    try:
        return ours.decode(ours.encode({"d": d}))["d"] == d
    except ours.BSONError:
        return False


_keys = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=8)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**31), 2**31 - 1),
    st.integers(-(2**63), 2**63 - 1).map(v.Int64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.binary(min_size=12, max_size=12).map(v.ObjectId),
    st.integers(-(2**63), 2**63 - 1).map(v.DateTime),
    st.tuples(st.binary(max_size=20), st.sampled_from([0, 1, 3, 4, 5, 0x80])).map(lambda t: v.Binary(*t)),
    # Decimals that decimal128 holds exactly, in canonical spelling (what a server would send).
    st.decimals(allow_nan=False).map(lambda d: v.Decimal128(str(d))).filter(_ok128),
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)).map(lambda t: v.Timestamp(*t)),
    st.tuples(_keys, st.sampled_from(["", "i", "im", "imsx", "ilmsux"])).map(lambda t: v.Regex(*t)),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=10).map(v.Code),
    st.sampled_from([v.MinKey, v.MaxKey]),
)


_documents = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=4)),
    max_leaves=20,
).map(lambda x: {"v": x})


def _canonical_decimals(doc: Any) -> Any:
    # Regex flags come back sorted; everything else round-trips as generated.
    return ours.decode(ours.encode(doc))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
def test_ours_encode_pymongo_decode(doc: dict) -> None:
    data = ours.encode(doc)
    assert key(pymongo_decode(data)) == key(pymongo_view(_canonical_decimals(doc)))
    assert key(ours.decode(data)) == key(_canonical_decimals(doc))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents)
def test_pymongo_encode_ours_decode(doc: dict) -> None:
    data = pymongo_encode(doc)
    assert key(ours.decode(data)) == key(pymongo_view(_canonical_decimals(doc)))
    assert ours.encode(ours.decode(data)) == data


def test_nan_key_is_stable() -> None:
    assert key({"x": math.nan}) == key({"x": float("nan")})
