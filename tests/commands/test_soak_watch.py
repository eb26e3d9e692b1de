"""soak-watch end to end: a 72 h soak compressed in time against the local telemetry peer
(injected clock, nothing sleeps), wrangler-tail pretty JSON on a pipe, kill -9 and restart,
and the figures checked against analyze-soak's on the same events."""
from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from cutover.cli import build_parser, main
from cutover.commands.soak_watch import options_from
from cutover.core.ratelimit import RateLimiter, cloudflare_budget
from cutover.soak.model import HOUR_MS
from cutover.soakwatch.run import Runtime, run
from tests.support import cf_telemetry
from tests.support.atlas_server import FakeAtlas
from tests.support.cf_telemetry import make_row
from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare, serving
from tests.support.soak_records import SOAK_T0, tail, tail_events, timing
from tests.support.soak_records import tail_format_json as pretty
from tests.support.tools import REPO

T0 = SOAK_T0  # 2026-11-27T18:00:00Z
SINCE = "2026-11-27T18:00:00Z"
BASELINE = "400"  # threshold 2.5 x 400 = 1000 ms
COMPARED = ("gate", "groups", "counts", "hourly", "span")


class FakeClock:
    """Wall time that moves only when the watch sleeps."""

    def __init__(self, start_s: float) -> None:
        self.now = start_s
        self.sleeps: List[float] = []
        self.on_sleep = lambda: None

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.on_sleep()


@pytest.fixture
def cf(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloudflare]:
    monkeypatch.delenv("BASELINE_COLD_PING_MS", raising=False)
    with serving(monkeypatch) as fake:
        yield fake


@pytest.fixture
def store(cf: FakeCloudflare) -> cf_telemetry.TelemetryStore:
    return cf_telemetry.install(cf)


