"""The burst fired once at a real Worker: the test bot under `wrangler dev` (local workerd)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cutover.cli import main
from tests.support.workerd import bot_worker, json_events

SECRET = "burst-Secret_for_workerd"


def test_burst_against_wrangler_dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    with bot_worker(tmp_path, {"TELEGRAM_WEBHOOK_SECRET": SECRET}) as worker:
        code = main(["synthetic-burst", "--url", worker.url + "/telegram", "-n", "20", "--timeout", "60",
                     "--json", str(tmp_path / "first.json")])
        lines = worker.wait_for(lambda ls: len(json_events(ls, "cmd_timing")) >= 20, 30, "20 cmd_timing events")
        monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "not-the-secret")
        wrong = main(["synthetic-burst", "--url", worker.url + "/telegram", "-n", "2", "--json", str(tmp_path / "second.json")])
    first = json.loads((tmp_path / "first.json").read_text())
    second = json.loads((tmp_path / "second.json").read_text())
    assert code == 0 and wrong == 0
    assert SECRET not in capsys.readouterr().out
    assert first["summary"]["status_codes"] == {"200": 20}, first["summary"]
    assert first["summary"]["errors"] == 0 and first["waves"][0]["release_skew_ms"] is not None
    timings = json_events(lines, "cmd_timing")
    assert len(timings) == 20 and {t["cmd"] for t in timings} == {"/ping"}
    assert second["summary"]["status_codes"] == {"403": 2}, "the Worker checks the secret header"
