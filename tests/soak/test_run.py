"""analyze-soak's run, piece by piece: the window, the bad-input lines, the chart link, writes."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

import pytest

from cutover.core.console import Console
from cutover.errors import CutoverError, UsageError
from cutover.soak.analyze import InputSummary
from cutover.soak.options import AnalyzeOptions
from cutover.soak.run import analysis, chart_link, check_inputs, run, why_no_records, window, write

NOW = 1_795_900_000_000


def source(name: str = "a.ndjson", container: str = "ndjson", records: int = 0, malformed: int = 0,
           unrecognized: int = 0, kept_without_time: int = 0, timed: bool = False) -> InputSummary:
    return InputSummary(name, container, {}, records, malformed, 0, unrecognized, kept_without_time, timed)


def test_window_reads_the_one_time_grammar_and_needs_until_after_since() -> None:
    assert window(None, None, NOW) == (None, None)
    assert window("2026-11-27T18:00:00Z", None, NOW) == (1_795_802_400_000, None)
    assert window("1h", "now", NOW) == (NOW - 3_600_000, NOW)
    for since, until in (("1h", "2h"), ("2026-11-28", "2026-11-28")):
        with pytest.raises(UsageError, match="--until must be later than --since"):
            window(since, until, NOW)
    with pytest.raises(UsageError, match="--since"):
        window("yesterday-ish", None, NOW)


def test_analysis_resolves_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASELINE_COLD_PING_MS", "420")
    core = analysis(AnalyzeOptions(inputs=("x",), since="1h", exact=True, chart="c.svg", quiet=True), NOW)
    assert (core.baseline_cold_ping_ms, core.since_ms, core.until_ms) == (420.0, NOW - 3_600_000, None)
    assert (core.fast, core.chart, core.progress) == (False, True, False)
    with pytest.raises(UsageError, match="--mongo-error-pattern"):
        analysis(AnalyzeOptions(mongo_error_pattern="("), NOW)


def test_why_no_records_says_what_the_file_is() -> None:
    assert why_no_records(source(container="empty")).startswith("is empty")
    assert "3 malformed" in why_no_records(source(malformed=3))
    assert "2 row(s) without a log column" in why_no_records(source(container="csv", unrecognized=2))
    assert "2 value(s) of an unknown shape" in why_no_records(source(unrecognized=2))
    assert "empty export" in why_no_records(source())


def test_check_inputs_refuses_what_is_no_export_and_warns_about_the_rest() -> None:
    import io

    stream = io.StringIO()
    console = Console(stream=stream)
    good = source("good", records=5, timed=True)
    with pytest.raises(CutoverError, match="--input bad: not a log export"):
        check_inputs([good, source("bad", malformed=1)], "", console)
    with pytest.raises(CutoverError, match="--input e: is empty"):
        check_inputs([source("e", container="empty")], "", console)
    check_inputs([good, source("e", container="empty")], "", console)
    assert stream.getvalue() == "warning: --input e is empty: no records in it\n"
    with pytest.raises(CutoverError, match="--since asked, but no timestamp could be read in it"):
        check_inputs([source("t", container="tail-pretty", records=4, kept_without_time=4)], "--since", console)
    check_inputs([source("m", records=4, kept_without_time=1, timed=True)], "--since and --until", console)
    assert "1 event(s) have no readable time and were kept although --since and --until" in stream.getvalue()
    quiet = io.StringIO()
    check_inputs([good, source("e", container="empty")], "", Console(quiet=True, stream=quiet))
    assert quiet.getvalue() == ""


def test_the_chart_link_is_relative_to_the_report_and_encoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert chart_link(None, "r.md") is None and chart_link("-", "r.md") is None
    assert chart_link("charts/soak day 1.svg", "r.md") == "charts/soak%20day%201.svg"
    assert chart_link("soak.svg", "reports/r.md") == "../soak.svg"
    assert chart_link(str(tmp_path / "x#1.svg"), "-") == "x%231.svg"
    link = chart_link("a/b/c.svg", "a/r.md")
    assert link is not None and os.path.normpath(os.path.join(tmp_path, "a", unquote(link))) == str(tmp_path / "a/b/c.svg")


def test_write_replaces_a_file_but_writes_a_device_in_place(tmp_path: Path) -> None:
    target = tmp_path / "r.md"
    target.write_text("old")
    write(str(target), "new")
    assert target.read_text() == "new"
    write(os.devnull, "into the void")  # must not try to rename over /dev/null
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)


def test_run_refuses_stdin_twice_and_two_stdout_outputs_before_reading() -> None:
    with pytest.raises(UsageError, match="stdin"):
        run(AnalyzeOptions(inputs=("-", "-")))
    with pytest.raises(UsageError, match="--output - and --json - cannot share stdout"):
        run(AnalyzeOptions(inputs=("missing.ndjson",), output="-", json="-"))
