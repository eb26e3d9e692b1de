"""Each export format through the public API, with the contract's counting rules."""
from __future__ import annotations

import gzip
import io
import json
import subprocess
from pathlib import Path
from typing import List

import pytest

from cutover.soak.analyze import Options, SoakResult, analyze
from cutover.soak.report import counts
from tests.support.soak_records import T0, js, logpush, ndjson, obs_row, tail, timing
from tests.support.tools import node_bin

MONGO_EXC = {"Name": "MongoServerSelectionError", "Message": "Server selection timed out after 30000 ms", "TimestampMs": T0 + 5000}


def run(path: Path, exact: bool = False, **kw) -> SoakResult:  # type: ignore[no-untyped-def]
    return analyze([str(path)], Options(fast=not exact, **kw))


def figures(result: SoakResult) -> dict:
    return {
        "counts": counts(result),
        "groups": {(g.cmd, g.cold): (g.summary.count, g.summary.p50, g.summary.p95, g.summary.max) for g in result.groups},
    }


def sample_logpush() -> List[dict]:
    return [
        logpush([[js({"event": "request", "cold": True, "isolateAgeMs": 3})], [js(timing("/start", 900.5, True))]], ts=T0),
        logpush([[timing("/start", 100.25, False)]], ts=T0 + 1000),  # logged as an object
        logpush([[js(timing("/help", 50, None))]], ts=T0 + 2000),  # no cold flag: warm, counted unknown
        logpush([["dual-write to KV failed: 503", "Dual-Write error again"]], ts=T0 + 3000),  # one entry -> once
        logpush([[js({"event": "dual_write_secondary_failure", "error": "dual-write failed"})]], ts=T0 + 4000),  # event, not text again
        logpush([], outcome="exception", ts=T0 + 5000, exceptions=[MONGO_EXC]),
        logpush([["MongoNetworkError: connection reset"], [js({"event": "mongo_connection_error"})]], ts=T0 + 6000),
        logpush([[js(timing("/start", 1200, True))]], outcome="exceededCpu", ts=T0 + 7000),
    ]


def check_sample(result: SoakResult) -> None:
    c = counts(result)
    assert c["records"] == 8
    assert c["cmd_timing"] == 4
    assert c["cold_unknown"] == 1
    assert c["dual_write_failures"] == 2
    assert c["mongo_connection_errors"] == 3
    assert c["cpu_time_exceeded"] == 1
    assert c["outcomes"] == {"exceededCpu": 1, "exception": 1}
    assert c["malformed"] == 0
    groups = {(g.cmd, g.cold): g.summary for g in result.groups}
    assert groups[("/start", True)].count == 2
    assert groups[("/start", True)].p50 == pytest.approx(1050.25)
    assert groups[("/start", False)].max == 100.25
    assert groups[("/help", False)].count == 1
    assert result.tally.first_ms == T0 + 1 and result.tally.last_ms == T0 + 7000


@pytest.mark.parametrize("exact", [False, True])
def test_logpush_ndjson(tmp_path: Path, exact: bool) -> None:
    path = tmp_path / "logpush.ndjson"
    path.write_text(ndjson(sample_logpush()))
    result = run(path, exact)
    check_sample(result)
    assert result.inputs[0].formats == {"logpush": 8}


def test_gzip_is_read_by_content_not_name(tmp_path: Path) -> None:
    plain = tmp_path / "a.ndjson"
    plain.write_text(ndjson(sample_logpush()))
    packed = tmp_path / "b.log"  # no .gz suffix: detected by magic bytes
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert figures(run(packed)) == figures(run(plain))
    check_sample(run(packed))


def test_several_inputs_are_merged(tmp_path: Path) -> None:
    records = sample_logpush()
    a, b = tmp_path / "a.ndjson", tmp_path / "b.ndjson.gz"
    a.write_text(ndjson(records[:4]))
    b.write_bytes(gzip.compress(ndjson(records[4:]).encode()))
    result = analyze([str(a), str(b)], Options())
    check_sample(result)
    assert [i.records for i in result.inputs] == [4, 4]


