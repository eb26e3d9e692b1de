"""The shipped modules in the real Workers runtime: a Worker importing the exported files runs
under `wrangler dev` (local workerd, offline); its console.log lines are the soak's input."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.workerd import bot_worker, json_events, post_update

REPO = Path(__file__).resolve().parents[2]
COMMANDS = ["/ping", "/ping", "/ping", "/fail", "/ping", "/ping"]


@dataclass
class Session:
    statuses: list[int]
    lines: list[str]  # wrangler dev's stdout, the Worker's console.log lines among them
    stdout_file: Path


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Session:
    """One Worker run shared by the tests below: COMMANDS sent one after another."""
    tmp_path = tmp_path_factory.mktemp("workerd")
    with bot_worker(tmp_path) as worker:
        statuses = [post_update(worker.url, i + 1, text) for i, text in enumerate(COMMANDS)]
        lines = worker.wait_for(
            lambda ls: len(json_events(ls, "cmd_timing")) >= len(COMMANDS), 30, "one cmd_timing per request"
        )
    stdout_file = tmp_path / "wrangler-stdout.txt"
    stdout_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Session(statuses, lines, stdout_file)


def test_first_request_cold_then_warm_in_workerd(session: Session) -> None:
    statuses, lines = session.statuses, session.lines
    assert statuses == [500 if c == "/fail" else 200 for c in COMMANDS]
    requests = json_events(lines, "request")
    timings = json_events(lines, "cmd_timing")
    assert len(requests) == len(COMMANDS)
    assert len(timings) == len(COMMANDS), "exactly one event per handled command"
    assert [r["cold"] for r in requests] == [True] + [False] * (len(COMMANDS) - 1)
    assert [t["cold"] for t in timings] == [True] + [False] * (len(COMMANDS) - 1)
    assert [t["cmd"] for t in timings] == COMMANDS
    ages = [t["isolateAgeMs"] for t in timings]
    assert ages == sorted(ages) and all(isinstance(a, int) and a >= 0 for a in ages)
    for timing in timings:
        assert set(timing) >= {"event", "cmd", "durationMs", "cold", "isolateAgeMs", "marks"}
        assert isinstance(timing["durationMs"], (int, float)) and timing["durationMs"] >= 0
        if timing["cmd"] == "/ping":
            assert set(timing["marks"]) == {"pong"}  # type: ignore[arg-type]
            assert "ok" not in timing
        else:
            assert timing["ok"] is False, "the failing handler is still timed"
    # The handler's error reached the Worker after the middleware logged and rethrew it.
    assert [line for line in lines if line.startswith("handler failed")] == ["handler failed: MongoNetworkError: simulated"]


def test_concurrent_burst_has_exactly_one_cold_request_and_secret_is_checked(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    secret = "test-webhook-secret-7f3a"
    header = {"X-Telegram-Bot-Api-Secret-Token": secret}
    burst = 8
    with bot_worker(tmp_path, vars={"TELEGRAM_WEBHOOK_SECRET": secret}) as worker:
        assert post_update(worker.url, 999, "/ping") == 403, "no secret header: rejected"
        with ThreadPoolExecutor(burst) as pool:
            statuses = list(pool.map(lambda i: post_update(worker.url, i, "/ping", header), range(1, burst + 1)))
        lines = worker.wait_for(lambda ls: len(json_events(ls, "cmd_timing")) >= burst, 30, "the burst's events")
    assert statuses == [200] * burst
    requests = json_events(lines, "request")
    assert len(requests) == burst + 1
    assert [r["cold"] for r in requests].count(True) == 1, "one isolate: only its first request is cold"
    assert requests[0]["cold"] is True, "the rejected request was the isolate's first"
    assert len(json_events(lines, "cmd_timing")) == burst


def test_set_last_cold_with_a_boolean_in_workerd(tmp_path: Path) -> None:
    # The seed names setLastCold() without a shape; a boolean must not read as warm, and a
    # wrong shape (a string) must fail loudly instead of logging the command as warm.
    boolean = {"X-Test-Cold-Shape": "boolean"}
    with bot_worker(tmp_path) as worker:
        statuses = [post_update(worker.url, 1, "/ping", boolean), post_update(worker.url, 2, "/ping", boolean),
                    post_update(worker.url, 3, "/ping", {"X-Test-Cold-Shape": "string"})]
        lines = worker.wait_for(lambda ls: len(json_events(ls, "cmd_timing")) >= 2
                                and any(line.startswith("setLastCold failed") for line in ls), 30, "the events")
    assert statuses == [200, 200, 500]
    timings = json_events(lines, "cmd_timing")
    assert [t["cold"] for t in timings] == [True, False], "the isolate's first request is cold, from a boolean"
    assert all("isolateAgeMs" not in t for t in timings), "a boolean carries no age; none is made up"
    failed = [line for line in lines if line.startswith("setLastCold failed")]
    assert len(failed) == 1 and failed[0].startswith("setLastCold failed: TypeError:"), failed


def _analyze(stdout_file: Path, *flags: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    proc = subprocess.run(
        [sys.executable, "-m", "cutover", "analyze-soak", "--input", str(stdout_file), "--json", "-",
         "--output", str(stdout_file.with_suffix(".md")), *flags],
        cwd=str(REPO), capture_output=True, text=True, timeout=120,
    )
    assert proc.stdout.strip(), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_analyze_soak_counts_match_the_requests_sent(session: Session) -> None:
    code, summary = _analyze(session.stdout_file)
    assert code == 0 and summary["decision"] == "REPORT-ONLY", summary
    assert summary["counts"]["cmd_timing"] == len(COMMANDS)
    assert summary["counts"]["cold_unknown"] == 0
    # Not asserted: mongo_connection_errors. wrangler dev's stdout is not one of analyze-soak's
    # input formats; its plain-text lines (like "handler failed: MongoNetworkError") count as
    # malformed there, while the JSON lines are read as plain NDJSON events.
    groups = {(g["cmd"], g["cold"]): g["count"] for g in summary["groups"]}
    assert groups == {("/ping", True): 1, ("/ping", False): COMMANDS.count("/ping") - 1,
                      ("/fail", False): COMMANDS.count("/fail")}
    assert summary["gate"]["cold_samples"] == 1


def test_analyze_soak_gate_uses_the_cold_sample(session: Session) -> None:
    cold_ms = json_events(session.lines, "cmd_timing")[0]["durationMs"]
    assert isinstance(cold_ms, (int, float)) and cold_ms > 0
    code, summary = _analyze(session.stdout_file, "--min-cold-samples", "1", "--baseline-cold-ping-ms", "100000")
    assert (code, summary["decision"]) == (0, "PROCEED")
    assert summary["gate"]["cold_p95_ms"] == cold_ms
    code, summary = _analyze(session.stdout_file, "--min-cold-samples", "1",
                             "--baseline-cold-ping-ms", str(cold_ms / 10))
    assert (code, summary["decision"]) == (4, "PIVOT")
    code, summary = _analyze(session.stdout_file, "--min-cold-samples", "2", "--baseline-cold-ping-ms", "100000")
    assert (code, summary["decision"]) == (5, "INCONCLUSIVE")
