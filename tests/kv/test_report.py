"""backfill-kv's summary: the headline and the --json document tell one story."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cutover.core.console import Console
from cutover.core.progress import format_duration
from cutover.kv.options import BackfillKVOptions, resolve
from cutover.kv.problems import ProblemLog
from cutover.kv.report import Reporter
from cutover.kv.stats import ModuleStats
from tests.support.kvdata import write_config


@pytest.mark.parametrize("elapsed", [1.4996, 2.5004, 0.4999, 59.4996, 3725.0])
def test_the_headline_shows_the_duration_the_json_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str], elapsed: float) -> None:
    """A run of 1.4996 s was 'in 1s' in the headline and 1.5 (= 2s) in the JSON: two roundings of one
    time disagreed whenever a run's length lay within half a millisecond of a half second."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dump").mkdir()
    cfg = write_config(tmp_path / "rollback.json", tmp_path / "dump")
    settings = resolve(BackfillKVOptions(config=str(cfg), dry_run=True, json="summary.json"))
    reporter = Reporter(settings, Console(True, False), 1080)
    reporter.summary({"sessions": ModuleStats()}, None, 2, elapsed / 2, elapsed, 0, ProblemLog(None))
    summary = json.loads((tmp_path / "summary.json").read_text())
    headline = capsys.readouterr().out.splitlines()[0]
    assert headline.endswith(f" in {format_duration(summary['elapsed_s'])} over 2 runs "
                             f"(this one {format_duration(summary['this_run']['elapsed_s'])})"), (headline, summary)
