"""fetch-logs end to end: the CLI against the local Cloudflare fake and Logpush folders."""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from cutover.cli import main
from tests.support import cf_telemetry
from tests.support.cf_telemetry import make_row
from tests.support.cfapi import TOKEN, FakeCloudflare, serving
from tests.support.httpserver import Fault
from tests.support.logpush_files import trace_event, write_batch

T0 = 1_795_802_400_000  # 2026-11-27T18:00:00Z
SINCE, UNTIL = "2026-11-27T18:00:00Z", "2026-11-27T20:00:00Z"


@pytest.fixture
def cf(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloudflare]:
    with serving(monkeypatch) as fake:
        yield fake


@pytest.fixture
def store(cf: FakeCloudflare) -> cf_telemetry.TelemetryStore:
    return cf_telemetry.install(cf)


def soak_rows(n: int) -> List[Dict[str, Any]]:
    """n cmd_timing rows over two hours, every 7th one cold, plus a request row each."""
    rows = []
    for i in range(n):
        ts = T0 + i * (7_200_000 // n)
        cold = i % 7 == 0
        rows.append(make_row(ts, {"event": "request", "cold": cold, "isolateAgeMs": 3},
                             request_id=f"r{i}", row_id=f"req-{i}"))
        rows.append(make_row(ts + 1, {"event": "cmd_timing", "cmd": "/start", "durationMs": 100.0 + i, "cold": cold,
                                      "isolateAgeMs": 17}, request_id=f"r{i}", row_id=f"cmd-{i}"))
    return rows


def read_ndjson(path: Path) -> List[Dict[str, Any]]:
    raw = path.read_bytes()
    if path.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return [json.loads(line) for line in raw.decode("utf-8").splitlines()]


def fetch(tmp_path: Path, *extra: str, output: str = "cf-logs.ndjson.gz") -> int:
    return main(["fetch-logs", "--script", "bot", "--since", SINCE, "--until", UNTIL,
                 "--output", str(tmp_path / output), "--json", str(tmp_path / "summary.json"), *extra])


def summary(tmp_path: Path) -> Dict[str, Any]:
    return json.loads((tmp_path / "summary.json").read_text())


def test_fetches_the_whole_window_through_truncated_pages(
    tmp_path: Path, store: cf_telemetry.TelemetryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    store.add(soak_rows(300))
    store.add([make_row(T0 + 5, {"event": "cmd_timing"}, script="other", row_id="other-1")])
    assert fetch(tmp_path, "--limit", "50") == 0
    rows = read_ndjson(tmp_path / "cf-logs.ndjson.gz")
    assert len(rows) == 600
    assert {r["$metadata"]["id"] for r in rows} == {f"req-{i}" for i in range(300)} | {f"cmd-{i}" for i in range(300)}
    assert all({"$metadata", "$workers", "source", "timestamp"} <= set(r) for r in rows)
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)
    s = summary(tmp_path)
    assert s["rows"] == 600 and s["complete"] and s["gaps"] == [] and s["splits"] > 0
    assert s["from"] == "2026-11-27T18:00:00.000Z" and s["to"] == "2026-11-27T20:00:00.000Z"
    assert s["first_row"] == "2026-11-27T18:00:00.000Z"
    err = capsys.readouterr().err
    assert "600 rows" in err and TOKEN not in err
    assert not (tmp_path / "cf-logs.ndjson.gz.partial").exists()
    assert not (tmp_path / "cf-logs.ndjson.gz.checkpoint.json").exists()


def test_resume_after_an_interruption(
    tmp_path: Path, store: cf_telemetry.TelemetryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    store.add(soak_rows(200))
    store.fail_after = 6  # Cloudflare starts refusing mid-way
    assert fetch(tmp_path, "--limit", "40", "--frame", "20m") == 1
    err = capsys.readouterr().err
    assert "--resume" in err and "injected failure" in err
    partial = tmp_path / "cf-logs.ndjson.gz.partial"
    checkpoint = json.loads((tmp_path / "cf-logs.ndjson.gz.checkpoint.json").read_text())
    assert 0 < checkpoint["state"]["rows"] < 400
    with open(partial, "ab") as handle:  # a crash while the next frame was being written
        handle.write(b"\x1f\x8b\x08half a gzip member")
    store.fail_after = None
    assert fetch(tmp_path, "--limit", "40", "--frame", "20m") == 1  # refuses to clobber the interrupted run
    assert "--resume" in capsys.readouterr().err
    assert main(["fetch-logs", "--script", "bot", "--output", str(tmp_path / "cf-logs.ndjson.gz"), "--resume",
                 "--limit", "40", "--json", str(tmp_path / "summary.json")]) == 0
    rows = read_ndjson(tmp_path / "cf-logs.ndjson.gz")
    ids = [r["$metadata"]["id"] for r in rows]
    assert len(ids) == 400 == len(set(ids))
    s = summary(tmp_path)
    assert s["resumed"] and s["rows"] == 400 and s["complete"]


def test_429_is_waited_out_and_counted(tmp_path: Path, cf: FakeCloudflare, store: cf_telemetry.TelemetryStore) -> None:
    store.add(soak_rows(20))
    cf.inject(Fault("status", path="telemetry/query", status=429, count=3,
                    headers={"Retry-After": "0"},
                    body=b'{"success":false,"errors":[{"code":971,"message":"Please wait"}]}'))
    assert fetch(tmp_path) == 0
    s = summary(tmp_path)
    assert s["throttled"] == 3 and s["rows"] == 40


def test_empty_window_writes_an_empty_file_and_reports_the_silence(
    tmp_path: Path, store: cf_telemetry.TelemetryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fetch(tmp_path, output="empty.ndjson") == 0
    assert (tmp_path / "empty.ndjson").read_bytes() == b""
    s = summary(tmp_path)
    assert s["rows"] == 0 and s["first_row"] is None
    assert s["quiet"] == [{"from": "2026-11-27T18:00:00.000Z", "to": "2026-11-27T20:00:00.000Z", "minutes": 120.0}]
    assert "quiet" in capsys.readouterr().err


def test_lost_coverage_is_reported_not_hidden(
    tmp_path: Path, store: cf_telemetry.TelemetryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    store.add([make_row(T0 + 60_000, {"event": "request"}, row_id=f"burst-{i}") for i in range(30)])
    store.ignore_offset = True  # the API cursor never moves on
    assert fetch(tmp_path, "--limit", "10") == 1
    err = capsys.readouterr().err
    assert "GAP" in err and "coverage incomplete" in err
    s = summary(tmp_path)
    assert not s["complete"] and len(s["gaps"]) == 1 and s["rows"] == 10
    assert (tmp_path / "cf-logs.ndjson.gz").exists()


def test_sampled_results_are_flagged(tmp_path: Path, store: cf_telemetry.TelemetryStore,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    store.add(soak_rows(5))
    store.abr_level = 10
    assert fetch(tmp_path) == 0
    assert summary(tmp_path)["sampled"] is True
    assert "sampled" in capsys.readouterr().err


def test_only_events_filters_on_the_server(tmp_path: Path, store: cf_telemetry.TelemetryStore) -> None:
    store.add(soak_rows(10))
    assert fetch(tmp_path, "--only-events", "cmd_timing") == 0
    assert {r["source"]["event"] for r in read_ndjson(tmp_path / "cf-logs.ndjson.gz")} == {"cmd_timing"}
    assert store.queries[0]["parameters"]["filters"][1]["kind"] == "group"


def test_refusals(tmp_path: Path, store: cf_telemetry.TelemetryStore, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cf-logs.ndjson.gz").write_bytes(b"keep me")
    assert fetch(tmp_path) == 1
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "cf-logs.ndjson.gz").read_bytes() == b"keep me"
    assert fetch(tmp_path, "--force", "--limit", "0") == 2
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "not-the-token-987")
    assert fetch(tmp_path, "--force") == 1
    err = capsys.readouterr().err
    assert "Workers Observability Read" in err and "not-the-token-987" not in err
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    assert fetch(tmp_path, "--force") == 1
    assert "CLOUDFLARE_API_TOKEN" in capsys.readouterr().err
    assert main(["fetch-logs", "--since", "1h", "--output", str(tmp_path / "x")]) == 2  # no --script
    assert main(["fetch-logs", "--script", "bot", "--since", "2h", "--until", "3h", "--output", str(tmp_path / "x")]) == 2
    assert main(["fetch-logs", "--from-dir", str(tmp_path), "--soak-only", "--output", str(tmp_path / "x")]) == 2
    capsys.readouterr()
    assert main(["fetch-logs", "--script", "bot", "--output", str(tmp_path / "y"), "--resume"]) == 1
    err = capsys.readouterr().err
    assert "nothing to resume" in err and "--since" in err and len(err.strip().splitlines()) == 1


def test_resume_without_a_checkpoint_starts_from_since(
    tmp_path: Path, store: cf_telemetry.TelemetryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    store.add(soak_rows(50))
    assert fetch(tmp_path, "--resume") == 0
    err = capsys.readouterr().err
    checkpoint = tmp_path / "cf-logs.ndjson.gz.checkpoint.json"
    assert f"no checkpoint at {checkpoint}: starting from the beginning" in err
    assert len(read_ndjson(tmp_path / "cf-logs.ndjson.gz")) == 100
    s = summary(tmp_path)
    assert s["resumed"] is False and s["rows"] == 100 and s["complete"]
    # the finished output is not replaced by a second --resume without --force
    before = (tmp_path / "cf-logs.ndjson.gz").read_bytes()
    assert fetch(tmp_path, "--resume") == 1
    assert "already exists; add --force" in capsys.readouterr().err
    assert (tmp_path / "cf-logs.ndjson.gz").read_bytes() == before
    assert fetch(tmp_path, "--resume", "--force") == 0


def test_budget_headroom_takes_a_share_and_the_old_spelling_stays() -> None:
    from cutover.cli import build_parser

    def parsed(*extra: str) -> Any:
        return build_parser().parse_args(["fetch-logs", "--output", "o.ndjson", *extra])

    assert parsed().budget_headroom == 0.1 and parsed().api_limit is None
    assert parsed("--budget-headroom", "25%").budget_headroom == 0.25
    assert parsed("--budget-headroom", "0.3").budget_headroom == 0.3
    assert parsed("--headroom", "0.2").budget_headroom == 0.2
    assert parsed("--api-limit", "600/300").api_limit == (600, 300.0)
    assert "--headroom" not in build_parser()._subparsers._group_actions[0].choices["fetch-logs"].format_help()
    for bad in ("100%", "1.5", "-1", "lots"):
        with pytest.raises(SystemExit) as info:
            parsed("--budget-headroom", bad)
        assert info.value.code == 2


def test_dry_run_sends_nothing(tmp_path: Path, cf: FakeCloudflare, store: cf_telemetry.TelemetryStore,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert fetch(tmp_path, "--dry-run", "--soak-only") == 0
    out = capsys.readouterr().out
    assert '"view": "events"' in out and cf.log == []
    assert not (tmp_path / "cf-logs.ndjson.gz").exists()


def test_logpush_folder_merge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "logpush"
    first = [trace_event(T0 + 1000 * i, {"event": "cmd_timing", "cmd": "/start", "durationMs": 10.0 * i, "cold": i == 0})
             for i in range(30)]
    second = [trace_event(T0 + 60_000 + 1000 * i, {"event": "cmd_timing", "cmd": "/help", "durationMs": 5.0,
                                                    "cold": False}) for i in range(30)]
    write_batch(folder, T0 + 30_000, T0 + 90_000, second + first[:5], tag="00000002")  # redelivered rows
    write_batch(folder, T0, T0 + 30_000, first, tag="00000001")
    write_batch(folder, T0 + 3_600_000, T0 + 3_630_000, [trace_event(T0 + 3_600_000, "late")], tag="00000003")
    out = tmp_path / "merged.ndjson.gz"
    assert main(["fetch-logs", "--from-dir", str(folder), "--script", "bot", "--output", str(out),
                 "--json", str(tmp_path / "summary.json")]) == 0
    rows = read_ndjson(out)
    assert len(rows) == 61
    assert [r["EventTimestampMs"] for r in rows] == sorted(r["EventTimestampMs"] for r in rows)
    s = summary(tmp_path)
    assert s["source"] == "logpush" and s["files"] == 3 and s["duplicates_skipped"] == 5
    assert len(s["uncovered"]) == 1 and s["uncovered"][0]["from"] == "2026-11-27T18:01:30.000Z"
    assert "no file covers" in capsys.readouterr().err


def test_ctrl_c_saves_progress_and_resume_finishes(
    tmp_path: Path, store: cf_telemetry.TelemetryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    import os
    import signal

    store.add(soak_rows(120))

    def interrupt(answered: int) -> None:
        if answered == 4:  # a real SIGINT while the CLI waits for the 4th answer
            os.kill(os.getpid(), signal.SIGINT)

    store.on_query = interrupt
    assert fetch(tmp_path, "--frame", "15m", output="soak.ndjson") == 130
    err = capsys.readouterr().err
    assert "--resume" in err
    saved = json.loads((tmp_path / "soak.ndjson.checkpoint.json").read_text())["state"]
    assert 0 < saved["rows"] < 240
    store.on_query = None
    assert fetch(tmp_path, "--resume", "--frame", "15m", output="soak.ndjson") == 0
    ids = [r["$metadata"]["id"] for r in read_ndjson(tmp_path / "soak.ndjson")]
    assert len(ids) == 240 == len(set(ids))


def test_a_page_cut_short_while_the_count_says_more_is_fetched_on(
    tmp_path: Path, store: cf_telemetry.TelemetryStore
) -> None:
    store.add(soak_rows(1500))  # 3,000 rows
    store.page_cap = 500  # asked for 2,000, the API serves 500 while `count` says 3,000
    assert fetch(tmp_path, "--limit", "2000") == 0
    rows = read_ndjson(tmp_path / "cf-logs.ndjson.gz")
    assert len(rows) == 3000 and len({r["$metadata"]["id"] for r in rows}) == 3000
    assert summary(tmp_path)["complete"]


def test_a_short_page_that_cannot_be_fetched_on_is_a_gap(
    tmp_path: Path, store: cf_telemetry.TelemetryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    store.add([make_row(T0 + 60_000, {"event": "request"}, row_id=f"burst-{i}") for i in range(30)])
    store.page_cap = 10
    store.ignore_offset = True
    assert fetch(tmp_path, "--limit", "50") == 1
    assert "GAP" in capsys.readouterr().err
    s = summary(tmp_path)
    assert not s["complete"] and s["rows"] == 10
