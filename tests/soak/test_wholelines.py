"""wholelines.line_index against JSON itself: no line it lets through as whole is anything but one
record with Outcome "ok", and it counts the lines as splitting at newlines does."""
from __future__ import annotations

import json
from typing import Any, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cutover.soak import wholelines
from tests.support.soak_records import T0, js, logpush, timing


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts as a fresh process does: no line end learned (earlier tests' ends would
    otherwise leave this test's lines unproven, read by JSON, and the proof untested)."""
    monkeypatch.setattr(wholelines, "_SHAPES", [])
    monkeypatch.setattr(wholelines, "_HEADS", [])


def _truth(line: bytes) -> bool:
    """One whole record with Outcome "ok" (what a line must be for the fast path to take it)."""
    try:
        value = json.loads(line)
    except ValueError:
        return False
    return isinstance(value, dict) and value.get("Outcome") == "ok"


def _lines(data: bytes) -> List[bytes]:
    lines = data.split(b"\n")
    if not lines[-1]:
        lines.pop()
    return lines


def _check(data: bytes) -> List[int]:
    if not data:  # (scan_block never asks about no bytes)
        return []
    count, odd = wholelines.line_index(data)
    lines = _lines(data)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    assert count == len(lines)
    assert set(odd) <= set(starts[:-1]) and odd == sorted(odd)
    odd_set = set(odd)
    for start, line in zip(starts, lines):
        if start not in odd_set:
            assert _truth(line), line  # let through as whole: it is one
    return [starts.index(at) for at in odd]


@st.composite
def line(draw: Any) -> bytes:
    ts = T0 + draw(st.integers(0, 10**7))
    record = logpush([[js(timing(draw(st.sampled_from(["/a", "/b"])), float(draw(st.integers(0, 9999)))))]], ts=ts)
    record["WallTimeMs"] = draw(st.sampled_from([0, 7, 130, 10**9]))
    record["ScriptVersion"] = {"Id": draw(st.sampled_from(["v1", "v1", "v1", "v2"])), "Message": draw(st.sampled_from(["x", "a}}", "{"]))}
    record["Outcome"] = draw(st.sampled_from(["ok"] * 6 + ["exceededCpu"]))
    if draw(st.integers(0, 9)) == 0:
        record["Event"]["Outcome"] = "ok"  # a second Outcome key, nested
    text = js(record).encode()
    if draw(st.integers(0, 9)) == 0:
        record["Logs"].append({"Message": [{"WallTimeMs": 5}]})  # a nested object that ends like a record
        text = js(record).encode()
    twist = draw(st.sampled_from(["none"] * 6 + ["cut", "cutbrace", "blank", "two", "glued", "zero", "crlf", "junk"]))
    if twist == "cut":
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif twist == "cutbrace":  # cut right after one of its "}" (not the last): ends like a record
        closes = [i + 1 for i, byte in enumerate(text[:-1]) if byte == ord("}")]
        text = text[: draw(st.sampled_from(closes))]
    elif twist == "blank":
        text = draw(st.sampled_from([b"", b" ", b"{}"]))
    elif twist == "two":
        text = text + text
    elif twist == "glued":  # a record cut short, the next one written right after it
        text = text[: draw(st.integers(1, len(text) - 1))] + text
    elif twist == "zero":  # a leading zero: not JSON
        at = text.rindex(b'"WallTimeMs":') + len(b'"WallTimeMs":')  # the record's own
        text = text[:at] + b"0" + text[at:]
    elif twist == "crlf":
        text += b"\r"
    elif twist == "junk":
        text = b"x" + text
    return text


@settings(max_examples=400, deadline=None)
@given(st.lists(line(), min_size=1, max_size=30), st.booleans())
def test_no_line_is_let_through_that_is_not_one_ok_record(lines: List[bytes], newline_at_end: bool) -> None:
    _check(b"\n".join(lines) + (b"\n" if newline_at_end else b""))


def test_a_doubled_line_and_a_line_cut_after_a_nested_record_end_are_not_whole() -> None:
    """A line holding two records (one record end too many) and a line cut right after a nested
    object that ends like a record (one too few) in the same block: the totals match, the lines do not."""
    good = [js(logpush([[js(timing("/s", float(i)))]], ts=T0 + i)).encode() for i in range(6)]
    nested = logpush([[{"WallTimeMs": 5}], [js(timing("/s", 9.0))]], ts=T0)
    text = js(nested).encode()
    cut = text[: text.index(b'{"WallTimeMs":5}') + len(b'{"WallTimeMs":5}')]
    lines = [good[0], good[1] + good[2], good[3], cut, good[4], good[5]]
    assert _check(b"\n".join(lines) + b"\n") == [1, 3]
    lines = [good[0], good[1] + good[2], good[3], good[4][:-1] + b"}", good[5]]  # no cut: the doubled line alone
    assert _check(b"\n".join(lines) + b"\n") == [1]


def test_whole_lines_are_proven_without_looking_at_them_one_by_one(monkeypatch: pytest.MonkeyPatch) -> None:
    good = [js(logpush([[js(timing("/s", float(i)))]], ts=T0 + i)).encode() for i in range(50)]
    _check(b"\n".join(good) + b"\n")  # learns the line end
    seen: List[bytes] = []
    real = wholelines._whole_record
    monkeypatch.setattr(wholelines, "_whole_record", lambda text: seen.append(text) or real(text))
    assert _check(b"\n".join(good) + b"\n") == [] and seen == []
    cut = list(good)
    cut[20] = cut[20][:100]
    assert _check(b"\n".join(cut) + b"\n") == [20]
    assert seen == [cut[20]]  # only the cut line is read as JSON: its neighbours are proven as the block's lines are


def test_a_new_line_end_is_learned_and_both_stay_exact() -> None:
    def lines(script: str) -> List[bytes]:
        out = []
        for i in range(40):
            record = logpush([[js(timing("/s", float(i)))]], ts=T0 + i)
            record["ScriptVersion"] = {"Id": script}
            out.append(js(record).encode())
        return out

    assert _check(b"\n".join(lines("v1")) + b"\n") == []
    assert _check(b"\n".join(lines("v2")) + b"\n") == []  # a deploy: another end, learned
    assert wholelines._SHAPES[0].endswith(b'"v2"},"WallTimeMs":')
    mixed = [a if i % 2 else b for i, (a, b) in enumerate(zip(lines("v1"), lines("v2")))]
    assert _check(b"\n".join(mixed) + b"\n") == []  # slower (one by one), still exact


@pytest.mark.parametrize("end", [b"", b"\n"])
def test_a_line_cut_right_after_a_nested_ok_outcome_is_not_whole(end: bytes) -> None:
    """A line whose only Outcome key is a nested one, cut right after that object's close, ends
    like a record's end read from its last Outcome on; JSON says it is not one."""
    good = js(logpush([[js(timing("/s", 1.0))]], ts=T0)).encode()
    nested = logpush([[{"Outcome": "ok"}], [js(timing("/s", 2.0))]], ts=T0)
    nested["Event"]["Outcome"] = "ok"
    for text in (js(nested).encode(),):
        for cut_after in (b'"Outcome":"ok"}', b'"Outcome":"ok"}]'):
            cut = text[: text.index(cut_after) + len(cut_after)]
            assert _check(good + b"\n" + cut + end) == [1]
            assert _check(cut + b"\n" + good + end) == [0]


def test_a_fresh_process_learns_the_end_from_the_first_records_not_the_whole_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before its first block a process knows no line end: it learns one from the block's first
    record, then proves the rest of the block by pieces (not every line read as JSON)."""
    good = [js(logpush([[js(timing("/s", float(i)))]], ts=T0 + i)).encode() for i in range(50)]
    seen: List[bytes] = []
    real = wholelines._whole_record
    monkeypatch.setattr(wholelines, "_whole_record", lambda text: seen.append(text) or real(text))
    assert _check(b"\n".join(good) + b"\n") == []
    assert seen == [good[0]] and len(wholelines._SHAPES) == 1


def test_two_learned_heads_each_prove_their_lines_and_a_glued_record_is_still_found() -> None:
    """Records of two field sets (one without CPUTimeMs) interleaved: both heads are learned and
    both kinds of line are proven; a record glued to a cut one is found whichever head it has."""
    def record(i: int) -> bytes:
        rec = logpush([[js(timing("/s", float(i)))]], ts=T0 + i)
        if i % 2:
            del rec["CPUTimeMs"]
        return js(rec).encode()

    good = [record(i) for i in range(40)]
    _check(b"\n".join(good) + b"\n")  # learns
    assert len(wholelines._HEADS) == 2
    seen: List[bytes] = []
    real = wholelines._whole_record
    try:
        wholelines._whole_record = lambda text: seen.append(text) or real(text)  # type: ignore[assignment]
        assert _check(b"\n".join(good) + b"\n") == [] and seen == []
    finally:
        wholelines._whole_record = real  # type: ignore[assignment]
    for cut in (good[10][:60], good[11][:60]):
        glued = good[:5] + [cut + good[5]] + good[6:]
        assert _check(b"\n".join(glued) + b"\n") == [5]
