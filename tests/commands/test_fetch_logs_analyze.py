"""The file fetch-logs writes goes straight into analyze-soak and gives the expected figures."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from cutover.cli import main
from tests.support import cf_telemetry
from tests.support.cf_telemetry import make_row
from tests.support.cfapi import FakeCloudflare, serving
from tests.support.logpush_files import trace_event, write_batch

T0 = 1_795_802_400_000  # 2026-11-27T18:00:00Z, the soak runs two hours
SOAK = ["--since", "2026-11-27T18:00:00Z", "--until", "2026-11-27T20:00:00Z"]
COLD_MS = [10.0 * (i + 1) for i in range(25)]  # 10 .. 250
WARM_MS = [5.0, 6.0, 7.0, 8.0]
# type-7 percentiles of COLD_MS: h = (n - 1) * p
COLD_P50, COLD_P95 = 130.0, 238.0


def events() -> List[Dict[str, Any]]:
    """(ms, logged value, request id, outcome) of one soak, plus noise outside the window."""
    out: List[Dict[str, Any]] = []
    for i, ms in enumerate(COLD_MS):
        out.append({"ts": T0 + 60_000 * (i + 1), "req": f"c{i}", "outcome": "ok",
                    "log": {"event": "cmd_timing", "cmd": "/start", "durationMs": ms, "cold": True, "isolateAgeMs": 4}})
    for i, ms in enumerate(WARM_MS):
        out.append({"ts": T0 + 90_000 * (i + 1), "req": f"w{i}", "outcome": "ok",
                    "log": {"event": "cmd_timing", "cmd": "/help", "durationMs": ms, "cold": False}})
    out.append({"ts": T0 + 3_000_000, "req": "d1", "outcome": "ok",
                "log": {"event": "dual_write_secondary_failure", "store": "kv"}})
    out.append({"ts": T0 + 3_100_000, "req": "m1", "outcome": "ok",
                "log": "MongoServerSelectionError: Server selection timed out after 30000 ms"})
    out.append({"ts": T0 + 3_200_000, "req": "m2", "outcome": "ok", "log": "MongoNetworkError: connection reset"})
    out.append({"ts": T0 + 3_300_000, "req": "cpu", "outcome": "exceededCpu", "log": "handling update 99"})
    # outside the soak window: a cold start that would fail the gate if it were counted
    out.append({"ts": T0 - 1_800_000, "req": "early", "outcome": "ok",
                "log": {"event": "cmd_timing", "cmd": "/start", "durationMs": 9999.0, "cold": True}})
    out.append({"ts": T0 + 9_000_000, "req": "late", "outcome": "ok",
                "log": {"event": "cmd_timing", "cmd": "/start", "durationMs": 9999.0, "cold": True}})
    return out


def api_rows() -> List[Dict[str, Any]]:
    rows = []
    for n, e in enumerate(events()):
        rows.append(make_row(e["ts"], e["log"], request_id=e["req"], row_id=f"row-{n}", outcome=e["outcome"]))
        if e["outcome"] == "exceededCpu":  # a second log line of the same invocation: still one CPU event
            rows.append(make_row(e["ts"] + 2, "still handling", request_id=e["req"], row_id=f"row-{n}b",
                                 outcome=e["outcome"]))
    return rows


@pytest.fixture
def cf(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloudflare]:
    with serving(monkeypatch) as fake:
        yield fake


def analyze(path: Path, tmp_path: Path, baseline: str) -> tuple:
    out = tmp_path / f"decision-{baseline}.json"
    code = main(["analyze-soak", "--input", str(path), *SOAK, "--baseline-cold-ping-ms", baseline,
                 "--json", str(out), "--output", str(tmp_path / "decision.md")])
    return code, json.loads(out.read_text())


def check_figures(code: int, result: Dict[str, Any]) -> None:
    assert code == 0 and result["decision"] == "PROCEED"
    gate = result["gate"]
    assert gate["cold_p95_ms"] == pytest.approx(COLD_P95)
    assert gate["cold_samples"] == 25 and gate["threshold_ms"] == pytest.approx(250.0)
    groups = {(g["cmd"], g["cold"]): g for g in result["groups"]}
    start = groups[("/start", True)]
    assert start["count"] == 25 and start["max_ms"] == 250.0
    assert start["p50_ms"] == pytest.approx(COLD_P50) and start["p95_ms"] == pytest.approx(COLD_P95)
    assert groups[("/help", False)]["count"] == 4
    counts = result["counts"]
    assert counts["cmd_timing"] == 29
    assert counts["dual_write_failures"] == 1
    assert counts["mongo_connection_errors"] == 2
    assert counts["cpu_time_exceeded"] == 1
    assert counts["malformed"] == 0


def test_observability_fetch_feeds_analyze_soak(tmp_path: Path, cf: FakeCloudflare) -> None:
    store = cf_telemetry.install(cf)
    store.add(api_rows())
    logs = tmp_path / "cf-logs.ndjson.gz"
    # a wider fetch than the soak, small pages (frame splits), cut to the soak by analyze-soak
    assert main(["fetch-logs", "-q", "--script", "bot", "--since", "2026-11-27T17:00:00Z", "--until",
                 "2026-11-27T21:00:00Z", "--limit", "7", "--output", str(logs)]) == 0
    check_figures(*analyze(logs, tmp_path, "100"))
    code, result = analyze(logs, tmp_path, "90")  # threshold 225 ms < p95 238 ms
    assert code == 4 and result["decision"] == "PIVOT"


def test_logpush_merge_feeds_analyze_soak(tmp_path: Path) -> None:
    folder = tmp_path / "logpush"
    batch: List[Dict[str, Any]] = []
    for e in events():
        batch.append(trace_event(e["ts"], e["log"], outcome=e["outcome"], ray=e["req"]))
    batch.sort(key=lambda r: r["EventTimestampMs"])
    half = len(batch) // 2
    write_batch(folder, T0 - 3_600_000, T0 + 3_000_000, batch[:half + 3], tag="aaaa0001")  # 3 rows sent twice
    write_batch(folder, T0 + 3_000_000, T0 + 10_000_000, batch[half:], tag="aaaa0002")
    logs = tmp_path / "logpush.ndjson"
    assert main(["fetch-logs", "-q", "--from-dir", str(folder), "--script", "bot", "--output", str(logs)]) == 0
    check_figures(*analyze(logs, tmp_path, "100"))
