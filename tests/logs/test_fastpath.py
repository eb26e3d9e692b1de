"""The regex fast path and full JSON parsing give identical tallies (also over byte ranges in processes)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cutover.logs import analyze as analyze_mod
from cutover.logs import fastpath
from cutover.logs.analyze import Options, analyze
from cutover.logs.model import Patterns, Tally
from cutover.logs.report import counts
from cutover.logs.rules import Counter
from tests.logs.builders import T0, js, logpush, timing


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
    lines = [js(logpush([[js(timing(f"/c{i % 3}", float(i) / 7, i % 5 == 0))]], outcome="exceededCpu" if i % 50 == 0 else "ok", ts=T0 + i * 1000))
             for i in range(3000)]
    path = _write(tmp_path, ("\n".join(lines) + "\n").encode())
    monkeypatch.setattr(analyze_mod, "PARALLEL_MIN_BYTES", 0)
    parallel = analyze([str(path)], Options(jobs=3))
    single = analyze([str(path)], Options(jobs=1))
    exact = analyze([str(path)], Options(fast=False))
    assert snapshot(parallel.tally) == snapshot(single.tally) == snapshot(exact.tally)
    assert counts(parallel)["records"] == 3000 and counts(parallel)["cpu_time_exceeded"] == 60


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
