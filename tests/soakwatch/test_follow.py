"""soak-watch --input FILE follows a log that is still being written (like `tail -F`): appends,
a value cut mid-write, rotation by rename, truncation in place, a file that is not there yet,
Ctrl-C. A real file is written between the watch's sleeps (an injected clock: nothing waits);
every loop ends by the window, a stop, or the fake clock passing the window's end."""
from __future__ import annotations

import io
import json
import os
import random
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest

from cutover.cli import build_parser, main
from cutover.commands.soak_watch import options_from
from cutover.errors import CutoverError, UsageError
from cutover.soak.model import HOUR_MS
from cutover.soakwatch.run import Runtime, run
from tests.support.soak_records import SOAK_T0, timing
from tests.support.soak_records import tail_events as events
from tests.support.soak_records import tail_format_json as pretty

T0 = SOAK_T0  # 2026-11-27T18:00:00Z
BASELINE = "400"  # threshold 2.5 x 400 = 1000 ms
COMPARED = ("gate", "groups", "counts", "hourly", "span")


@pytest.fixture(autouse=True)
def _no_env_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASELINE_COLD_PING_MS", raising=False)


class Writer:
    """The other process: a wall clock that moves only when the watch sleeps, and at each of
    those sleeps the next step of what a `wrangler tail > soak.log` (or logrotate) does."""

    def __init__(self, start_s: float, steps: List[Callable[[], None]] | None = None) -> None:
        self.now = start_s
        self.sleeps: List[float] = []
        self.steps = list(steps or [])

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds
        if self.steps:
            self.steps.pop(0)()
        assert len(self.sleeps) < 100_000, "the follow loop did not end"


def append(path: Path, data: bytes) -> Callable[[], None]:
    def step() -> None:
        with open(path, "ab") as f:
            f.write(data)
    return step


def watch(argv: List[str], clock: Writer) -> tuple:
    args = build_parser().parse_args(["soak-watch", *argv])
    runtime = Runtime(clock=clock.time, sleep=clock.sleep, stderr=io.StringIO())
    code = run(options_from(args), runtime)
    return code, runtime.stderr.getvalue()  # type: ignore[union-attr]


def outputs(tmp_path: Path, *extra: str) -> List[str]:
    return ["--baseline-cold-ping-ms", BASELINE, "--output", str(tmp_path / "w.md"), "--json", str(tmp_path / "w.json"),
            *extra]


def analyzed(tmp_path: Path, evs: List[Dict[str, Any]], *extra: str) -> Dict[str, Any]:
    (tmp_path / "same.json").write_bytes(pretty(evs))
    main(["analyze-soak", "--input", str(tmp_path / "same.json"), "--baseline-cold-ping-ms", BASELINE,
          "--output", str(tmp_path / "a.md"), "--json", str(tmp_path / "a.json"), *extra])
    return json.loads((tmp_path / "a.json").read_text())


def same_figures(watched: Dict[str, Any], expected: Dict[str, Any]) -> None:
    for key in COMPARED:
        assert watched[key] == expected[key], key


def test_a_growing_file_is_followed_to_the_stop_and_a_half_written_value_waits(tmp_path: Path) -> None:
    evs = events(8, slow={2, 3, 4})
    log = tmp_path / "soak.log"
    log.write_bytes(pretty(evs[:60]))  # hour 0 and half of hour 1 when the watch starts
    rest = pretty(evs[60:])
    # The writer goes on in pieces that end anywhere, mid-value included.
    cuts = sorted(random.Random(5).sample(range(1, len(rest)), 200))
    pieces = [rest[a:b] for a, b in zip([0, *cuts], [*cuts, len(rest)])]
    clock = Writer(T0 / 1000 + 1800, [append(log, p) for p in pieces])
    code, err = watch(["--input", str(log), *outputs(tmp_path)], clock)
    assert code == 4, err
    out = json.loads((tmp_path / "w.json").read_text())
    assert out["stop"]["condition"] == "cold_p95_sustained" and out["stop"]["hour"] == "2026-11-27T22:00Z"
    # Hour 4 is known complete at the first event of hour 5; nothing after it is counted, nothing is malformed.
    counted = evs[: 5 * 40 + 1]
    assert out["counts"]["malformed"] == 0 and out["counts"]["cmd_timing"] == len(counted)
    same_figures(out, analyzed(tmp_path, counted))
    assert clock.sleeps and clock.steps, "it stopped while the writer still had lines to write"


