"""The shipped modules in the real Workers runtime: a Worker importing the exported files runs
under `wrangler dev` (local workerd, offline); its console.log lines are the soak's input."""
from __future__ import annotations

from pathlib import Path

from tests.support.workerd import bot_worker, json_events, post_update

COMMANDS = ["/ping", "/ping", "/ping", "/fail", "/ping", "/ping"]


def test_first_request_cold_then_warm_in_workerd(tmp_path: Path) -> None:
    with bot_worker(tmp_path) as worker:
        statuses = [post_update(worker.url, i + 1, text) for i, text in enumerate(COMMANDS)]
        lines = worker.wait_for(
            lambda ls: len(json_events(ls, "cmd_timing")) >= len(COMMANDS), 30, "one cmd_timing per request"
        )
    (tmp_path / "wrangler-stdout.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")

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
    assert json_events(lines, "handler_error") == [{"event": "handler_error", "name": "MongoNetworkError"}]
