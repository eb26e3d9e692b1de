"""The regex fast path and full JSON parsing give identical tallies (also over byte ranges in processes)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cutover.soak import analyze as analyze_mod
from cutover.soak import fastlines, fastpath
from cutover.soak.analyze import Options, analyze
from cutover.soak.model import Patterns, Tally
from cutover.soak.report import counts
from cutover.soak.rules import Counter
from tests.support.soak_records import T0, js, logpush, timing


def snapshot(tally: Tally) -> dict:
    tally.settle()
    return {
        "groups": {key: list(g.settled) for key, g in tally.groups.items() if len(g)},
        "hourly": {key: list(v) for key, v in tally.hourly.items() if len(v)},
        "n": (tally.records, tally.cmd_timing, tally.cold_unknown, tally.dual_write_failures, tally.mongo_connection_errors,
              tally.malformed, tally.unrecognized, tally.outside_window),
        "outcomes": dict(tally.outcome_counts()),
        "span": (tally.first_ms, tally.last_ms),
    }


cmds = st.one_of(st.sampled_from(["/start", "/help", "callback_query", "message"]),
                 st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=8))
durations = st.one_of(st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False).map(lambda f: round(f, 3)))


@st.composite
def message(draw: Any) -> Any:
    kind = draw(st.sampled_from(["timing", "timing", "timing_obj", "timing_err", "request", "text", "dual_event", "mongo_event", "other_json"]))
    ev = timing(draw(cmds), draw(durations), draw(st.sampled_from([True, False, None])), draw(st.integers(0, 10**7)))
    if kind == "timing":
        return js(ev)
    if kind == "timing_obj":
        return ev
    if kind == "timing_err":
        return js(timing(ev["cmd"], ev["durationMs"], ev.get("cold"), ok=False, error="TypeError"))
    if kind == "request":
        return js({"event": "request", "cold": draw(st.booleans()), "isolateAgeMs": 3})
    if kind == "dual_event":
        return js({"event": "dual_write_secondary_failure", "error": "dual-write failed"})
    if kind == "mongo_event":
        return {"event": "mongo_connection_error"}
    if kind == "other_json":
        return js({"level": "info", "msg": draw(st.sampled_from(["ok", "Dual write error", "usual stuff"]))})
    return draw(st.sampled_from(["dual-write to KV failed", "DUAL_WRITE ERROR", "Dual write: error", "MongoNetworkError: reset",
                                 "MongoServerSelectionError", "mongo is fine", "hello", "équipe dual-write fail"]))


@st.composite
def record(draw: Any) -> dict:
    entries = draw(st.lists(st.lists(message(), min_size=1, max_size=2), max_size=3))
    outcome = draw(st.sampled_from(["ok", "ok", "ok", "exceededCpu", "exception", "canceled"]))
    exceptions = draw(st.sampled_from([[], [{"Name": "MongoTopologyClosedError", "Message": "closed", "TimestampMs": T0 + 9}],
                                       [{"Name": "Error", "Message": "boom", "TimestampMs": T0 + 9}]]))
    return logpush(entries, outcome=outcome, ts=T0 + draw(st.integers(0, 3 * 3_600_000)), exceptions=exceptions)


@st.composite
def plain_record(draw: Any) -> dict:
    """The common shape the fast path takes without JSON: request + one timing.js string, outcome ok."""
    ev = timing(draw(cmds), draw(durations), draw(st.sampled_from([True, False, None])), draw(st.integers(0, 10**7)))
    extra = draw(st.sampled_from([{}, {"ok": False, "error": "TypeError"}]))
    if extra:
        ev = timing(ev["cmd"], ev["durationMs"], ev.get("cold"), **extra)
    return logpush([[js({"event": "request", "cold": True})], [js(ev)]], ts=T0 + draw(st.integers(0, 3 * 3_600_000)))


def both(path: Path, **kw: Any) -> tuple:
    fast = analyze([str(path)], Options(fast=True, jobs=1, **kw)).tally
    exact = analyze([str(path)], Options(fast=False, **kw)).tally
    return snapshot(fast), snapshot(exact)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(record(), plain_record(), plain_record()), min_size=1, max_size=25), st.booleans(), st.booleans())
def test_fast_path_equals_json_path(tmp_path: Path, records: List[dict], truncate: bool, ascii_only: bool) -> None:
    text = "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=ascii_only) + "\n" for r in records)
    if truncate:
        text = text[: len(text) - 7]
    path = tmp_path / "lp.ndjson"
    path.write_text(text, encoding="utf-8")
    fast, exact = both(path)
    assert fast == exact
    windowed_fast, windowed_exact = both(path, since_ms=T0 + 3_600_000, until_ms=T0 + 2 * 3_600_000)
    assert windowed_fast == windowed_exact


@pytest.mark.parametrize("form", ["string", "object", "pretty-next"])
def test_a_record_cut_at_every_byte_is_counted_as_the_decoder_counts_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       form: str) -> None:
    """Each cut of a record (at every byte, every kind of break: in a string, a number, a key,
    after a colon or comma), followed by a whole record, a pretty-printed one or nothing (the
    input's end): the fast path counts what the stream decoder counts, and most cuts are settled
    on their own line, without running the decoder over the region."""
    event = timing("/s", 12.5, True, 42)
    record = js(logpush([[js({"event": "request"})], [js(event) if form != "object" else event]], ts=T0))
    good = js(logpush([[js(timing("/t", 3.0, False))]], ts=T0 + 1))
    after = json.dumps(json.loads(good), indent=2) if form == "pretty-next" else good
    regions = []
    real = fastpath._region
    monkeypatch.setattr(fastpath, "_region", lambda *args: regions.append(1) or real(*args))
    settled_alone = 0
    for cut in range(1, len(record)):
        for tail in ("", f"\n{after}\n"):
            regions.clear()
            path = _write(tmp_path, f"{good}\n{record[:cut]}{tail}".encode())
            fast, exact = both(path)
            assert fast == exact, (cut, record[:cut][-20:], tail[:5])
        settled_alone += not regions
    if form != "pretty-next":  # a pretty-printed value needs the decoder anyway
        assert settled_alone > 0.8 * len(record)  # not: a cut right after a colon, comma or bracket (the value may go on)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_a_line_nested_too_deep_to_decode_is_counted_as_the_exact_path_counts_it(tmp_path: Path, where: str) -> None:
    """5,000 nested objects or arrays on a line (RecursionError in the JSON decoder): one malformed
    line (an array: only brackets to the stream decoder), the same on both paths, not a crash."""
    good = [js(logpush([[js(timing("/s", float(i)))]], ts=T0 + i)) for i in range(20)]
    deep = ['{"a":' * 5000 + "1" + "}" * 5000, "[" * 5000 + "]" * 5000, '{"Outcome":' * 5000 + '"ok"' + "}" * 5000]
    lines = {"first": deep + good, "middle": good[:10] + deep + good[10:], "last": good + deep}[where]
    fast, exact = both(_write(tmp_path, ("\n".join(lines) + "\n").encode()))
    assert fast == exact
    assert exact["n"][0] == 20 and exact["n"][5] == 2  # records, malformed


def test_fast_path_takes_the_common_shape_without_json(tmp_path: Path) -> None:
    path = tmp_path / "lp.ndjson"
    path.write_text("".join(js(logpush([[js(timing("/s", float(i), i % 2 == 0))]], ts=T0 + i)) + "\n" for i in range(50)))
    tally = analyze([str(path)], Options(jobs=1)).tally
    assert tally.fast_records == 50 and tally.cmd_timing == 50


@pytest.mark.parametrize("block", [64, 333, 4096])
def test_small_blocks_and_long_lines(tmp_path: Path, block: int) -> None:
    lines = [js(logpush([[js(timing("/s", float(i), True))], ["dual-write failed" if i % 7 == 0 else "fine"]], ts=T0 + i)) for i in range(40)]
    data = ("\n".join(lines) + "\n").encode()
    counter = Counter(Tally(), Patterns())
    import io

    fastpath.scan_stream(counter, io.BytesIO(data).readinto, block=block)
    exact = analyze([str(_write(tmp_path, data))], Options(fast=False)).tally
    assert snapshot(counter.tally) == snapshot(exact)


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "x.ndjson"
    path.write_bytes(data)
    return path


def test_byte_ranges_in_processes_equal_one_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Durations out of order across the ranges, and an hour that every range shares: the parent
    # must sort the merged runs of that hour (and of each group) again.
    lines = [js(logpush([[js(timing(f"/c{i % 3}", float(i * 7919 % 3001) / 7, i % 5 == 0))]],
                        outcome="exceededCpu" if i % 50 == 0 else "ok", ts=T0 + i * 1000))
             for i in range(3000)]
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    monkeypatch.setattr(analyze_mod, "PARALLEL_MIN_BYTES", 0)
    parallel = analyze([str(path)], Options(jobs=3))
    single = analyze([str(path)], Options(jobs=1))
    exact = analyze([str(path)], Options(fast=False))
    assert snapshot(parallel.tally) == snapshot(single.tally) == snapshot(exact.tally)
    assert counts(parallel)["records"] == 3000 and counts(parallel)["cpu_time_exceeded"] == 60
    assert len(parallel.hourly) == 1 and parallel.hourly == single.hourly


def test_byte_ranges_without_fork_are_all_read_by_the_parent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [js(logpush([[js(timing(f"/c{i % 3}", float(i % 101), i % 7 == 0))]], ts=T0 + i * 1000)) for i in range(900)]
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    monkeypatch.setattr(analyze_mod, "PARALLEL_MIN_BYTES", 0)
    single = analyze([str(path)], Options(jobs=1))
    monkeypatch.delattr(os, "fork")  # as on a platform without fork (Windows)
    alone = analyze([str(path)], Options(jobs=3))
    assert snapshot(alone.tally) == snapshot(single.tally) and counts(alone)["records"] == 900


def _raise_in_child(*args: Any) -> None:
    raise OSError("disk read error")


def test_a_failing_byte_range_process_fails_the_run_with_its_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [js(logpush([[js(timing("/c", 1.0, False))]], ts=T0 + i * 1000)) for i in range(900)]
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    monkeypatch.setattr(analyze_mod, "PARALLEL_MIN_BYTES", 0)
    from cutover.core import forked

    start = forked.start
    monkeypatch.setattr(forked, "start", lambda call, *args: start(_raise_in_child, *args))
    with pytest.raises(OSError, match="disk read error"):
        analyze([str(path)], Options(jobs=3))


def test_custom_patterns_fall_back_to_full_parsing(tmp_path: Path) -> None:
    path = _write(tmp_path, (js(logpush([["secondary store write FAILED"]])) + "\n").encode())
    result = analyze([str(path)], Options(patterns=Patterns(dual_write=r"(?i)secondary store write failed")))
    assert counts(result)["dual_write_failures"] == 1
    assert result.tally.fast_records == 0


def test_several_files_in_processes_equal_one_process(tmp_path: Path) -> None:
    import gzip

    paths = []
    for n in range(3):
        lines = [js(logpush([[js(timing("/s", float(i + n), i % 4 == 0))], ["MongoNetworkError" if i % 9 == 0 else "x"]], ts=T0 + i * 7000))
                 for i in range(400)]
        path = tmp_path / f"part{n}.ndjson.gz"
        path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
        paths.append(str(path))
    many = analyze(paths, Options(jobs=3))
    one = analyze(paths, Options(jobs=1))
    assert snapshot(many.tally) == snapshot(one.tally)
    assert [i.records for i in many.inputs] == [400, 400, 400]
    assert counts(many)["mongo_connection_errors"] == 3 * 45


# Lines the fast path must not take at face value: each one differs from the common shape in a way
# that changes what full JSON parsing counts (or only looks like it does). Inner strings are the
# text a logger would write, so they can hold what json.dumps never produces (1e400, 01, -0).
INNER_ODD = [
    '{"cold":true,"event":"cmd_timing","cmd":"/s","durationMs":5,"marks":{}}',  # cold before event
    '{"event":"cmd_timing","cmd":"/s","durationMs":1e400,"marks":{}}',  # inf: malformed
    '{"event":"cmd_timing","cmd":"/s","durationMs":-0,"cold":true,"marks":{}}',
    '{"event":"cmd_timing","cmd":"/s","durationMs":-0.0,"marks":{}}',
    '{"event":"cmd_timing","cmd":"/s","durationMs":5,"marks":{"a":01}}',  # not JSON: text
    '{"event":"cmd_timing","cmd":"/s","durationMs":5,"marks":{"a":1..2}}',
    '{"event":"cmd_timing","cmd":"/s","durationMs":5,"cold":true,"marks":{},"cold":false}',  # duplicate key
    '{"event":"cmd_timing","cmd":"/s","durationMs":5,"cold":false,"isolateAgeMs":3,"marks":{"h":1.5},"ok":false,"error":"TypeError"}',
    '{"event":"cmd_timing","cmd":"/s","durationMs":5,"marks":{},"ok":true}',
    '{"event":"cmd_timing","cmd":"/s","durationMs":12345678901234567890,"marks":{}}',
    '{"event":"cmd_timing","cmd":"/s","durationMs":5,"marks":{}',  # cut short
    '{"event":"cmd_timing","cmd":"cmd_timing","durationMs":5,"marks":{"cmd_timing":1}}',
    '{"x":{"event":"cmd_timing","cmd":"/s","durationMs":5,"marks":{}}}',  # nested: not an event
]


@st.composite
def odd_line(draw: Any) -> bytes:
    """A Logpush line, usually of the common shape, with one twist drawn from the list below."""
    ts = T0 + draw(st.integers(0, 3 * 3_600_000))
    twist = draw(st.sampled_from(["inner", "object", "two_items", "ts_digits", "junk_prefix", "bad_utf8", "no_outcome",
                                  "nested_outcome", "nested_not_ok", "case_marker", "crlf", "blank", "two_values", "plain", "plain"]))
    ev = timing(draw(cmds), draw(durations), draw(st.sampled_from([True, False, None])), draw(st.integers(0, 10**7)))
    items: List[Any] = [js(ev)]
    entry_ts = ts
    if twist == "inner":
        items = [draw(st.sampled_from(INNER_ODD))]
    elif twist == "object":
        items = [ev]
    elif twist == "two_items":
        items = [js(ev), draw(st.sampled_from(["fine", js(ev)]))]
    elif twist == "ts_digits":
        entry_ts = draw(st.sampled_from([999_999_999_999, 10_000_000_000_000 + ts % 1000, 12]))
    record = logpush([[js({"event": "request", "cold": True})], items], ts=ts)
    record["Logs"][1]["TimestampMs"] = entry_ts
    if twist == "nested_outcome":
        record["Event"]["Outcome"] = "ok"
    if twist == "nested_not_ok":
        record["Event"]["Outcome"] = "exceededCpu"
    if twist == "no_outcome":
        del record["Outcome"]
    if twist == "case_marker":
        record["ScriptName"] = draw(st.sampled_from(["DuAl", "dUAL-writer", "Mongo", "mongo_connection_error"]))
    line = json.dumps(record, separators=(",", ":"), ensure_ascii=draw(st.booleans())).encode("utf-8")
    if twist == "junk_prefix":
        line = draw(st.sampled_from([b"x", b" ", b"[", b"\xef\xbb\xbf"])) + line
    if twist == "bad_utf8":
        line = line.replace(b'"bot"', b'"b\xffot"', 1)
    if twist == "crlf":
        line += b"\r"
    if twist == "blank":
        line = draw(st.sampled_from([b"", b"  ", b"\x0c", b"\t\r"]))
    if twist == "two_values":
        line = line + line
    return line


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(odd_line(), plain_record().map(lambda r: js(r).encode())), min_size=1, max_size=30),
       st.sampled_from([None, 64, 500, 1 << 20]))
def test_odd_lines_fast_equals_exact(tmp_path: Path, lines: List[bytes], block: Any) -> None:
    first = js(logpush([[js(timing("/first", 1.5, True))]], ts=T0)).encode()  # the file sniffs as Logpush
    data = b"\n".join([first] + lines) + b"\n"
    exact = analyze([str(_write(tmp_path, data))], Options(fast=False)).tally
    fast = analyze([str(tmp_path / "x.ndjson")], Options(fast=True, jobs=1)).tally
    assert snapshot(fast) == snapshot(exact)
    if block is not None:
        import io

        counter = Counter(Tally(), Patterns())
        fastpath.scan_stream(counter, io.BytesIO(data).readinto, block=block)
        assert snapshot(counter.tally) == snapshot(exact)
        with open(tmp_path / "x.ndjson", "rb", buffering=0) as handle:
            ranged = Counter(Tally(), Patterns())
            fastpath.scan_file_range(ranged, handle, 0, len(data), block=block)
        assert snapshot(ranged.tally) == snapshot(exact)


def test_common_shape_is_taken_fast_with_timing_js_extras(tmp_path: Path) -> None:
    """timing.js puts extras (ok, error) after marks: still the fast path, same figures."""
    inner = '{"event":"cmd_timing","cmd":"/s","durationMs":%d,"cold":false,"isolateAgeMs":3,"marks":{"h":1.5},"ok":false,"error":"TypeError"}'
    data = "".join(js(logpush([[inner % i]], ts=T0 + i)) + "\n" for i in range(30)).encode()
    path = _write(tmp_path, data)
    fast = analyze([str(path)], Options(jobs=1)).tally
    assert fast.fast_records == 30 and fast.cmd_timing == 30
    assert snapshot(fast) == snapshot(analyze([str(path)], Options(fast=False)).tally)


def test_odd_line_in_a_byte_range_rereads_the_file_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A value spread over several lines mid-file: ranges cannot know where values begin after it."""
    lines = [js(logpush([[js(timing("/s", float(i), i % 3 == 0))]], ts=T0 + i * 1000)) for i in range(400)]
    lines[150] = json.dumps(logpush([[js(timing("/pretty", 7.0, True))]], ts=T0), indent=2)  # multi-line object
    lines[300] = "  " + lines[300]  # indented: the stream decoder reads it, a line-by-line reader would not
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    monkeypatch.setattr(analyze_mod, "PARALLEL_MIN_BYTES", 0)
    parallel = analyze([str(path)], Options(jobs=3))
    exact = analyze([str(path)], Options(fast=False))
    assert snapshot(parallel.tally) == snapshot(exact.tally)
    assert counts(exact)["records"] == 400 and counts(exact)["malformed"] == 0
    single = analyze([str(path)], Options(jobs=1))
    assert snapshot(single.tally) == snapshot(exact.tally)
    with open(path, "rb", buffering=0) as handle:  # small blocks: those before the odd line stay fast
        counter = Counter(Tally(), Patterns())
        fastpath.scan_file_range(counter, handle, 0, path.stat().st_size, block=4096)
    assert snapshot(counter.tally) == snapshot(exact.tally)
    assert 0 < counter.tally.fast_records < 400


def test_a_value_across_a_range_end_is_read_on_past_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An array opened on a line of its own at a range's end: that range reads on to its close, and
    the next range (which started inside it) is counted again from there."""
    lines = [js(logpush([[js(timing("/s", float(i), True))]], ts=T0 + i)) for i in range(20)]
    data = ("\n".join(lines[:10] + ["["] + lines[10:] + ["]"] + lines[:3]) + "\n").encode()
    path = _write(tmp_path, data)
    exact = analyze([str(path)], Options(fast=False)).tally
    cut = data.index(b"[\n") + 2  # a range ending right after the "[" line
    head = Counter(Tally(), Patterns())
    with open(path, "rb", buffering=0) as handle:
        stop = fastpath.scan_file_range(head, handle, 0, cut, block=256)
        after = data.index(b"]\n") + 2
        assert stop == data.index(b"\n", after) + 1  # read on past the array's close to the next value's line end
        fastpath.scan_file_range(head, handle, stop, len(data), block=256)
    assert snapshot(head.tally) == snapshot(exact) and exact.malformed == 0 and exact.cmd_timing == 23
    assert head.tally.fast_records == 12  # the lines before the array and after the first one after it
    monkeypatch.setattr(analyze_mod, "_ranges", lambda _path, size, _parts: [(0, cut), (cut, size)])
    monkeypatch.setattr(analyze_mod, "PARALLEL_MIN_BYTES", 0)
    assert snapshot(analyze([str(path)], Options(jobs=2)).tally) == snapshot(exact)


def _case_variants(word: str) -> List[str]:
    import itertools

    return ["".join(chars) for chars in itertools.product(*[(c.lower(), c.upper()) for c in word])]


def _marked(buf: bytes) -> List[int]:
    """Indexes of the lines marked (marked() gives their starts)."""
    starts = [0]
    for line in buf.split(b"\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    return [starts.index(at) for at in fastlines.marked(buf)]


def test_markers_send_their_line_to_full_parsing() -> None:
    """Every spelling of "dual" marks its line (the dual-write rule ignores case), as do the
    driver's "Mongo" names, the mongo_connection_error event and a \\u escape that could spell
    one; the "mongo_connect" mark key of timing.js, lowercase "mongo" text (the Mongo rule keeps
    case) and escapes of other characters do not."""
    words = _case_variants("dual") + ["Mongo", "MongoNetworkError", "mongo_connection_error", "\\u0064ual",
                                      "\\u004Dongo", "du\\u0061l", "\\\\u006dongo", "mongo\\u005fconnection_error"]
    for word in words:
        lines = [b'{"a":"x"}\n', b'{"b":"' + word.encode() + b' write failed"}\n', b'{"c":"y"}\n']
        assert _marked(b"".join(lines)) == [1], word
    quiet = (b'{"Message":["{\\"marks\\":{\\"mongo_connect\\":1}}"]}\n{"marks":{"mongo_connect":2}}\n{"u":"\\u00e9\\\\"}\n'
             b'{"m":"mongo is fine, MONGO too"}\n{"e":"\\u0030\\u0000"}\n')
    assert _marked(quiet) == []
    both = b'{"m":"mongo_connect\\" then MongoServerSelectionError"}\n'
    assert _marked(both) == [0]
    assert _marked(b'{"a":1}\n{"m":"x\\u00"}\n{"b":2}\n') == []  # an escape cut at the block end


@pytest.mark.parametrize("text", ["MONGO_CONNECTION_ERROR", "mongo is down", "mOngoNetworkError", "MongoNetworkError",
                                  "Dual Write Failed", "DUAL-WRITE error", "d\u0075al write fail", "\u004dongoNetworkError"])
def test_marker_spellings_count_as_the_exact_path_does(tmp_path: Path, text: str) -> None:
    lines = [js(logpush([[js(timing("/s", float(i), True))], [text if i % 5 == 0 else "fine"]], ts=T0 + i)) for i in range(20)]
    lines.append(js(logpush([[{"event": "mongo_connection_error"}], [js({"event": text})]], ts=T0 + 99)))
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    fast = analyze([str(path)], Options(jobs=1)).tally
    exact = analyze([str(path)], Options(fast=False)).tally
    assert snapshot(fast) == snapshot(exact)


# -- messy exports: both message forms in any mix, lines cut short anywhere ---------------------

@st.composite
def common_line(draw: Any) -> bytes:
    """A record of the common shape, its cmd_timing event logged as a string or as an object."""
    ev = timing(draw(st.sampled_from(["/start", "/help", "callback_query"])), draw(durations),
                draw(st.sampled_from([True, False, None])), draw(st.integers(0, 10**7)))
    item = ev if draw(st.booleans()) else js(ev)
    outcome = draw(st.sampled_from(["ok"] * 8 + ["exceededCpu"]))
    record = logpush([[js({"event": "request", "cold": True})], [item]], outcome=outcome, ts=T0 + draw(st.integers(0, 3 * 3_600_000)))
    record["ScriptVersion"] = {"Id": "v1", "Message": draw(st.sampled_from(["soak build", "fix {x}", "a}}"])), "Tag": "t"}
    return js(record).encode()


def _ranged(path: Path, cuts: List[int], block: int) -> Tally:
    """The file counted as byte ranges [0, c1), [c1, c2), ... stitched as analyze does."""
    size = path.stat().st_size
    counter = Counter(Tally(), Patterns())
    pos = 0
    with open(path, "rb", buffering=0) as handle:
        for start, end in zip([0] + cuts, cuts + [size]):
            part = Counter(Tally(), Patterns())
            stop = fastpath.scan_file_range(part, handle, start, end, block=block)
            if pos == start:
                counter.tally.merge(part.tally)
                pos = stop
            elif pos < end:
                redo = Counter(Tally(), Patterns())
                pos = fastpath.scan_file_range(redo, handle, pos, end, block=block)
                counter.tally.merge(redo.tally)
    return counter.tally


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(common_line(), min_size=1, max_size=25), st.data(), st.sampled_from([64, 700, 4096, 1 << 20]))
def test_mixed_forms_and_cut_lines_fast_equals_exact(tmp_path: Path, lines: List[bytes], data: Any, block: int) -> None:
    """Lines cut short at any byte (also right after a "}" and at block and range ends) are counted
    malformed where they stand, and every other line is still taken fast, in either message form."""
    cut = sorted(data.draw(st.sets(st.integers(0, len(lines) - 1), max_size=4)))
    for i in cut:
        lines[i] = lines[i][: data.draw(st.integers(1, len(lines[i]) - 1))]
    first = js(logpush([[js(timing("/first", 1.5, True))]], ts=T0)).encode()
    text = b"\n".join([first] + lines) + b"\n"
    path = _write(tmp_path, text)
    exact = analyze([str(path)], Options(fast=False)).tally
    assert exact.malformed == len(cut) and exact.records == len(lines) + 1 - len(cut)
    plain = [i + 1 for i, line in enumerate(lines) if i not in cut and b'"Outcome":"ok"' in line]
    for tally in (analyze([str(path)], Options(jobs=1)).tally,
                  _ranged(path, sorted({text.index(b"\n", at) + 1 for at in data.draw(st.lists(st.integers(0, len(text) - 1), max_size=3))} - {len(text)}), block)):
        assert snapshot(tally) == snapshot(exact)
        assert tally.fast_records == len(plain) + 1  # not one whole line more went through JSON
    import io

    streamed = Counter(Tally(), Patterns())
    fastpath.scan_stream(streamed, io.BytesIO(text).readinto, block=block)
    assert snapshot(streamed.tally) == snapshot(exact)


def test_a_line_cut_right_after_a_close_brace_is_malformed(tmp_path: Path) -> None:
    """Cut after the ScriptVersion object that follows the Outcome: the line still starts with "{",
    ends with "}" and holds one Outcome "ok", but it is not a whole record."""
    lines = [js(logpush([[js(timing("/s", float(i), True))]], ts=T0 + i)) for i in range(10)]
    lines[4] = lines[4][: lines[4].index('},"WallTimeMs"') + 1]
    assert lines[4].endswith('{"Id":"v1"}')
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    fast = analyze([str(path)], Options(jobs=1)).tally
    exact = analyze([str(path)], Options(fast=False)).tally
    assert snapshot(fast) == snapshot(exact) and exact.malformed == 1 and exact.records == 9
    assert fast.fast_records == 9


def test_two_records_on_one_line_are_both_counted(tmp_path: Path) -> None:
    lines = [js(logpush([[js(timing("/s", float(i), True))]], ts=T0 + i)) for i in range(6)]
    lines[2] = lines[2] + lines[3]
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    fast = analyze([str(path)], Options(jobs=1)).tally
    exact = analyze([str(path)], Options(fast=False)).tally
    assert snapshot(fast) == snapshot(exact) and exact.records == 7 and exact.cmd_timing == 7
    assert fast.fast_records == 5


def test_a_pretty_printed_value_goes_to_the_decoder_for_its_lines_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [js(logpush([[js(timing("/s", float(i), i % 2 == 0))] if i % 3 else [timing("/o", float(i), True)]], ts=T0 + i * 1000))
             for i in range(300)]
    lines[100] = json.dumps(logpush([[js(timing("/pretty", 7.0, True))]], ts=T0), indent=2)
    lines[200] = lines[200][:150]  # and one cut short
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    exact = analyze([str(path)], Options(fast=False)).tally
    assert exact.records == 299 and exact.malformed == 1 and exact.cmd_timing == 299
    for block in (4096, 1 << 20):
        with open(path, "rb", buffering=0) as handle:
            counter = Counter(Tally(), Patterns())
            fastpath.scan_file_range(counter, handle, 0, path.stat().st_size, block=block)
        assert snapshot(counter.tally) == snapshot(exact)
        assert counter.tally.fast_records == 298  # all but the pretty-printed and the cut line
    monkeypatch.setattr(analyze_mod, "PARALLEL_MIN_BYTES", 0)
    assert snapshot(analyze([str(path)], Options(jobs=3)).tally) == snapshot(exact)


@pytest.mark.parametrize("spread_hours", [0, 1, 2, 5, 63, 64, 65, 500])
def test_events_of_one_block_spread_over_many_hours(tmp_path: Path, spread_hours: int) -> None:
    """Events of one block filed by hour whether the block sits in one hour, straddles one
    boundary, or (an export out of time order) spans many."""
    lines = [js(logpush([[js(timing(f"/c{i % 3}", float(i % 17) + 0.25, i % 4 == 0))]], ts=T0 + (i * 7919 % 101) * spread_hours * 36_000))
             for i in range(300)]
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    fast = analyze([str(path)], Options(jobs=1))
    exact = analyze([str(path)], Options(fast=False))
    assert snapshot(fast.tally) == snapshot(exact.tally) and fast.tally.fast_records == 300
    assert fast.hourly == exact.hourly and len(fast.hourly) == (1 if spread_hours == 0 else len(exact.hourly))


def test_a_timing_look_alike_in_text_is_not_taken(tmp_path: Path) -> None:
    """A plain text message holding the rest of a string-form event after "cmd_timing" (without
    the event's own prefix: the event first in the only message) is text, not an event."""
    fake = 'fake cmd_timing","cmd":"/x","durationMs":5,"marks":{}}'
    lines = [js(logpush([[js(timing("/s", float(i), True))]], ts=T0 + i)) for i in range(10)]
    lines.insert(4, js(logpush([[fake]], ts=T0 + 50)))
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    fast, exact = both(path)
    assert fast == exact and exact["n"][1] == 10


@pytest.mark.parametrize("cut", [40, 300, 500])
def test_a_cut_record_glued_to_the_next_one_is_malformed_where_it_stands(tmp_path: Path, cut: int) -> None:
    """A record cut short with the next record written right after it on the same line (a file
    appended to after a crash, or files concatenated without a final newline): the line starts with
    "{" and ends with a record's end, but it is not one JSON value; the exact path counts it
    malformed, and so must the fast path."""
    lines = [js(logpush([[js(timing("/s", float(i), True))]], ts=T0 + i)) for i in range(12)]
    lines[5] = lines[5][:cut] + lines[6]
    del lines[6]
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    fast, exact = both(path)
    assert fast == exact and exact["n"][5] == 1


@pytest.mark.parametrize("damage", ["nul", "nul-run", "tab", "ctrl"])
def test_control_bytes_in_a_line_make_it_malformed_as_json_says(tmp_path: Path, damage: str) -> None:
    """JSON allows no raw control byte inside a string and none but whitespace outside: a line
    with a zeroed byte, a run of zeros over several lines (what a crash leaves in a file's unwritten
    blocks), or a raw tab or other control byte in a string is malformed for the exact path."""
    lines = [js(logpush([[js(timing("/s", float(i), True))]], ts=T0 + i)) for i in range(12)]
    text = ("\n".join(lines) + "\n").encode()
    at = len("\n".join(lines[:4])) + 200  # inside line 4, in a string or between tokens
    if damage == "nul":
        text = text[:at] + b"\x00" + text[at + 1 :]
    elif damage == "nul-run":  # zeros over the end of line 4, lines 5 and 6 and the head of line 7
        end = len("\n".join(lines[:7])) + 300
        text = text[:at] + b"\x00" * (end - at) + text[end:]
    else:  # in a string the rules never read (the request's URL)
        at = text.index(b"/tg", at) + 1
        text = text[:at] + (b"\t" if damage == "tab" else b"\x1b") + text[at:]
    path = _write(tmp_path, text)
    fast, exact = both(path)
    assert fast == exact and exact["n"][5] >= 1


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(common_line(), min_size=2, max_size=25), st.data(), st.sampled_from([64, 700, 4096, 1 << 20]))
def test_damage_of_any_kind_anywhere_fast_equals_exact(tmp_path: Path, lines: List[bytes], data: Any, block: int) -> None:
    """What a crash, a bad copy or a careless concatenation leaves: lines cut short, a cut line
    glued to the next record, a run of zeros over any bytes (newlines too), a raw control byte,
    CRLF ends, blank and pretty-printed lines, at block and range ends. Fast and exact agree."""
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        kind = data.draw(st.sampled_from(["cut", "glue", "control", "crlf", "blank", "pretty"]))
        line = lines[i]
        if len(line) < 2:
            continue
        if kind == "cut":
            lines[i] = line[: data.draw(st.integers(1, len(line) - 1))]
        elif kind == "glue" and i + 1 < len(lines):
            lines[i : i + 2] = [line[: data.draw(st.integers(1, len(line) - 1))] + lines[i + 1]]
        elif kind == "control":
            at = data.draw(st.integers(0, len(line) - 1))
            lines[i] = line[:at] + bytes([data.draw(st.sampled_from([0, 9, 13, 27, 31]))]) + line[at + 1 :]
        elif kind == "crlf":
            lines[i] = line + b"\r"
        elif kind == "blank":
            lines.insert(i, b"")
        elif kind == "pretty" and line.startswith(b"{") and line.endswith(b"}") and b"\0" not in line:
            try:
                lines[i] = json.dumps(json.loads(line.decode("utf-8", "replace")), indent=1).encode()
            except ValueError:
                pass
    text = b"\n".join(lines) + b"\n"
    if data.draw(st.booleans()):  # a run of zeros, newlines and all
        a = data.draw(st.integers(0, len(text) - 1))
        b = data.draw(st.integers(a, min(len(text), a + 3000)))
        text = text[:a] + b"\0" * (b - a) + text[b:]
    path = _write(tmp_path, text)
    exact = analyze([str(path)], Options(fast=False)).tally
    cuts = sorted({text.index(b"\n", at) + 1 for at in data.draw(st.lists(st.integers(0, len(text) - 1), max_size=3))
                   if b"\n" in text[at:]} - {len(text)})
    fast = analyze([str(path)], Options(jobs=1))
    assert snapshot(fast.tally) == snapshot(exact)
    if fast.tally.fast_records:  # read as JSON lines by the fast path: so in ranges and blocks of any size
        assert snapshot(_ranged(path, cuts, block)) == snapshot(exact)
