"""analyze-soak end to end through cli.main: the gate's outcomes and exit codes, outputs, stdin, errors."""
from __future__ import annotations

import gzip
import io
import json
import re
import sys
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import List

import pytest

from cutover.cli import main
from tests.support.soak_records import T0, js, logpush, ndjson, timing


def soak_file(tmp_path: Path, cold_ms: List[float], warm_ms: List[float] = (100.0,)) -> Path:  # type: ignore[assignment]
    records = [logpush([[js(timing("/start", ms, True))]], ts=T0 + i * 600_000) for i, ms in enumerate(cold_ms)]
    records += [logpush([[js(timing("/help", ms, False))]], ts=T0 + i * 600_000 + 1) for i, ms in enumerate(warm_ms)]
    path = tmp_path / "soak.ndjson"
    path.write_text(ndjson(records))
    return path


@pytest.fixture(autouse=True)
def _no_baseline_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASELINE_COLD_PING_MS", raising=False)


def run_json(args: List[str], capsys: pytest.CaptureFixture[str]) -> tuple:
    code = main(["analyze-soak", *args, "--json", "-", "--output", "/dev/null", "-q"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def test_proceed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = soak_file(tmp_path, [float(v) for v in range(100, 125)])  # 25 cold samples, p95 = 122.8
    code, doc = run_json(["--input", str(path), "--baseline-cold-ping-ms", "50"], capsys)
    assert code == 0
    assert doc["decision"] == "PROCEED"
    assert doc["gate"] == {"cold_p95_ms": pytest.approx(122.8), "baseline_cold_ping_ms": 50.0, "factor": 2.5,
                           "threshold_ms": 125.0, "cmd": None, "cold_samples": 25, "min_cold_samples": 20}
    assert set(doc["counts"]) >= {"records", "cmd_timing", "cpu_time_exceeded", "dual_write_failures", "mongo_connection_errors", "malformed"}
    assert doc["groups"][0].keys() >= {"cmd", "cold", "count", "p50_ms", "p95_ms", "p99_ms", "max_ms"}


def test_pivot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = soak_file(tmp_path, [float(v) for v in range(100, 125)])
    code, doc = run_json(["--input", str(path), "--baseline-cold-ping-ms", "40"], capsys)
    assert (code, doc["decision"], doc["gate"]["threshold_ms"]) == (4, "PIVOT", 100.0)


def test_inconclusive_with_too_few_cold_samples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = soak_file(tmp_path, [100.0] * 19)
    code, doc = run_json(["--input", str(path), "--baseline-cold-ping-ms", "400"], capsys)
    assert (code, doc["decision"], doc["gate"]["cold_samples"]) == (5, "INCONCLUSIVE", 19)
    code, doc = run_json(["--input", str(path), "--baseline-cold-ping-ms", "400", "--min-cold-samples", "19"], capsys)
    assert (code, doc["decision"]) == (0, "PROCEED")


def test_no_cold_samples_gives_null_p95(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = soak_file(tmp_path, [], [100.0, 200.0])
    code, doc = run_json(["--input", str(path), "--baseline-cold-ping-ms", "400"], capsys)
    assert (code, doc["decision"], doc["gate"]["cold_p95_ms"]) == (5, "INCONCLUSIVE", None)


def test_report_only_without_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = soak_file(tmp_path, [9999.0] * 30)
    code, doc = run_json(["--input", str(path)], capsys)
    assert (code, doc["decision"], doc["gate"]["threshold_ms"]) == (0, "REPORT-ONLY", None)
    assert doc["gate"]["cold_p95_ms"] == 9999.0


def test_baseline_from_environment_and_flag_wins(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = soak_file(tmp_path, [100.0] * 25)
    monkeypatch.setenv("BASELINE_COLD_PING_MS", "30")
    code, doc = run_json(["--input", str(path)], capsys)
    assert (code, doc["decision"], doc["gate"]["baseline_cold_ping_ms"]) == (4, "PIVOT", 30.0)
    code, doc = run_json(["--input", str(path), "--baseline-cold-ping-ms", "400"], capsys)
    assert (code, doc["decision"]) == (0, "PROCEED")
    monkeypatch.setenv("BASELINE_COLD_PING_MS", "fast")
    assert main(["analyze-soak", "--input", str(path), "--output", "/dev/null"]) == 2
    assert "BASELINE_COLD_PING_MS" in capsys.readouterr().err


def test_gate_cmd_and_factor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [logpush([[js(timing("/start", 100.0, True))]]) for _ in range(20)]
    records += [logpush([[js(timing("/trade", 1000.0, True))]]) for _ in range(20)]
    path = tmp_path / "two.ndjson"
    path.write_text(ndjson(records))
    code, doc = run_json(["--input", str(path), "--baseline-cold-ping-ms", "100", "--gate-cmd", "/start", "--factor", "1.5"], capsys)
    assert (code, doc["decision"], doc["gate"]["cmd"], doc["gate"]["cold_samples"]) == (0, "PROCEED", "/start", 20)
    code, doc = run_json(["--input", str(path), "--baseline-cold-ping-ms", "100", "--factor", "1.5"], capsys)
    assert (code, doc["decision"], doc["gate"]["cold_samples"]) == (4, "PIVOT", 40)


def test_markdown_and_chart_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = soak_file(tmp_path, [float(v) for v in range(100, 130)], [50.0, 60.0])
    md, svg = tmp_path / "soak-decision.md", tmp_path / "soak.svg"
    code = main(["analyze-soak", "--input", str(path), "--baseline-cold-ping-ms", "40", "--output", str(md), "--chart", str(svg)])
    assert code == 4
    text = md.read_text()
    first_lines = text.splitlines()[:4]
    assert first_lines[0] == "# Soak decision: **PIVOT**"
    assert "P95" in first_lines[2] and "100.0 ms" in first_lines[2] and "2.5 x baseline 40 ms" in first_lines[2]
    assert "p99 is about the largest values" in text  # n < 100 warning
    assert "soak.svg" in text and "P95 per hour" in text
    root = ET.fromstring(svg.read_text())
    assert root.tag.endswith("svg") and len(root) > 10
    assert "PIVOT" in capsys.readouterr().err


def test_stdin_and_markdown_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    data = soak_file(tmp_path, [100.0] * 20).read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))  # type: ignore[arg-type]
    code = main(["analyze-soak", "--input", "-", "--output", "-", "--baseline-cold-ping-ms", "100", "-q"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("# Soak decision: **PROCEED**")


def test_since_until_window(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = soak_file(tmp_path, [float(v) for v in range(100, 125)])  # one cold sample every 10 minutes
    code, doc = run_json(["--input", str(path), "--since", "2025-11-28T01:00:00Z", "--until", "2025-11-28T02:00:00Z",
                          "--min-cold-samples", "1"], capsys)
    assert doc["gate"]["cold_samples"] == 6 and doc["counts"]["outside_window"] > 0


@pytest.mark.parametrize(
    "args",
    [["--factor", "0"], ["--min-cold-samples", "-1"], ["--baseline-cold-ping-ms", "abc"], ["--dual-write-pattern", "("],
     ["--since", "yesterday-ish"], ["--since", "2025-11-28T02:00:00Z", "--until", "2025-11-28T01:00:00Z"]],
)
def test_usage_errors_exit_2(tmp_path: Path, args: List[str]) -> None:
    path = soak_file(tmp_path, [1.0])
    try:
        code = main(["analyze-soak", "--input", str(path), "--output", "/dev/null", *args])
    except SystemExit as exc:  # argparse
        code = exc.code  # type: ignore[assignment]
    assert code == 2


def test_missing_input_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze-soak", "--input", str(tmp_path / "nope.ndjson"), "--output", "/dev/null"]) == 1
    err = capsys.readouterr().err
    assert "cannot read --input" in err and "Traceback" not in err


def test_alias(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = soak_file(tmp_path, [100.0] * 20)
    assert main(["analyze:soak", "--input", str(path), "--output", "/dev/null", "--baseline-cold-ping-ms", "100", "-q"]) == 0


def test_reads_what_fetch_logs_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """fetch-logs against the local Cloudflare fake writes Observability rows (gzip, one member per
    frame); analyze-soak reads them as they are, with the same --since/--until forms."""
    from tests.support import cf_telemetry
    from tests.support.cf_telemetry import make_row
    from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare

    t0 = 1_795_802_400_000  # 2026-11-27T18:00:00Z
    fake = FakeCloudflare().start()
    try:
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT_ID)
        monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", fake.api_base)
        store = cf_telemetry.install(fake)
        rows = []
        for i in range(60):
            ts = t0 + i * 60_000
            rows.append(make_row(ts, {"event": "request", "cold": i % 3 == 0}, request_id=f"r{i}", row_id=f"q{i}",
                                 outcome="exceededCpu" if i == 5 else "ok"))
            rows.append(make_row(ts + 1, {"event": "cmd_timing", "cmd": "/start", "durationMs": 100.0 + i, "cold": i % 3 == 0},
                                 request_id=f"r{i}", row_id=f"c{i}", outcome="exceededCpu" if i == 5 else "ok"))
        rows.append(make_row(t0 + 10, "MongoServerSelectionError: timed out", request_id="r99", row_id="m1"))
        store.add(rows)
        out = tmp_path / "cf-logs.ndjson.gz"
        assert main(["fetch-logs", "--script", "bot", "--since", "2026-11-27T18:00:00Z", "--until", "2026-11-27T20:00:00Z",
                     "--output", str(out), "--limit", "25", "-q"]) == 0
    finally:
        fake.stop()
    capsys.readouterr()
    code, doc = run_json(["--input", str(out), "--since", "2026-11-27T18:00:00Z", "--until", "2026-11-27T19:00:00Z",
                          "--baseline-cold-ping-ms", "100"], capsys)
    assert doc["counts"]["records"] == 121
    assert doc["counts"]["cmd_timing"] == 60
    assert doc["counts"]["cpu_time_exceeded"] == 1  # both rows of invocation r5 share the request id
    assert doc["counts"]["mongo_connection_errors"] == 1
    assert doc["gate"]["cold_samples"] == 20
    assert (code, doc["decision"]) == (0, "PROCEED")  # cold p95 of 100, 103, ..., 157 = 154.15 <= 250


def test_output_to_a_fifo_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    """Writing to /dev/null-like special files must not rename over them (as root that replaces
    the device node); a FIFO stands in for /dev/null here."""
    import os
    import stat
    import threading

    path = soak_file(tmp_path, [100.0] * 20)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: List[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert main(["analyze-soak", "--input", str(path), "--output", str(fifo), "-q"]) == 0
    reader.join(timeout=30)
    assert got and got[0].startswith(b"# Soak decision")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_pretty_tail_saved_as_txt_is_judged_not_report_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`wrangler tail bot > soak.txt` (pretty, the default): read by its content, gated like JSON."""
    from tests.soak.test_inputs import pretty_tail, tail_events

    path = tmp_path / "soak.txt"
    path.write_text(pretty_tail(tail_events()))
    code, doc = run_json(["--input", str(path), "--baseline-cold-ping-ms", "500", "--min-cold-samples", "10"], capsys)
    assert (code, doc["decision"], doc["counts"]["records"], doc["gate"]["cold_samples"]) == (4, "PIVOT", 28, 13)
    assert doc["inputs"][0]["container"] == "tail-pretty"


def test_powershell_utf16_export_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = soak_file(tmp_path, [float(v) for v in range(100, 125)]).read_text()
    path = tmp_path / "soak-ps.json"
    path.write_bytes(b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le"))
    code, doc = run_json(["--input", str(path), "--baseline-cold-ping-ms", "50"], capsys)
    assert (code, doc["decision"], doc["gate"]["cold_samples"]) == (0, "PROCEED", 25)


def test_empty_input_alone_is_exit_1_and_beside_others_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = soak_file(tmp_path, [100.0] * 25)
    for content in (b"", b"\n \n", gzip.compress(b"")):
        empty = tmp_path / "capture.json"
        empty.write_bytes(content)
        assert main(["analyze-soak", "--input", str(empty), "--output", str(tmp_path / "r.md")]) == 1  # a capture that never ran
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "is empty" in err[0] and not (tmp_path / "r.md").exists()
        code, doc = run_json(["--input", str(good), "--input", str(empty), "--baseline-cold-ping-ms", "400"], capsys)
        assert (code, doc["decision"]) == (0, "PROCEED")


@pytest.mark.parametrize("content", [
    b"These are my notes about the soak.\nNothing to see here.\n",  # the wrong file
    b'{"name": "bot", "version": "1.0.0", "dependencies": {}}\n',  # JSON, but not a log
    b"id,name\n1,alice\n2,bob\n",  # CSV, but not a log export
    b"\x00\x01\x02binary\xff\xfe garbage",
])
def test_input_with_no_record_is_exit_1_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes) -> None:
    good = soak_file(tmp_path, [100.0] * 25)
    bad = tmp_path / "soak.txt"
    bad.write_bytes(content)
    code = main(["analyze-soak", "--input", str(good), "--input", str(bad), "--output", str(tmp_path / "r.md"),
                 "--baseline-cold-ping-ms", "400"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and str(bad) in err[0] and "Traceback" not in err[0], err
    assert not (tmp_path / "r.md").exists()  # no report that looks like a decision


def test_spreadsheet_csv_window_is_applied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`24/11/2025 16:00:00` and TRUE/FALSE, as a spreadsheet saves them: --since/--until apply."""
    path = tmp_path / "sheet.csv"
    path.write_text("timestamp,cmd,durationMs,cold\n" + "".join(
        f"24/11/2025 {h:02d}:00:00,/start,{100 + h},{'TRUE' if h % 2 else 'FALSE'}\n" for h in range(24)))
    code, doc = run_json(["--input", str(path), "--since", "2025-11-24T12:00:00Z", "--min-cold-samples", "1"], capsys)
    assert doc["counts"]["outside_window"] == 12 and doc["counts"]["cmd_timing"] == 12
    assert doc["gate"]["cold_samples"] == 6
    assert doc["span"] == {"first": "2025-11-24T12:00:00.000Z", "last": "2025-11-24T23:00:00.000Z", "hours": 11.0}


@pytest.mark.parametrize("stamp", ["", "yesterday afternoon", "45985,66"])
def test_window_with_no_readable_timestamp_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str], stamp: str) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text("time;cmd;durationMs;cold\n" + "".join(f"{stamp};/start;{100 + i};TRUE\n" for i in range(30)))
    code = main(["analyze-soak", "--input", str(path), "--since", "2025-11-24T12:00:00Z", "--output", str(tmp_path / "r.md")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "--since" in err[0] and "timestamp" in err[0], err
    assert not (tmp_path / "r.md").exists()
    # without a window, the same file is analyzed (no time is needed for the gate)
    assert main(["analyze-soak", "--input", str(path), "--output", "/dev/null", "-q", "--baseline-cold-ping-ms", "100"]) == 0


def test_ambiguous_spreadsheet_dates_ask_for_date_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sheet.csv"
    path.write_text("timestamp,cmd,durationMs,cold\n" + "".join(f"0{d}/11/2025 10:00,/start,100,TRUE\n" for d in range(1, 8)))
    assert main(["analyze-soak", "--input", str(path), "--output", "/dev/null"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--date-order dmy" in err[0] and str(path) in err[0], err
    code, doc = run_json(["--input", str(path), "--date-order", "dmy", "--min-cold-samples", "1"], capsys)
    assert doc["span"]["first"] == "2025-11-01T10:00:00.000Z" and doc["span"]["last"] == "2025-11-07T10:00:00.000Z"


@pytest.mark.parametrize("chart_rel, want", [
    ("charts/soak.svg", "../charts/soak.svg"),  # chart beside the report's folder
    ("reports/soak.svg", "soak.svg"),
    ("reports/my soak (1).svg", "my%20soak%20%281%29.svg"),
])
def test_report_links_the_chart_relative_to_itself(tmp_path: Path, capsys: pytest.CaptureFixture[str], chart_rel: str,
                                                   want: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The report and chart are copied off the bastion together: an absolute path would break."""
    path = soak_file(tmp_path, [100.0] * 25)
    (tmp_path / "reports").mkdir()
    (tmp_path / "charts").mkdir()
    report, chart = tmp_path / "reports" / "soak-decision.md", tmp_path / chart_rel
    assert main(["analyze-soak", "--input", str(path), "--output", str(report), "--chart", str(chart), "-q"]) == 0
    link = re.search(r"!\[[^]]*\]\(([^)]+)\)", report.read_text()).group(1)  # type: ignore[union-attr]
    assert link == want
    assert (report.parent / urllib.parse.unquote(link)).resolve() == chart.resolve()
    # relative arguments, from another working directory, give the same link
    monkeypatch.chdir(tmp_path)
    assert main(["analyze-soak", "--input", str(path), "--output", "reports/soak-decision.md", "--chart", chart_rel, "-q"]) == 0
    assert re.search(r"!\[[^]]*\]\(([^)]+)\)", report.read_text()).group(1) == want  # type: ignore[union-attr]
