from __future__ import annotations

import pytest

from cutover.verify.compare import KVEntry, compare_kv, compare_rows

NOW = 1_800_000_000.0
BASE = {"a": KVEntry('{"x":1}', NOW + 3600), "b": KVEntry("plain", None), "c": KVEntry(b"\xff\x00", None, {"m": 1})}


def counts(report):
    return {k: v for k, v in report.counts(True).items() if v}


@pytest.mark.parametrize(
    ("actual", "expired", "want"),
    [
        (dict(BASE), {}, {"equal": 3}),
        ({k: v for k, v in BASE.items() if k != "b"}, {}, {"equal": 2, "missing": 1}),
        ({**BASE, "z": KVEntry("new")}, {}, {"equal": 3, "extra": 1}),
        ({**BASE, "b": KVEntry("changed")}, {}, {"equal": 2, "different": 1}),
        ({**BASE, "a": KVEntry('{"x":1}', NOW + 3600 + 301)}, {}, {"equal": 2, "different": 1, "ttl_drift": 1}),
        ({**BASE, "a": KVEntry('{"x":1}', NOW + 3600 + 299)}, {}, {"equal": 3}),
        ({**BASE, "a": KVEntry('{"x":1}', None)}, {}, {"equal": 2, "different": 1}),
        ({**BASE, "c": KVEntry(b"\xff\x00", None, {"m": 2})}, {}, {"equal": 2, "different": 1}),
        ({**BASE, "dead": KVEntry("v", None)}, {"dead": NOW - 10}, {"equal": 3, "resurrected": 1}),
        ({**BASE, "dead": KVEntry("v", NOW + 7200)}, {"dead": NOW - 10}, {"equal": 3, "resurrected": 1}),
        # KV's 60 s minimum TTL lets a key outlive its document a little: not a resurrection
        ({**BASE, "dead": KVEntry("v", NOW + 50)}, {"dead": NOW - 10}, {"equal": 3}),
        # the same JSON document spelled differently is what a Worker reads alike
        ({**BASE, "a": KVEntry('{ "x": 1 }', NOW + 3600)}, {}, {"equal": 3}),
    ],
)
def test_compare_kv(actual, expired, want):
    report = compare_kv(BASE, expired, actual, ttl_tolerance=300)
    assert counts(report) == want
    assert report.ok == (set(want) <= {"equal"})


def test_examples_name_key_and_field():
    report = compare_kv(BASE, {}, {**BASE, "b": KVEntry("changed")}, 300)
    assert report.examples[0].line() == "b: value: expected 'plain', got 'changed'"


def test_compare_rows():
    expected = {1: {"id": 1, "qty": 0.5, "note": "a", "closed": True}, 2: {"id": 2, "qty": 2.0, "note": None, "closed": False}}
    same = {1: {"id": 1, "qty": 0.5, "note": "a", "closed": 1, "extra_col": "x"}, 2: {"id": 2, "qty": 2, "note": None, "closed": 0}}
    assert compare_rows(expected, same).counts(False) == {"equal": 2, "missing": 0, "extra": 0, "different": 0}
    changed = {1: {**same[1], "note": "b"}, 3: {"id": 3}}
    report = compare_rows(expected, changed)
    assert report.counts(False) == {"equal": 0, "missing": 1, "extra": 1, "different": 1}
    assert any(d.field == "note" and d.expected == "a" and d.actual == "b" for d in report.examples)


@pytest.mark.parametrize(
    ("stored", "same"),
    [
        ('{"admin":1}', False),  # Mongo true, KV a number: a Worker's `if (v.admin === true)` differs
        ('{"off":false,"n":1,"admin":true}', True),
        ('{"admin":true,"n":1.0,"off":false}', True),
        ('{"admin":true,"n":1,"off":0}', False),
        ('{"admin":true,"n":true,"off":false}', False),
        ('{"admin":true,"n":"1","off":false}', False),
        ('{"admin":null,"n":1,"off":false}', False),
        ('[true]', False),
    ],
)
def test_json_values_compare_with_types(stored, same):
    want = KVEntry('{"admin":true,"n":1,"off":false}', None, as_json={"admin": True, "n": 1, "off": False})
    report = compare_kv({"k": want}, {}, {"k": KVEntry(stored)}, 300)
    assert report.ok is same


@pytest.mark.parametrize(
    ("expected", "stored", "same"),
    [(1, "1.0", True), (1.0, "1", True), (0.5, "0.5", True), (True, "1", False), (False, "0", False),
     (0, "false", False), (9007199254740993, "9007199254740992", False), (None, "0", False), ([1], "[1.0]", True)],
)
def test_numbers_are_compared_as_numbers_and_bools_as_bools(expected, stored, same):
    report = compare_kv({"k": KVEntry("x", None, as_json=expected)}, {}, {"k": KVEntry(stored)}, 300)
    assert report.ok is same


def test_metadata_is_compared_with_types():
    want = {"k": KVEntry("v", None, {"admin": True})}
    assert not compare_kv(want, {}, {"k": KVEntry("v", None, {"admin": 1})}, 300).ok
    assert compare_kv(want, {}, {"k": KVEntry("v", None, {"admin": True})}, 300).ok
    assert not compare_kv({"k": KVEntry("v", None, {"n": 0})}, {}, {"k": KVEntry("v", None, {"n": False})}, 300).ok


def test_a_key_that_expired_before_it_was_read_is_not_missing():
    want = {"soon": KVEntry("v", NOW + 30), "later": KVEntry("w", NOW + 3600)}
    report = compare_kv(want, {}, {"later": KVEntry("w", NOW + 3600)}, 300, read_at=NOW + 31)
    assert report.ok and report.expiring == 1 and report.equal == 1
    report = compare_kv(want, {}, {"later": KVEntry("w", NOW + 3600)}, 300, read_at=NOW + 29)
    assert not report.ok and report.missing == 1