def test_real_wrangler_tail_json_stream(tmp_path: Path) -> None:
    """wrangler 4.x `tail --format json` prints each message with JSON.stringify(data, null, 4)
    (wrangler-dist/cli.js, Logger.json): objects spanning many lines, one after another."""
    messages = [
        tail([[js({"event": "request", "cold": True, "isolateAgeMs": 1})], [js(timing("/start", 900.5, True))]], ts=T0),
        tail([[timing("/start", 100.25, False)]], ts=T0 + 1000),
        tail([[js(timing("/help", 50, None))]], ts=T0 + 2000),
        tail([["dual-write to KV failed: 503", "Dual-Write error again"]], ts=T0 + 3000),
        tail([[js({"event": "dual_write_secondary_failure"})]], ts=T0 + 4000),
        tail([], outcome="exception", ts=T0 + 5000,
             exceptions=[{"name": "MongoServerSelectionError", "message": "timed out", "timestamp": T0 + 5000}]),
        tail([["MongoNetworkError: connection reset"], [js({"event": "mongo_connection_error"})]], ts=T0 + 6000),
        tail([[js(timing("/start", 1200, True))]], outcome="exceededCpu", ts=T0 + 7000),
    ]
    script = "const events = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n" \
             "for (const data of events) console.log(JSON.stringify(data, null, 4));\n"
    proc = subprocess.run([node_bin(), "-e", script], input=json.dumps(messages), capture_output=True, text=True, timeout=60, check=True)
    stream = proc.stdout
    assert stream.count("\n") > 8 * 10 and stream.startswith("{\n    ")  # really pretty-printed
    path = tmp_path / "tail.json"
    path.write_text(stream)
    result = run(path)
    check_sample(result)
    assert result.inputs[0].formats == {"tail": 8}
    # piped through stdin as the operator would: wrangler tail ... | cutover analyze-soak --input -
    piped = analyze(["-"], Options(), stdin=io.BufferedReader(io.BytesIO(stream.encode())))  # type: ignore[arg-type]
    assert figures(piped) == figures(result)


def test_observability_rows_one_entry_per_row_and_cpu_once_per_invocation(tmp_path: Path) -> None:
    rows = [
        obs_row(timing("/start", 900.5, True), request_id="r1", ts=T0 + 1),
        obs_row({"event": "request", "cold": False}, request_id="r2", ts=T0 + 900),
        obs_row(js(timing("/start", 100.25, False)), request_id="r2", ts=T0 + 1000),  # source as JSON string
        obs_row({"message": js(timing("/help", 50, None))}, request_id="r3", ts=T0 + 2000),
        obs_row("dual-write to KV failed: 503", request_id="r4", ts=T0 + 3000),
        obs_row({"event": "dual_write_secondary_failure"}, request_id="r5", ts=T0 + 4000),
        # one row: message and error both name a Mongo error -> one entry, counted once
        obs_row({"message": "MongoServerSelectionError: timed out"}, outcome="exception", request_id="r6", ts=T0 + 5000,
                error="MongoServerSelectionError: Server selection timed out"),
        obs_row({"message": "MongoNetworkError"}, request_id="r7", ts=T0 + 6000),
        obs_row({"event": "mongo_connection_error"}, request_id="r7", ts=T0 + 6001),
        # three rows of one invocation share the request id: exceededCpu counted once
        obs_row(timing("/start", 1200, True), outcome="exceededCpu", request_id="r8", ts=T0 + 7000),
        obs_row({"message": "handler started"}, outcome="exceededCpu", request_id="r8", ts=T0 + 7000),
        obs_row({"message": "still going"}, outcome="exceededCpu", request_id="r8", ts=T0 + 7000),
    ]
    path = tmp_path / "obs.ndjson"
    path.write_text(ndjson(rows))
    result = run(path)
    c = counts(result)
    assert c["records"] == 12
    assert c["cmd_timing"] == 4 and c["cold_unknown"] == 1
    assert c["dual_write_failures"] == 2
    assert c["mongo_connection_errors"] == 3
    assert c["cpu_time_exceeded"] == 1
    assert c["outcomes"] == {"exceededCpu": 1, "exception": 1}
    # the same rows as a saved API response and as a JSON array
    response = tmp_path / "response.json"
    response.write_text(json.dumps({"success": True, "result": {"events": {"count": len(rows), "events": rows}}}, indent=2))
    array = tmp_path / "rows.json"
    array.write_text(json.dumps(rows, indent=2))
    assert figures(run(response)) == figures(result)
    assert figures(run(array)) == figures(result)