def soak_rows(start_ms: int, hours: int, slow: Dict[int, int], cold_n: int = 20, warm_n: int = 4,
              seed: int = 7, thin: Dict[int, int] | None = None) -> List[Dict[str, Any]]:
    """Observability rows, `cold_n` cold (`thin[h]` in hour h) and `warm_n` warm cmd_timing per
    hour; in the hours of `slow` that many cold samples take 2-3 s (the rest 150-450 ms)."""
    rnd = random.Random(seed)
    rows = []
    for h in range(hours):
        cold_here = (thin or {}).get(h, cold_n)
        n = cold_here + warm_n
        for i in range(n):
            ts = start_ms + h * HOUR_MS + i * (HOUR_MS // n)
            cold = i < cold_here
            ms = rnd.uniform(2000, 3000) if cold and i < slow.get(h, 0) else rnd.uniform(150, 450)
            rows.append(make_row(ts, {"event": "cmd_timing", "cmd": rnd.choice(["/start", "/ping"]), "durationMs": ms,
                                      "cold": cold, "isolateAgeMs": 3}, request_id=f"r{h}-{i}", row_id=f"cmd-{h}-{i}"))
    return rows


def watch(argv: List[str], clock: FakeClock | None = None, stdin: bytes | None = None) -> int:
    args = build_parser().parse_args(["soak-watch", *argv])
    runtime = Runtime(stderr=io.StringIO())
    if clock is not None:
        runtime.clock, runtime.sleep = clock.time, clock.sleep
        # the watch's own window on the fake clock (the shared ledger runs on wall time)
        runtime.budget = lambda token, headroom: RateLimiter(
            window_limit=cloudflare_budget(headroom), clock=clock.time, sleep=clock.sleep)
    if stdin is not None:
        runtime.stdin = io.BytesIO(stdin)
    return run(options_from(args), runtime)


def analyze(tmp_path: Path, rows: List[Dict[str, Any]], *extra: str) -> tuple:
    path = tmp_path / "same-events.ndjson"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code = main(["analyze-soak", "--input", str(path), "--baseline-cold-ping-ms", BASELINE, "--output",
                 str(tmp_path / "a.md"), "--json", str(tmp_path / "a.json"), *extra])
    return code, json.loads((tmp_path / "a.json").read_text())


def api_argv(tmp_path: Path, *extra: str) -> List[str]:
    return ["--from-api", "--script", "bot", "--since", SINCE, "--baseline-cold-ping-ms", BASELINE,
            "--interval", "1h", "--api-delay", "2m", "--state", str(tmp_path / "state.json"),
            "--output", str(tmp_path / "w.md"), "--json", str(tmp_path / "w.json"), "--chart", str(tmp_path / "w.svg"), *extra]


def same_figures(watched: Dict[str, Any], analyzed: Dict[str, Any]) -> None:
    for key in COMPARED:
        if key == "gate":
            assert {k: v for k, v in watched[key].items()} == analyzed[key]
        else:
            assert watched[key] == analyzed[key], key


# -- the Observability API, a 72 h soak compressed in time -------------------------------------

def test_sustained_slow_cold_hours_stop_at_the_pull_that_completes_the_third(
        tmp_path: Path, store: cf_telemetry.TelemetryStore) -> None:
    rows = soak_rows(T0, 72, slow={40: 20, 41: 20, 42: 20})
    store.add(rows)
    clock = FakeClock(T0 / 1000)
    hook_out = tmp_path / "hook.env"
    code = watch(api_argv(tmp_path, "--on-stop", f"env > {hook_out}"), clock)
    assert code == 4
    out = json.loads((tmp_path / "w.json").read_text())
    assert out["decision"] == "PIVOT" and out["stop"]["condition"] == "cold_p95_sustained"
    assert out["stop"]["hour"] == "2026-11-29T12:00Z"  # T0 + 42 h, the last of the three slow hours
    # Hour 42 (12:00-13:00 on the 29th) is known complete once rows up to 13:00 are fetched:
    # the pull at T0 + 44h (43h58m after the 2 min ingestion delay); pulls at T0, T0+1h, ... so the 45th.
    assert out["watch"]["pulls"] == 45 and clock.now == T0 / 1000 + 44 * 3600
    assert all(s == 3600 for s in clock.sleeps)
    counted = [r for r in rows if r["timestamp"] <= T0 + 44 * HOUR_MS - 120_000]
    assert out["counts"]["cmd_timing"] == len(counted) == 44 * 24
    code_a, analyzed = analyze(tmp_path, counted)
    same_figures(out, analyzed)
    env = hook_out.read_text()
    assert "SOAK_DECISION=PIVOT" in env and "SOAK_CONDITION=cold_p95_sustained" in env and "SOAK_EXIT_CODE=4" in env
    assert TOKEN not in env and "CLOUDFLARE_API_TOKEN" not in env
    assert (tmp_path / "w.svg").read_text().startswith("<svg") and "Stopped by" in (tmp_path / "w.md").read_text()


def test_thin_slow_hours_do_not_stop_and_the_end_is_analyze_soaks_decision(
        tmp_path: Path, store: cf_telemetry.TelemetryStore) -> None:
    # Three slow hours in a row, but the middle one has only 19 cold samples: not enough to judge.
    rows = soak_rows(T0, 72, slow={40: 20, 41: 19, 42: 20}, thin={41: 19})
    store.add(rows)
    clock = FakeClock(T0 / 1000)
    code = watch(api_argv(tmp_path), clock)
    out = json.loads((tmp_path / "w.json").read_text())
    assert out["stop"] is None and out["watch"]["final"]
    hour41 = next(h for h in out["hourly"] if h["hour"].startswith("2026-11-29T11"))
    assert hour41["cold_count"] == 19 and hour41["cold_p95_ms"] > 1000
    # Rows up to the end of the window: the last pull is the first at which now - 2 min >= T0 + 72 h.
    assert out["watch"]["pulls"] == 74
    code_a, analyzed = analyze(tmp_path, rows)
    same_figures(out, analyzed)
    assert code == code_a == 0 and out["decision"] == analyzed["decision"] == "PROCEED"


def test_network_errors_wait_and_never_end_the_watch(tmp_path: Path, store: cf_telemetry.TelemetryStore) -> None:
    rows = soak_rows(T0, 6, slow={})
    store.add(rows)
    store.fail_after = 2  # an outage from the third query on ...
    clock = FakeClock(T0 / 1000)

    def recover() -> None:
        if len(clock.sleeps) == 6:
            store.fail_after = None  # ... over after a few pulls

    clock.on_sleep = recover
    assert watch(api_argv(tmp_path, "--duration", "6h"), clock) == 0
    out = json.loads((tmp_path / "w.json").read_text())
    assert out["watch"]["pull_errors"] == 3
    same_figures(out, analyze(tmp_path, rows)[1])


def test_mongo_errors_above_the_rate_stop_the_watch(tmp_path: Path, store: cf_telemetry.TelemetryStore) -> None:
    rows = soak_rows(T0, 6, slow={})
    errors = [make_row(T0 + 2 * HOUR_MS + 60_000 * i, f"MongoServerSelectionError: timed out {i}", request_id=f"e{i}",
                       row_id=f"err-{i}", level="error") for i in range(6)]
    store.add(rows + errors)
    clock = FakeClock(T0 / 1000)
    assert watch(api_argv(tmp_path, "--duration", "6h"), clock) == 4
    out = json.loads((tmp_path / "w.json").read_text())
    assert out["stop"]["condition"] == "mongo_connection_errors" and out["stop"]["hour"] == "2026-11-27T20:00Z"
    assert "6 Mongo connection errors" in out["stop"]["detail"] and "25.0 % of 24 commands" in out["stop"]["detail"]


def test_atlas_connections_above_60_pct_of_the_cap_stop_the_watch(
        tmp_path: Path, store: cf_telemetry.TelemetryStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.add(soak_rows(T0, 6, slow={}))
    level = {"connections": 100.0}
    atlas = FakeAtlas(connections=lambda: level["connections"], baseline=100.0).start()
    try:
        monkeypatch.setenv("ATLAS_API_BASE_URL", atlas.base_url)
        monkeypatch.setenv("ATLAS_PUBLIC_KEY", atlas.public_key)
        monkeypatch.setenv("ATLAS_PRIVATE_KEY", atlas.private_key)
        clock = FakeClock(T0 / 1000)

        def climb() -> None:
            if len(clock.sleeps) == 3:
                level["connections"] = 320.0

        clock.on_sleep = climb
        code = watch(api_argv(tmp_path, "--duration", "6h", "--atlas-group", "5f1a2b3c4d5e6f7a8b9c0d1e",
                              "--atlas-process", "cluster0-shard-00-01.ab1cd.mongodb.net:27017"), clock)
    finally:
        atlas.stop()
    assert code == 4
    out = json.loads((tmp_path / "w.json").read_text())
    assert out["stop"]["condition"] == "atlas_connections" and "above 60 % of the cap 500 = 300" in out["stop"]["detail"]
    assert out["watch"]["pulls"] == 4 and out["watch"]["atlas"]["peak"] >= 320


# -- kill -9 and restart (real processes) ------------------------------------------------------

def _cutover(argv: List[str], env: Dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cutover", *argv], env=env, cwd=str(REPO),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_kill_9_mid_watch_and_restart_count_nothing_twice(tmp_path: Path, cf: FakeCloudflare,
                                                         store: cf_telemetry.TelemetryStore) -> None:
    import time

    start = (int(time.time() * 1000) // HOUR_MS - 10) * HOUR_MS  # a 6 h soak that ended hours ago
    rows = soak_rows(start, 6, slow={})
    # A row exactly on each hour boundary: the peer returns it for both frames around it.
    rows += [make_row(start + h * HOUR_MS, {"event": "cmd_timing", "cmd": "/edge", "durationMs": 5.0 + h, "cold": True},
                      request_id=f"edge{h}", row_id=f"edge-{h}") for h in range(1, 6)]
    store.add(rows)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE_", "ATLAS_", "BASELINE_"))}
    env.update(PYTHONPATH=str(REPO), CLOUDFLARE_API_TOKEN=TOKEN, CLOUDFLARE_ACCOUNT_ID=ACCOUNT_ID,
               CLOUDFLARE_API_BASE_URL=cf.api_base)
    state = tmp_path / "state.json"
    argv = ["soak-watch", "--from-api", "--script", "bot", "--since", str(start), "--duration", "6h",
            "--interval", "1s", "--api-delay", "1s", "--baseline-cold-ping-ms", BASELINE, "--state", str(state),
            "--output", str(tmp_path / "w.md"), "--json", str(tmp_path / "w.json")]
    started = threading.Event()
    proc: Dict[str, subprocess.Popen] = {}

    def kill_at_fourth_query(answered: int) -> None:
        if answered == 4 and started.wait(30):
            os.kill(proc["first"].pid, signal.SIGKILL)

    store.on_query = kill_at_fourth_query
    proc["first"] = _cutover(argv, env)
    started.set()
    proc["first"].communicate(timeout=120)
    assert proc["first"].returncode == -signal.SIGKILL
    saved = json.loads(state.read_text())["state"]
    assert saved["covered_ms"] == start + 3 * HOUR_MS  # three hourly frames were saved before the kill
    store.on_query = None

    second = _cutover(argv, env)
    _out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert "resuming from" in err
    out = json.loads((tmp_path / "w.json").read_text())
    assert out["counts"]["records"] == out["counts"]["cmd_timing"] == len(rows)
    edge = [g for g in out["groups"] if g["cmd"] == "/edge"]
    assert edge and edge[0]["count"] == 5
    same_figures(out, analyze(tmp_path, rows)[1])


# -- a stream: wrangler tail --format json -----------------------------------------------------

def test_follows_tail_on_a_pipe_and_stops_before_eof(tmp_path: Path) -> None:
    events = tail_events(8, slow={2, 3, 4})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLOUDFLARE_", "BASELINE_"))}
    env["PYTHONPATH"] = str(REPO)
    proc = subprocess.Popen([sys.executable, "-m", "cutover", "soak-watch", "--input", "-", "--baseline-cold-ping-ms",
                             BASELINE, "--output", str(tmp_path / "w.md"), "--json", str(tmp_path / "w.json")],
                            env=env, cwd=str(tmp_path), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(pretty(events))
    proc.stdin.flush()  # the pipe stays open: the watch must decide without waiting for EOF
    try:
        code = proc.wait(timeout=120)
    finally:
        proc.kill()
        stderr = proc.stderr.read().decode() if proc.stderr else ""
        proc.wait()
        proc.stdin.close()
    assert code == 4, stderr
    out = json.loads((tmp_path / "w.json").read_text())
    assert out["stop"]["condition"] == "cold_p95_sustained" and out["stop"]["hour"] == "2026-11-27T22:00Z"
    # Hour 4 is known complete when the first event of hour 5 arrives; nothing after it is counted.
    counted = events[: 5 * 40 + 1]
    assert out["counts"]["cmd_timing"] == len(counted)
    path = tmp_path / "counted.json"
    path.write_bytes(pretty(counted))
    main(["analyze-soak", "--input", str(path), "--baseline-cold-ping-ms", BASELINE, "--output", str(tmp_path / "a.md"),
          "--json", str(tmp_path / "a.json")])
    same_figures(out, json.loads((tmp_path / "a.json").read_text()))
    assert "STOP (cold_p95_sustained)" in stderr and "20:00" in stderr


@pytest.mark.parametrize(("slow", "per_hour"), [
    (set(), 40),  # healthy: PROCEED
    ({1, 2, 3, 4, 5}, 30),  # slow, but the hours are thin (15 cold each): no stop; analyze-soak says PIVOT
    ({0}, 6),  # 18 cold samples in all: INCONCLUSIVE
])
def test_at_eof_the_decision_is_analyze_soaks(tmp_path: Path, slow: set, per_hour: int) -> None:
    events = tail_events(6, slow=slow, per_hour=per_hour, seed=len(slow))
    data = pretty(events)
    code = watch(["--input", "-", "--baseline-cold-ping-ms", BASELINE, "--output", str(tmp_path / "w.md"),
                  "--json", str(tmp_path / "w.json")], stdin=data)
    (tmp_path / "tail.json").write_bytes(data)
    code_a = main(["analyze-soak", "--input", str(tmp_path / "tail.json"), "--baseline-cold-ping-ms", BASELINE,
                   "--output", str(tmp_path / "a.md"), "--json", str(tmp_path / "a.json")])
    out, analyzed = json.loads((tmp_path / "w.json").read_text()), json.loads((tmp_path / "a.json").read_text())
    assert out["stop"] is None and code == code_a and out["decision"] == analyzed["decision"]
    same_figures(out, analyzed)


def test_duration_ends_a_stream_in_event_time(tmp_path: Path) -> None:
    events = tail_events(6, slow=set())
    code = watch(["--input", "-", "--duration", "2h", "--baseline-cold-ping-ms", BASELINE, "--output", str(tmp_path / "w.md"),
                  "--json", str(tmp_path / "w.json")], stdin=pretty(events))
    out = json.loads((tmp_path / "w.json").read_text())
    assert code == 0 and out["counts"]["cmd_timing"] == 80 and out["counts"]["outside_window"] == 1
    assert out["watch"]["window"] == {"since": "2026-11-27T18:00:00.000Z", "until": "2026-11-27T20:00:00.000Z"}


def test_a_restarted_pipe_goes_on_from_the_state(tmp_path: Path) -> None:
    events = tail_events(4, slow=set())
    argv = ["--input", "-", "--baseline-cold-ping-ms", BASELINE, "--state", str(tmp_path / "s.json"),
            "--output", str(tmp_path / "w.md"), "--json", str(tmp_path / "w.json")]
    watch(argv, stdin=pretty(events[:70]))
    watch(argv, stdin=pretty(events[70:]))
    out = json.loads((tmp_path / "w.json").read_text())
    (tmp_path / "all.json").write_bytes(pretty(events))
    main(["analyze-soak", "--input", str(tmp_path / "all.json"), "--baseline-cold-ping-ms", BASELINE,
          "--output", str(tmp_path / "a.md"), "--json", str(tmp_path / "a.json")])
    same_figures(out, json.loads((tmp_path / "a.json").read_text()))


def test_state_with_a_file_input_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.json").write_text("{}")
    assert main(["soak-watch", "--input", str(tmp_path / "x.json"), "--state", str(tmp_path / "s.json")]) == 2
    assert "--state resumes --from-api or --input -" in capsys.readouterr().err


def test_a_file_that_is_no_log_export_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "page.html").write_text("<html>\n<body>502 Bad Gateway</body>\n</html>\n")
    assert main(["soak-watch", "--input", str(tmp_path / "page.html"), "--output", str(tmp_path / "w.md")]) == 1
    assert "not a log export" in capsys.readouterr().err.strip().splitlines()[-1]


def test_budget_headroom_takes_a_share_and_the_old_spelling_stays() -> None:
    def options(*extra: str) -> Any:
        return options_from(build_parser().parse_args(["soak-watch", "--from-api", "--script", "bot", *extra]))

    assert options().budget_headroom == 0.1
    assert options("--budget-headroom", "20%").budget_headroom == 0.2
    assert options("--headroom", "0.3").budget_headroom == 0.3
    with pytest.raises(SystemExit) as info:
        options("--budget-headroom", "100%")
    assert info.value.code == 2


def test_the_api_pulls_count_against_the_tokens_shared_budget(tmp_path: Path, cf: FakeCloudflare,
                                                             store: cf_telemetry.TelemetryStore) -> None:
    """Without a test clock the watch paces through the token's one budget, shared with the other
    cutover processes on this machine: its requests are in the token's ledger."""
    import time

    from cutover.core.ratelimit import ledger_path

    start = (int(time.time() * 1000) // HOUR_MS - 10) * HOUR_MS  # a 2 h soak that ended hours ago
    store.add(soak_rows(start, 2, slow={}))
    ledger = Path(ledger_path(TOKEN, cf.api_base))
    before = ledger.read_text().count("\n") if ledger.exists() else 0
    code = watch(["--from-api", "--script", "bot", "--since", str(start), "--duration", "2h", "--interval", "1s",
                  "--api-delay", "1s", "--baseline-cold-ping-ms", BASELINE, "--state", str(tmp_path / "s.json"),
                  "--output", str(tmp_path / "w.md")])
    assert code in (0, 5)
    assert ledger.exists() and ledger.read_text().count("\n") > before


def test_the_stop_line_reaches_the_operator_under_q_and_nothing_else_does(tmp_path: Path) -> None:
    """-q drops progress and notes, never the verdict: the STOP line is shown, as itself (not a warning)."""
    events = tail_events(6, slow={1, 2, 3})
    args = build_parser().parse_args(["soak-watch", "-q", "--input", "-", "--baseline-cold-ping-ms", BASELINE,
                                      "--output", str(tmp_path / "w.md")])
    runtime = Runtime(stderr=io.StringIO(), stdin=io.BytesIO(pretty(events)))
    assert run(options_from(args), runtime) == 4
    lines = runtime.stderr.getvalue().splitlines()  # type: ignore[union-attr]
    assert len(lines) == 1 and lines[0].startswith("soak-watch: STOP (cold_p95_sustained)"), lines


def test_an_atlas_condition_can_be_switched_off() -> None:
    parse = build_parser().parse_args
    assert options_from(parse(["soak-watch", "--input", "-", "--atlas-max-pct", "off"])).atlas_max_pct is None
    assert options_from(parse(["soak-watch", "--input", "-"])).atlas_max_pct == 60.0


# -- --gate-cmd: the gate (live and final) on one command's cold samples, as analyze-soak -------

def mixed_events(hours: int, slow_cmd: str, per_hour_ping: int = 100, per_hour_start: int = 5) -> List[Dict[str, Any]]:
    """Each hour: many cold /ping and a few cold /start (plus as many warm); `slow_cmd` is slow when cold.
    /start is under 5 % of the cold samples, so its slowness hides in the all-commands P95."""
    rnd = random.Random(3)
    events = []
    for h in range(hours):
        cmds = ["/ping"] * per_hour_ping + ["/start"] * per_hour_start
        rnd.shuffle(cmds)
        n = len(cmds) * 2
        for i in range(n):
            cmd, cold = cmds[i // 2], i % 2 == 0
            ms = rnd.uniform(2000, 3000) if cold and cmd == slow_cmd else rnd.uniform(100, 400)
            events.append(tail([[json.dumps(timing(cmd, ms, cold))]], ts=T0 + h * HOUR_MS + i * (HOUR_MS // n)))
    return events


def gate_argv(tmp_path: Path, *extra: str) -> List[str]:
    return ["--input", "-", "--baseline-cold-ping-ms", BASELINE, "--min-cold-samples", "5",
            "--output", str(tmp_path / "w.md"), "--json", str(tmp_path / "w.json"), *extra]


def analyze_pretty(tmp_path: Path, events: List[Dict[str, Any]], *extra: str) -> tuple:
    (tmp_path / "same.json").write_bytes(pretty(events))
    code = main(["analyze-soak", "--input", str(tmp_path / "same.json"), "--baseline-cold-ping-ms", BASELINE,
                 "--min-cold-samples", "5", "--output", str(tmp_path / "a.md"), "--json", str(tmp_path / "a.json"), *extra])
    return code, json.loads((tmp_path / "a.json").read_text())


def test_gate_cmd_stops_on_that_commands_slow_hours_that_all_commands_hide(tmp_path: Path) -> None:
    events = mixed_events(6, slow_cmd="/start")
    # All commands: /start's slow samples are under 5 % of the cold ones: no stop, PROCEED, as analyze-soak.
    assert watch(gate_argv(tmp_path), stdin=pretty(events)) == 0
    code_a, everything = analyze_pretty(tmp_path, events)
    assert code_a == 0 and everything["gate"]["cmd"] is None
    same_figures(json.loads((tmp_path / "w.json").read_text()), everything)
    # --gate-cmd /start: three slow /start hours stop the watch at the first event of the fourth hour.
    assert watch(gate_argv(tmp_path, "--gate-cmd", "/start"), stdin=pretty(events)) == 4
    out = json.loads((tmp_path / "w.json").read_text())
    assert out["stop"]["condition"] == "cold_p95_sustained" and out["stop"]["hour"] == "2026-11-27T20:00Z"
    assert "/start" in out["stop"]["detail"]
    counted = events[: 3 * 210 + 1]
    assert out["counts"]["cmd_timing"] == len(counted)
    code_a, start_only = analyze_pretty(tmp_path, counted, "--gate-cmd", "/start")
    assert start_only["gate"]["cmd"] == "/start" and start_only["decision"] == "PIVOT"
    same_figures(out, start_only)


def test_gate_cmd_keeps_a_slow_other_command_from_stopping_and_decides_as_analyze_soak(tmp_path: Path) -> None:
    events = mixed_events(6, slow_cmd="/ping")
    assert watch(gate_argv(tmp_path), stdin=pretty(events)) == 4  # all commands: /ping's slow hours stop it
    code = watch(gate_argv(tmp_path, "--gate-cmd", "/start"), stdin=pretty(events))
    out = json.loads((tmp_path / "w.json").read_text())
    code_a, analyzed = analyze_pretty(tmp_path, events, "--gate-cmd", "/start")
    assert out["stop"] is None and code == code_a == 0 and out["decision"] == analyzed["decision"] == "PROCEED"
    same_figures(out, analyzed)
    assert out["watch"]["limits"]["gate_cmd"] == "/start"


def test_a_restarted_pipe_keeps_the_gate_cmd_it_started_with(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = mixed_events(2, slow_cmd="/start")
    state = str(tmp_path / "s.json")
    assert watch(gate_argv(tmp_path, "--gate-cmd", "/start", "--state", state), stdin=pretty(events[:100])) in (0, 5)
    args = gate_argv(tmp_path, "--gate-cmd", "/ping", "--state", state)
    assert main(["soak-watch", *args]) == 1
    assert "--gate-cmd /start" in capsys.readouterr().err
