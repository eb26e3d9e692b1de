"""Inputs as operators save them: UTF-16 from PowerShell, byte-order marks, pretty `wrangler tail`
text under any name. Format and encoding come from the content, never from the file name."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest

from cutover.soak.analyze import Options, SoakResult, analyze
from cutover.soak.report import counts
from tests.support.soak_records import T0, js, logpush, ndjson, tail, timing
from tests.support.tools import REPO, node_bin

BOMS = {"utf-8-sig": b"", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}


def run(path: Path, **kw: Any) -> SoakResult:
    return analyze([str(path)], Options(**kw))


def soak_records() -> List[dict]:
    records = [logpush([[js(timing("/start", 100.0 + i, i % 3 == 0))]], ts=T0 + i * 60_000) for i in range(40)]
    records.append(logpush([["dual-write to KV failed: 503"]], ts=T0 + 50 * 60_000))
    records.append(logpush([[js(timing("/start", 999.0, True))]], outcome="exceededCpu", ts=T0 + 51 * 60_000))
    return records


def figures(result: SoakResult) -> Dict[str, Any]:
    c = counts(result)
    groups = {(g.cmd, g.cold): (g.summary.count, g.summary.p95) for g in result.groups}
    return {"counts": c, "groups": groups, "span": (result.tally.first_ms, result.tally.last_ms)}


def powershell_bytes(text: str, encoding: str) -> bytes:
    """What PowerShell 5's `>` writes: a BOM, then the text in UTF-16 with CRLF line ends."""
    return BOMS[encoding] + text.replace("\n", "\r\n").encode(encoding)


@pytest.mark.parametrize("encoding", sorted(BOMS))
@pytest.mark.parametrize("gz", [False, True])
def test_utf16_and_bom_ndjson_give_the_figures_of_the_utf8_file(tmp_path: Path, encoding: str, gz: bool) -> None:
    text = ndjson(soak_records())
    plain = tmp_path / "plain.ndjson"
    plain.write_text(text)
    data = powershell_bytes(text, encoding)
    other = tmp_path / ("ps.json.gz" if gz else "ps.json")
    other.write_bytes(gzip.compress(data) if gz else data)
    want = figures(run(plain))
    assert want["counts"]["records"] == 42 and want["counts"]["cmd_timing"] == 41  # the reference is itself right
    for exact in (False, True):
        assert figures(run(other, fast=not exact)) == want


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_csv_and_pretty_tail_json(tmp_path: Path, encoding: str) -> None:
    csv_text = "timestamp,cmd,durationMs,cold\n" + "".join(
        f"2025-11-28T00:{i:02d}:00Z,/start,{100 + i},{'true' if i % 2 else 'false'}\n" for i in range(30))
    path = tmp_path / "export.csv"
    path.write_bytes(powershell_bytes(csv_text, encoding))
    c = counts(run(path))
    assert (c["records"], c["cmd_timing"], c["malformed"]) == (30, 30, 0)
    stream = "".join(json.dumps(tail([[js(timing("/s", float(i), True))]], ts=T0 + i), indent=2) + "\n" for i in range(7))
    path = tmp_path / "tail.json"
    path.write_bytes(powershell_bytes(stream, encoding))
    c = counts(run(path))
    assert (c["records"], c["cmd_timing"], c["malformed"]) == (7, 7, 0)


def test_utf16_without_bom_is_recognised_by_its_zero_bytes(tmp_path: Path) -> None:
    text = ndjson(soak_records()[:5])
    for encoding in ("utf-16-le", "utf-16-be"):
        path = tmp_path / f"{encoding}.ndjson"
        path.write_bytes(text.encode(encoding))
        assert counts(run(path))["cmd_timing"] == 5


def pretty_tail(events: List[dict], env: Dict[str, str] | None = None) -> str:
    """The text `wrangler tail` (pretty, its default) prints for these tail events, made by node."""
    done = subprocess.run([node_bin(), str(REPO / "tests" / "support" / "tail_pretty.mjs")], input=json.dumps(events),
                          capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, **(env or {})})
    banner = " ⛅️ wrangler 4.86.0\n───────────────────\nSuccessfully created tail, expires at 11/28/2025, 6:00:00 AM\n" \
             "Connected to bot, waiting for logs...\n"
    return banner + done.stdout