def test_json_array_of_mixed_shapes(tmp_path: Path) -> None:
    items = [logpush([[js(timing("/a", 10, True))]]), tail([[js(timing("/a", 20, True))]]),
             obs_row(timing("/a", 30, True), request_id="x"), timing("/a", 40, True)]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(items))
    result = run(path)
    assert result.inputs[0].formats == {"logpush": 1, "tail": 1, "observability": 1, "events": 1}
    (group,) = result.groups
    assert (group.cmd, group.cold, group.summary.count, group.summary.p50) == ("/a", True, 4, 25.0)


def test_plain_ndjson_events(tmp_path: Path) -> None:
    lines = [timing("/start", 1.0, True), timing("/start", 2.0, True), {"event": "request", "cold": True},
             {"event": "dual_write_secondary_failure", "key": "k"}, {"event": "mongo_connection_error"}]
    path = tmp_path / "events.ndjson"
    path.write_text(ndjson(lines))
    c = counts(run(path))
    assert (c["records"], c["cmd_timing"], c["dual_write_failures"], c["mongo_connection_errors"]) == (5, 2, 1, 1)


def test_csv_with_json_message_column(tmp_path: Path) -> None:
    import csv

    path = tmp_path / "export.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "$workers.outcome", "$workers.requestId", "$metadata.message"])
        writer.writerow([T0, "ok", "r1", js(timing("/start", 900.5, True))])
        writer.writerow([T0 + 1, "ok", "r2", js(timing("/start", 100.25, False))])
        writer.writerow([T0 + 2, "ok", "r3", "dual-write, secondary, failed"])
        writer.writerow([T0 + 3, "exceededCpu", "r4", "MongoPoolClosedError: closed"])
        writer.writerow([T0 + 4, "exceededCpu", "r4", "another row of the same invocation"])
    c = counts(run(path))
    assert (c["records"], c["cmd_timing"], c["dual_write_failures"], c["mongo_connection_errors"], c["cpu_time_exceeded"]) == (5, 2, 1, 1, 1)


def test_csv_with_flattened_columns(tmp_path: Path) -> None:
    path = tmp_path / "flat.csv"
    path.write_text("time;source.event;source.cmd;source.durationMs;source.cold\n"
                    "2025-11-28T00:00:00Z;cmd_timing;/start;900.5;true\n"
                    "2025-11-28T00:00:01Z;cmd_timing;/start;100.25;false\n"
                    "2025-11-28T00:00:02Z;cmd_timing;/help;50;\n"
                    "2025-11-28T00:00:03Z;cmd_timing;/help;not-a-number;false\n"
                    "broken;row\n")
    result = run(path)
    c = counts(result)
    assert (c["records"], c["cmd_timing"], c["cold_unknown"], c["malformed"]) == (4, 3, 1, 2)
    assert result.tally.first_ms == T0


