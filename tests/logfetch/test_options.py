"""fetch-logs' options resolved: durations, the window, the filters, whether --output may be written."""
from __future__ import annotations

from pathlib import Path

import pytest

from cutover.errors import CutoverError, UsageError
from cutover.logfetch.options import FetchOptions, check_output, duration_ms, filters, window
from cutover.logfetch.query import events_filter, script_filter, soak_filter

NOW = 1_795_900_000_000


def test_durations_are_spans_not_times() -> None:
    assert duration_ms("30m", "--frame") == 1_800_000 and duration_ms("1h", "--quiet-gap") == 3_600_000
    for bad in ("now", "2026-11-27", "soon", "0"):
        with pytest.raises(UsageError, match="--frame"):
            duration_ms(bad, "--frame")


def test_the_window_defaults_to_now_and_since_is_required_for_the_api() -> None:
    assert window(FetchOptions("o", since="2h"), NOW, required=True) == (NOW - 7_200_000, NOW)
    assert window(FetchOptions("o", since="2h", until="1h"), NOW, required=True) == (NOW - 7_200_000, NOW - 3_600_000)
    assert window(FetchOptions("o"), NOW, required=False) == (None, None)
    assert window(FetchOptions("o", until="1h"), NOW, required=False) == (None, NOW - 3_600_000)
    with pytest.raises(UsageError, match="--since is required"):
        window(FetchOptions("o"), NOW, required=True)
    with pytest.raises(UsageError, match="is not before --until"):
        window(FetchOptions("o", since="1h", until="2h"), NOW, required=True)


def test_event_names_split_on_commas_and_build_the_filters() -> None:
    options = FetchOptions("o", script="bot", only_events=("cmd_timing, request", "", "x,"), soak_only=True)
    assert options.event_names == ("cmd_timing", "request", "x")
    assert filters(options) == [script_filter("bot"), events_filter(["cmd_timing", "request", "x"]), soak_filter()]
    assert filters(FetchOptions("o", script="bot")) == [script_filter("bot")]


def test_output_is_never_replaced_without_force(tmp_path: Path) -> None:
    check_output(FetchOptions("-"))
    check_output(FetchOptions(str(tmp_path / "new.ndjson")))
    with pytest.raises(UsageError, match="is a directory"):
        check_output(FetchOptions(str(tmp_path), force=True))
    (tmp_path / "old.ndjson").write_text("{}\n")
    with pytest.raises(CutoverError, match="already exists; add --force"):
        check_output(FetchOptions(str(tmp_path / "old.ndjson"), resume=True))
    check_output(FetchOptions(str(tmp_path / "old.ndjson"), force=True))