def tail_events() -> List[dict]:
    events = [tail([[js(timing("/start", 200.0 + i, i % 2 == 0))], [{"event": "request", "cold": i % 2 == 0, "isolateAgeMs": 3,
                                                                   "note": "x" * 80}]], ts=T0 + i * 60_000)
              for i in range(24)]
    # logged as an object (the contract allows it): util.inspect spreads it over lines, quotes with '
    events.append(tail([[timing("/help", 321.5, False, note="it's \"quoted\"\nand\u00e9", deep={"a": {"b": {"c": 1}}})]],
                       ts=T0 + 29 * 60_000))
    events.append(tail([["dual-write to KV failed:", {"status": 503}]], ts=T0 + 30 * 60_000))
    events.append(tail([[js(timing("/start", 5000.0, True))]], outcome="exceededCpu", ts=T0 + 31 * 60_000))
    events.append(tail([["MongoServerSelectionError: timed out"]], outcome="exception", ts=T0 + 32 * 60_000))
    return events


@pytest.mark.parametrize("name", ["tail.txt", "tail.log", "tail.json", "tail.csv"])
def test_pretty_wrangler_tail_is_read_whatever_its_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(pretty_tail(tail_events()))
    result = run(path)
    c = counts(result)
    assert result.inputs[0].container == "tail-pretty"
    assert (c["records"], c["cmd_timing"], c["malformed"]) == (28, 26, 0)
    assert (c["dual_write_failures"], c["mongo_connection_errors"], c["cpu_time_exceeded"]) == (1, 1, 1)
    assert c["outcomes"] == {"exceededCpu": 1, "exception": 1}
    groups = {(g.cmd, g.cold): g.summary.count for g in result.groups}
    assert groups == {("/start", True): 13, ("/start", False): 12, ("/help", False): 1}
    # the same events as JSON give the same latency figures
    json_path = tmp_path / "same.json"
    json_path.write_text("".join(json.dumps(e, indent=2) + "\n" for e in tail_events()))
    assert {(g.cmd, g.cold): g.summary.p95 for g in run(json_path).groups} == \
        {(g.cmd, g.cold): g.summary.p95 for g in result.groups}


def test_pretty_tail_times_are_local_and_zone_less_so_they_are_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "tail.txt"
    path.write_text(pretty_tail(tail_events(), env={"TZ": "Asia/Kolkata", "LANG": "en_GB.UTF-8"}))
    result = run(path)
    assert counts(result)["cmd_timing"] == 26
    assert result.tally.first_ms is None  # local wall-clock time of an unknown zone: not a UTC time


@pytest.mark.parametrize("encoding", sorted(BOMS))
def test_pretty_tail_with_a_bom(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "tail.txt"
    text = pretty_tail(tail_events())
    path.write_bytes(powershell_bytes(text[text.index("POST"):], encoding))  # the BOM right before a header
    c = counts(run(path))
    assert (c["records"], c["cmd_timing"]) == (28, 26)


@pytest.mark.parametrize("text, want", [
    ("{ event: 'cmd_timing', cmd: '/start', durationMs: 1.5, cold: true }",
     {"event": "cmd_timing", "cmd": "/start", "durationMs": 1.5, "cold": True}),
    ("{\n  cmd: \"it's\",\n  u: undefined,\n  deep: { a: { b: [Object] } },\n  arr: [ 1, 'x' ],\n  big: 12n\n}",
     {"cmd": "it's", "u": None, "deep": {"a": {"b": None}}, "arr": [1, "x"], "big": 12}),
    ("{ s: 'a \\'q\\' \"d\" \\n' }", {"s": "a 'q' \"d\" \n"}),
    ("{ event: 'x' } 5", None),  # several arguments: not one object
    ("{ broken: ", None),
])
def test_inspected_object(text: str, want: object) -> None:
    from cutover.soak.formats.tailpretty import inspected_object

    assert inspected_object(text) == want


@pytest.mark.parametrize("first", ["partial", "zeros", "junk"])
def test_an_export_whose_first_line_is_damaged_is_still_read_as_json_lines(tmp_path: Path, first: str) -> None:
    """A file cut at its start (`tail -c`, a rotated log, a crash's zeros over its first block):
    its first line is not a record. It is one malformed line; the records after it are counted,
    by the fast path, not read as CSV because the partial line happens to hold commas."""
    records = soak_records()
    text = ndjson(records).encode()
    whole = run(_write_bytes(tmp_path / "whole.ndjson", text), jobs=1)
    head = {"partial": text.split(b"\n", 1)[0][250:], "zeros": b"\0" * 300, "junk": b"log cut here, 2026-11-28"}[first]
    path = _write_bytes(tmp_path / "cut.ndjson", head + b"\n" + text)
    for fast in (True, False):
        result = run(path, jobs=1, fast=fast)
        got = figures(result)
        assert got["counts"]["malformed"] == 1
        assert {k: v for k, v in got["counts"].items() if k != "malformed"} == {k: v for k, v in figures(whole)["counts"].items() if k != "malformed"}
        assert got["groups"] == figures(whole)["groups"]
        if fast:
            assert result.tally.fast_records > 0


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