@pytest.mark.parametrize("exact", [False, True])
def test_malformed_and_truncated_records_are_counted(tmp_path: Path, exact: bool) -> None:
    good = [js(r) for r in sample_logpush()]
    text = "\n".join([good[0], "not json at all", good[1], '{"Outcome":"ok","Logs":[', good[2], "", "[1, 2", *good[3:]])
    text += "\n" + good[0][: len(good[0]) // 2]  # the file was cut mid-record
    path = tmp_path / "broken.ndjson"
    path.write_text(text)
    result = run(path, exact)
    c = counts(result)
    assert c["records"] == 8
    assert c["malformed"] == 4
    assert c["cmd_timing"] == 4


def test_truncated_pretty_stream(tmp_path: Path) -> None:
    stream = "".join(json.dumps(tail([[js(timing("/s", float(i), True))]], ts=T0 + i), indent=4) + "\n" for i in range(5))
    path = tmp_path / "tail.json"
    path.write_text(stream[: len(stream) - 40])
    c = counts(run(path))
    assert (c["records"], c["malformed"], c["cmd_timing"]) == (4, 1, 4)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", gzip.compress(b"")])
def test_empty_input(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.ndjson"
    path.write_bytes(content)
    result = run(path, baseline_cold_ping_ms=400)
    assert counts(result)["records"] == 0
    assert result.groups == []
    assert result.gate.decision == "INCONCLUSIVE" and result.gate.cold_p95_ms is None


def test_single_sample_has_all_percentiles_equal(tmp_path: Path) -> None:
    path = tmp_path / "one.ndjson"
    path.write_text(ndjson([logpush([[js(timing("/start", 321.5, True))]])]))
    (group,) = run(path).groups
    s = group.summary
    assert s.count == 1 and s.p50 == s.p95 == s.p99 == s.max == 321.5


def test_window_keeps_events_in_since_until(tmp_path: Path) -> None:
    path = tmp_path / "w.ndjson"
    path.write_text(ndjson(sample_logpush()))
    for exact in (False, True):
        result = run(path, exact, since_ms=T0 + 1000, until_ms=T0 + 5000)
        c = counts(result)
        assert c["cmd_timing"] == 2  # /start warm at +1000, /help at +2000
        assert c["dual_write_failures"] == 2 and c["mongo_connection_errors"] == 0
        assert c["outside_window"] > 0


def test_unreadable_input_is_one_clear_error(tmp_path: Path) -> None:
    from cutover.errors import CutoverError

    with pytest.raises(CutoverError, match="cannot read --input"):
        analyze([str(tmp_path / "missing.ndjson")], Options())


def test_cut_short_gzip_counts_one_malformed_and_keeps_the_rest(tmp_path: Path) -> None:
    data = gzip.compress(ndjson(sample_logpush() * 200).encode())
    path = tmp_path / "cut.ndjson.gz"
    path.write_bytes(data[: len(data) * 3 // 4])
    result = run(path)
    c = counts(result)
    assert c["malformed"] >= 1 and 0 < c["records"] < 1600


def test_one_line_array_bigger_than_a_block(tmp_path: Path) -> None:
    records = [logpush([[js(timing("/s", float(i), i % 2 == 0))]], ts=T0 + i) for i in range(4000)]
    path = tmp_path / "compact.json"
    path.write_text(json.dumps(records, separators=(",", ":")))  # jq -c: one line, several MB
    assert path.stat().st_size > 2 << 20
    c = counts(run(path))
    assert (c["records"], c["cmd_timing"], c["malformed"]) == (4000, 4000, 0)


@pytest.mark.parametrize("block", [7, 64, 1000])
def test_stream_decoder_across_tiny_blocks(block: int) -> None:
    from cutover.soak import jsonstream

    values = [tail([[js(timing("/s", 1.5, True))]]), 12345, "text", [1, 2], {"event": "request"}]
    text = "\n".join(json.dumps(v, indent=4) for v in values) + "\n{\"broken\": \n" + json.dumps(values[0], indent=4)
    got = list(jsonstream.values(io.BytesIO(text.encode()), block=block))
    assert got[:4] == [values[0], 12345, "text", 1] and got[4:6] == [2, {"event": "request"}]
    assert got[6] is jsonstream.MALFORMED and got[7] == values[0] and len(got) == 8
