"""verify's own idea of a KV value agrees with what backfill-kv writes, and is not fooled by a
value whose types changed (inputs generated, not designed)."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from cutover.kv import record as kvrecord
from cutover.mongo import values as v
from cutover.verify.compare import KVEntry, compare_kv
from cutover.verify.kv_expected import expected_kv

SPEC = kvrecord.ModuleSpec("m", "c", "ns", metadata_field="meta")

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8), st.builds(v.Int64, st.integers(-(2**63), 2**63 - 1)),
    st.builds(v.DateTime, st.integers(-(10**13), 10**13)),
)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=4), inner, max_size=4)),
                           max_leaves=12)


def _flip_types(value):
    """The writer's blind spot made concrete: bools written as 0/1, and the reverse."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, list):
        return [_flip_types(x) for x in value]
    if isinstance(value, dict):
        return {k: _flip_types(x) for k, x in value.items()}
    return value


@given(value=st.dictionaries(st.text(max_size=4), json_values, min_size=1, max_size=4), meta=json_values)
def test_what_the_writer_stores_is_equal_and_a_type_flip_is_not(value, meta):
    doc = {"_id": "k", "value": value, "meta": meta}
    record = kvrecord.map_document(doc, SPEC, 0)
    assert isinstance(record, kvrecord.KVRecord)
    expected = expected_kv([doc], SPEC, 0).entries
    stored_meta = json.loads(record.metadata) if record.metadata else None
    stored = {"k": KVEntry(record.value.decode("utf-8", "surrogatepass"), None, stored_meta)}
    assert compare_kv(expected, {}, stored, 300).ok
    stored_value = json.loads(record.value)
    flipped = _flip_types(stored_value)
    if any(type(a) is not type(b) for a, b in _pairs(stored_value, flipped)):
        assert not compare_kv(expected, {}, {"k": KVEntry(json.dumps(flipped), None, stored_meta)}, 300).ok


def _pairs(a, b):
    if isinstance(a, dict):
        for k in a:
            yield from _pairs(a[k], b[k])
    elif isinstance(a, list):
        for x, y in zip(a, b):
            yield from _pairs(x, y)
    else:
        yield a, b