def test_the_end_of_the_window_ends_the_follow_with_analyze_soaks_decision(tmp_path: Path) -> None:
    evs = events(3, slow=set())
    log = tmp_path / "soak.log"
    log.write_bytes(pretty(evs[:30]))
    clock = Writer(T0 / 1000 + 600, [append(log, pretty(evs[30:80])), append(log, pretty(evs[80:]))])
    code, err = watch(["--input", str(log), "--duration", "2h", *outputs(tmp_path)], clock)
    out = json.loads((tmp_path / "w.json").read_text())
    assert code == 0 and out["stop"] is None and out["decision"] == "PROCEED", err
    assert out["counts"]["cmd_timing"] == 80 and out["counts"]["outside_window"] == 1  # the first event of hour 2 ends it
    assert len(clock.sleeps) == 2
    same_figures(out, analyzed(tmp_path, evs[:81], "--since", str(T0), "--until", str(T0 + 2 * HOUR_MS)))


def test_a_quiet_writer_is_waited_for_until_the_clock_passes_the_windows_end(tmp_path: Path) -> None:
    evs = events(2, slow=set())
    log = tmp_path / "soak.log"
    log.write_bytes(pretty(evs[:40]) + pretty(evs[40:41])[:25])  # the last value half written ...
    clock = Writer(T0 / 1000 + 3600)
    code, err = watch(["--input", str(log), "--duration", "2h", *outputs(tmp_path)], clock)
    out = json.loads((tmp_path / "w.json").read_text())
    # ... and never finished: the writer died. The window (first event + 2h) passed on the clock,
    # plus the grace for late lines: the decision on what arrived; the cut value is malformed.
    assert code == 0 and out["decision"] == "PROCEED" and out["counts"]["cmd_timing"] == 40
    assert out["counts"]["malformed"] == 1
    assert T0 / 1000 + 2 * 3600 <= clock.now <= T0 / 1000 + 2 * 3600 + 600
    assert out["watch"]["final"]
    assert "has not grown" in err  # the quiet file is said, once per quiet spell
    assert err.count("has not grown") == 1


def test_rotation_by_rename_and_truncation_reopen_the_file_by_name(tmp_path: Path) -> None:
    evs = events(4, slow=set())
    log = tmp_path / "soak.log"
    log.write_bytes(pretty(evs[:50]))

    def rotate() -> None:  # logrotate's rename: the writer finishes its value in the old file, then a new one
        with open(log, "ab") as f:
            f.write(pretty(evs[50:60]))
        os.rename(log, tmp_path / "soak.log.1")
        log.write_bytes(pretty(evs[60:70])[:40])

    def truncate() -> None:  # copytruncate: the same file emptied in place, the writer goes on from 0
        with open(log, "r+b") as f:
            f.truncate(0)
        log.write_bytes(pretty(evs[90:100]))

    clock = Writer(T0 / 1000 + 3600, [
        rotate,
        append(log, pretty(evs[60:70])[40:] + pretty(evs[70:90])),
        truncate,
        append(log, pretty(evs[100:])),
    ])
    code, err = watch(["--input", str(log), "--duration", "3h", *outputs(tmp_path)], clock)
    out = json.loads((tmp_path / "w.json").read_text())
    assert code == 0, err
    # Every event once: none lost at the rotation, none counted twice after the truncation.
    assert out["counts"]["cmd_timing"] == 120 and out["counts"]["malformed"] == 0
    assert out["counts"]["records"] == 121  # the first event of hour 3 ended the window
    same_figures(out, analyzed(tmp_path, evs[:121], "--since", str(T0), "--until", str(T0 + 3 * HOUR_MS)))
    assert err.count("was replaced") == 1 and err.count("was truncated") == 1


def test_a_log_of_a_finished_soak_is_read_once_and_no_follow_never_waits(tmp_path: Path) -> None:
    evs = events(3, slow=set())
    log = tmp_path / "soak.log"
    log.write_bytes(pretty(evs))
    later = Writer(T0 / 1000 + 10 * 86400)  # the soak's window ended days ago: nothing more will come
    assert watch(["--input", str(log), *outputs(tmp_path)], later)[0] == 0
    assert later.sleeps == []
    now = Writer(T0 / 1000 + 3 * 3600)  # the window is open, but --no-follow reads to the end once
    code, _err = watch(["--input", str(log), "--no-follow", *outputs(tmp_path)], now)
    assert code == 0 and now.sleeps == []
    out = json.loads((tmp_path / "w.json").read_text())
    same_figures(out, analyzed(tmp_path, evs))


def test_events_without_a_time_give_no_window_and_the_file_is_read_once(tmp_path: Path) -> None:
    log = tmp_path / "events.ndjson"
    log.write_text("".join(json.dumps(timing("/start", 100.0 + i, True)) + "\n" for i in range(30)))
    clock = Writer(T0 / 1000)
    code, err = watch(["--input", str(log), *outputs(tmp_path)], clock)
    assert code == 0 and clock.sleeps == [], err
    assert json.loads((tmp_path / "w.json").read_text())["counts"]["cmd_timing"] == 30


