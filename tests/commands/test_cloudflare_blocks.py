"""Cloudflare's 5-minute block (over 1,200 requests / 5 min on a token: *every* call answers 429
for 5 minutes) waited out by every paced Cloudflare caller, not only backfill-kv: backfill-d1
--mode api, fetch-logs and soak-watch against the fake Cloudflare API, whose clock and ours move
only when cutover sleeps (time.time / time.sleep patched: nothing really waits)."""
from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

import cutover.core.http  # noqa: F401  (imported before time.sleep is patched: its defaults stay the real ones)
from cutover.cli import build_parser, main
from tests.support import cf_d1, cf_telemetry
from tests.support.cfapi import FakeCloudflare, point_cutover_at

# "Another client" has used all but this many of the token's requests: the fake blocks the
# token past it, while our own budget (1,080 of 1,200) would allow many more.
LEFT_IN_WINDOW = 3
BLOCK_LINE = re.compile(r"^429: waiting 5m00s: Cloudflare blocked this token \(more than 1,200 requests per 5m00s\); until "
                        r"\d\d:\d\d:\d\dZ, then sending again \(block wait (\d) of 3\)", re.M)


class WallClock:
    """Wall time that moves only when something sleeps."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))
        self.sleeps: List[float] = []
        self.on_sleep: Callable[[float], None] = lambda seconds: None

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep(seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> WallClock:
    wall = WallClock()
    monkeypatch.setattr(time, "time", wall.time)
    monkeypatch.setattr(time, "sleep", wall.sleep)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # this test's own budget ledger (it holds the block)
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.chdir(tmp_path)
    return wall


@pytest.fixture
def cf(clock: WallClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloudflare]:
    fake = FakeCloudflare(window_limit=LEFT_IN_WINDOW, clock=clock.time)
    with fake:
        point_cutover_at(fake, monkeypatch)
        yield fake


def keep_blocking_after_the_first_block(fake: FakeCloudflare, clock: WallClock) -> None:
    """From the first block on, the other client keeps the token over its limit: every request
    after each block starts a new one."""
    def stay_over(seconds: float) -> None:
        if fake.rate_limited:
            fake.window_limit = 0
            clock.on_sleep = lambda seconds: None

    clock.on_sleep = stay_over


def block_waits(err: str) -> List[int]:
    return [int(k) for k in BLOCK_LINE.findall(err)]


# -- backfill-d1 --mode api ---------------------------------------------------------------------

DB_UUID = "5d0b7e4c-1111-4222-8333-944455556666"
DDL = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"


def d1_workdir(tmp_path: Path, n: int) -> List[str]:
    from cutover.mongo import ejson
    from tests.support.cfapi import ACCOUNT_ID

    lines = [json.dumps(json.loads(ejson.dumps({"_id": i + 1, "body": f"note {i} " + "x" * 50_000}))) for i in range(n)]
    (tmp_path / "notes.json").write_text("\n".join(lines) + "\n")
    (tmp_path / "schema.sql").write_text(DDL + "\n")
    (tmp_path / "rollback.json").write_text(json.dumps({
        "mongo": {"source": "export:.", "database": "bot"},
        "cloudflare": {"account_id": ACCOUNT_ID},
        "d1": {"database": "notes", "database_id": DB_UUID, "table": "notes", "collection": "notes", "schema": "schema.sql"},
    }))
    return ["backfill-d1", "--config", "rollback.json", "--mode", "api", "--max-statement-bytes", "10000",
            "--rate", "1000"]


def test_backfill_d1_api_waits_out_a_block_mid_run(cf: FakeCloudflare, clock: WallClock,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = cf_d1.install(cf).create(DB_UUID, "notes", DDL)
    args = d1_workdir(Path.cwd(), 80)
    started = clock.now
    assert main(args) == 0
    err = capsys.readouterr().err
    assert db.rows("SELECT count(*), min(id), max(id), sum(length(body)) FROM notes")[0] == (
        80, 1, 80, sum(len(f"note {i} ") + 50_000 for i in range(80)))
    assert cf.rate_limited >= 2  # blocked more than once mid-run ...
    assert block_waits(err) == [1] * cf.rate_limited, err  # ... and each block waited out once, said as such
    assert 300 * cf.rate_limited <= clock.now - started < 300 * cf.rate_limited + 10
    assert not Path("backfill-d1.sql.checkpoint.json").exists()


def test_backfill_d1_api_blocked_beyond_its_waits_stops_resumably(cf: FakeCloudflare, clock: WallClock,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    db = cf_d1.install(cf).create(DB_UUID, "notes", DDL)
    args = d1_workdir(Path.cwd(), 80)
    keep_blocking_after_the_first_block(cf, clock)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert block_waits(err) == [1, 2, 3]
    last = err.strip().splitlines()[-1]
    assert "still blocked after 3 waits" in last and "--resume" in last, last
    assert cf.rate_limited == 4
    checkpoint = json.loads(Path("backfill-d1.sql.checkpoint.json").read_text())
    done = checkpoint["state"]["done"]
    assert 0 < done < checkpoint["state"]["total"]
    cf.window_limit = 1200  # the other client stopped
    assert main(args + ["--resume"]) == 0
    assert db.rows("SELECT count(*), min(id), max(id) FROM notes")[0] == (80, 1, 80)


# -- fetch-logs ----------------------------------------------------------------------------------

T0 = 1_795_802_400_000  # 2026-11-27T18:00:00Z


def log_rows(n: int) -> List[Any]:
    from tests.support.cf_telemetry import make_row

    return [make_row(T0 + i * (7_200_000 // n), {"event": "cmd_timing", "cmd": "/start", "durationMs": float(i), "cold": i % 4 == 0},
                     request_id=f"r{i}", row_id=f"cmd-{i}") for i in range(n)]


def fetch(*extra: str) -> int:
    return main(["fetch-logs", "--script", "bot", "--since", "2026-11-27T18:00:00Z", "--until", "2026-11-27T20:00:00Z",
                 "--output", "logs.ndjson", "--json", "summary.json", "--limit", "20", "--frame", "10m", *extra])


def fetched_ids() -> List[str]:
    return [json.loads(line)["$metadata"]["id"] for line in Path("logs.ndjson").read_text().splitlines()]


def test_fetch_logs_waits_out_a_block_mid_run(cf: FakeCloudflare, clock: WallClock,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cf_telemetry.install(cf).add(log_rows(100))
    assert fetch() == 0
    err = capsys.readouterr().err
    assert sorted(fetched_ids()) == sorted(f"cmd-{i}" for i in range(100))
    summary = json.loads(Path("summary.json").read_text())
    assert summary["complete"] and summary["throttled"] == cf.rate_limited >= 2
    assert block_waits(err) == [1] * cf.rate_limited, err


def test_fetch_logs_blocked_beyond_its_waits_stops_resumably(cf: FakeCloudflare, clock: WallClock,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    cf_telemetry.install(cf).add(log_rows(100))
    keep_blocking_after_the_first_block(cf, clock)
    assert fetch() == 1
    err = capsys.readouterr().err
    assert block_waits(err) == [1, 2, 3]
    last = err.strip().splitlines()[-1]
    assert "still blocked after 3 waits" in last and "--resume" in last, last
    assert Path("logs.ndjson.checkpoint.json").exists()
    cf.window_limit = 1200
    assert main(["fetch-logs", "--script", "bot", "--output", "logs.ndjson", "--resume", "--limit", "20",
                 "--json", "summary.json"]) == 0
    assert sorted(fetched_ids()) == sorted(f"cmd-{i}" for i in range(100))  # every row once


# -- soak-watch --from-api ----------------------------------------------------------------------

def test_soak_watch_waits_out_a_block_and_misses_no_pull(cf: FakeCloudflare, clock: WallClock,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from cutover.commands.soak_watch import options_from
    from cutover.soakwatch.run import Runtime, run

    rows = log_rows(100)
    cf_telemetry.install(cf).add(rows)
    clock.now = T0 / 1000 + 12 * 3600 + 120  # started late: the first pull catches up 12 hourly frames at once
    args = build_parser().parse_args([
        "soak-watch", "--from-api", "--script", "bot", "--since", "2026-11-27T18:00:00Z", "--duration", "12h",
        "--baseline-cold-ping-ms", "400", "--interval", "10m", "--api-delay", "1m",
        "--state", "state.json", "--output", "w.md", "--json", "w.json"])
    # the watch's own clock and sleep are the patched ones (soak-watch takes them from its Runtime)
    code = run(options_from(args), Runtime(stderr=io.StringIO(), clock=clock.time, sleep=clock.sleep))
    err = capsys.readouterr().err
    out = json.loads(Path("w.json").read_text())
    assert code == 0 and out["decision"] == "PROCEED" and out["watch"]["pull_errors"] == 0
    assert out["counts"]["cmd_timing"] == len(rows)
    assert cf.rate_limited >= 2 and block_waits(err) == [1] * cf.rate_limited, err


# -- backfill-kv: the block waits moved from kv.api into the client; the operator still hears of them

def test_backfill_kv_waits_out_blocks_with_fresh_ttls_and_says_so(cf: FakeCloudflare, clock: WallClock,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support import cf_kv
    from tests.support.kvdata import NAMESPACE, assert_kv_matches, write_config, write_export

    cf_kv.install(cf, cf_kv.KVState(clock=clock.time)).create_namespace(NAMESPACE)
    # keys expiring within a minute die during the first 5-minute wait; others live ~10 minutes
    expected = write_export(Path("dump"), 120, int(clock.now * 1000), with_invalid=False)
    cfg = write_config(Path("rollback.json"), Path("dump"))
    assert main(["backfill-kv", "--config", str(cfg), "--batch-size", "10", "--json", "summary.json"]) == 0
    err = capsys.readouterr().err
    assert cf.rate_limited >= 2 and block_waits(err) == [1] * cf.rate_limited, err
    assert err.count("Cloudflare answered 429") == cf.rate_limited  # kv's own report, through the client's hook
    # every write carries the TTL of its moment: none outlives Mongo's expiry, none died-by-then written
    assert_kv_matches(cf.kv, expected, clock.now)  # type: ignore[attr-defined]
    module = json.loads(Path("summary.json").read_text())["modules"]["sessions"]
    assert module["failed"] == 0 and module["written"] + module["expired"] == 120
    assert module["written"] == len(cf.kv.ever_written)  # type: ignore[attr-defined]
    assert module["expired"] > sum(1 for i in range(120) if i % 6 == 2)  # more than the long dead: died waiting