def test_a_file_that_is_no_log_export_is_an_error_before_any_wait(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html>\n<body>502 Bad Gateway</body>\n</html>\n")
    clock = Writer(T0 / 1000)
    with pytest.raises(CutoverError, match="not a log export"):
        watch(["--input", str(page), *outputs(tmp_path)], clock)
    assert clock.sleeps == []


def test_a_missing_file_is_one_line_with_what_to_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["soak-watch", "--input", str(tmp_path / "soak.log"), "--output", str(tmp_path / "w.md")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "soak.log" in err[0] and "--wait-for-file" in err[0]


def test_wait_for_file_waits_for_the_writer_to_create_it(tmp_path: Path) -> None:
    evs = events(2, slow=set())
    log = tmp_path / "soak.log"
    clock = Writer(T0 / 1000, [lambda: None, lambda: None, lambda: log.write_bytes(b""),
                               append(log, pretty(evs)), append(log, pretty(events(1, set(), start=T0 + 3 * HOUR_MS)))])
    code, err = watch(["--input", str(log), "--wait-for-file", "--duration", "2h", *outputs(tmp_path)], clock)
    out = json.loads((tmp_path / "w.json").read_text())
    assert code == 0 and out["counts"]["cmd_timing"] == 80, err
    assert err.count("waiting for") == 1


def test_wait_for_file_gives_up_at_the_end_of_the_window(tmp_path: Path) -> None:
    clock = Writer(T0 / 1000)
    with pytest.raises(CutoverError, match="never appeared"):
        watch(["--input", str(tmp_path / "soak.log"), "--wait-for-file", "--duration", "1h", *outputs(tmp_path)], clock)
    assert 3600 <= clock.now - T0 / 1000 <= 3600 + 600


def test_ctrl_c_while_following_leaves_the_report_of_the_figures_so_far(tmp_path: Path) -> None:
    evs = events(2, slow=set())
    log = tmp_path / "soak.log"
    log.write_bytes(pretty(evs[:30]))

    def interrupt() -> None:
        raise KeyboardInterrupt

    clock = Writer(T0 / 1000 + 600, [append(log, pretty(evs[30:50])), interrupt])
    with pytest.raises(KeyboardInterrupt):
        watch(["--input", str(log), *outputs(tmp_path)], clock)
    out = json.loads((tmp_path / "w.json").read_text())
    assert out["counts"]["cmd_timing"] == 50 and out["watch"]["final"] is False


@pytest.mark.parametrize("argv, message", [
    (["--input", "-", "--no-follow"], "--no-follow"),
    (["--input", "-", "--wait-for-file"], "--wait-for-file"),
    (["--from-api", "--script", "bot", "--no-follow"], "--no-follow"),
    (["--input", "x.log", "--no-follow", "--wait-for-file"], "--wait-for-file"),
])
def test_follow_flags_only_with_a_file(argv: List[str], message: str) -> None:
    args = build_parser().parse_args(["soak-watch", *argv])
    with pytest.raises(UsageError, match=message):
        run(options_from(args), Runtime(stderr=io.StringIO()))


def test_a_compressed_log_is_read_once_even_while_the_window_is_open(tmp_path: Path) -> None:
    import gzip

    evs = events(2, slow=set())
    log = tmp_path / "logpush.json.gz"
    log.write_bytes(gzip.compress(pretty(evs)))
    clock = Writer(T0 / 1000 + 3 * 3600)  # a Logpush file is written whole: nothing is waited for
    code, err = watch(["--input", str(log), *outputs(tmp_path)], clock)
    assert code == 0 and clock.sleeps == [], err
    same_figures(json.loads((tmp_path / "w.json").read_text()), analyzed(tmp_path, evs))


def test_a_csv_export_is_counted_as_it_is_read_not_after_64k(tmp_path: Path) -> None:
    evs = events(1, slow=set(), per_hour=10) + events(1, slow=set(), per_hour=1, start=T0 + HOUR_MS)  # the last ends it
    log = tmp_path / "export.csv"
    header = "timestamp,outcome,message\n"
    rows = [f"{e['eventTimestamp']},ok,\"{e['logs'][0]['message'][0].replace(chr(34), chr(34) * 2)}\"\n" for e in evs]
    log.write_text(header + "".join(rows[:4]))
    seen: List[int] = []

    def look() -> None:
        seen.append(json.loads((tmp_path / "w.json").read_text())["counts"]["cmd_timing"])
        with open(log, "a") as f:
            f.write("".join(rows[4:]))

    clock = Writer(T0 / 1000 + 600, [lambda: None, look])  # the report is written at the first status tick (1 s)
    code, err = watch(["--input", str(log), "--duration", "1h", "--interval", "1s", *outputs(tmp_path)], clock)
    assert seen == [4], err  # the four rows there at the start were counted before the writer wrote more
    assert json.loads((tmp_path / "w.json").read_text())["counts"]["cmd_timing"] == 10
