"""The drill end to end: python-only, with real wrangler, and from the pyz as an unprivileged
user with an unwritable HOME."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cutover.cli import main
from tests.support.tools import IN_CI, REPO, wrangler_bin

STEP_NAMES = {
    "backfill-kv --emit", "backfill-d1 --output", "apply KV", "apply D1", "re-apply D1 (upsert is rerunnable)",
    "verify restore equals Mongo", "tamper (drop a key, change a row)", "verify catches the tampering",
    "repair by re-applying the same files", "verify after repair", "analyze-soak (sample soak log)",
}


def _check(result: dict) -> None:
    assert result["ok"] is True, [s for s in result["steps"] if not s["ok"]]
    assert {s["name"] for s in result["steps"]} == STEP_NAMES


def test_python_only_path(tmp_path, capsys):
    workdir = tmp_path / "drill"
    assert main(["drill", "--no-wrangler", "--workdir", str(workdir), "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    _check(result)
    assert "SQLite" in result["targets"]
    assert (workdir / "state" / "trading.sqlite").exists() and (workdir / "reports" / "soak-decision.md").exists()


def test_default_temp_workdir_is_removed_when_all_pass(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no wrangler: python-only
    assert main(["drill"]) == 0
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line.startswith("  ") and "targets:" not in line]
    # The README tells the operator every step must say `ok`: the table says exactly that.
    assert len(steps) == len(STEP_NAMES) and all(line.split()[0] == "ok" for line in steps), out
    assert out.splitlines()[-1].startswith("ok: every step")
    assert "PASS" not in out
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_foreign_non_empty_workdir(tmp_path, capsys):
    (tmp_path / "precious.txt").write_text("do not touch")
    assert main(["drill", "--workdir", str(tmp_path)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").read_text() == "do not touch"


def test_real_wrangler_path(tmp_path, capsys):
    wrangler = wrangler_bin()
    assert main(["drill", "--wrangler", wrangler, "--workdir", str(tmp_path / "d"), "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    _check(result)
    assert "wrangler" in result["targets"] and "--local" in result["targets"]


def test_pyz_drill_as_nobody_with_unwritable_home():
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        if IN_CI:
            pytest.fail("CI runs as root with setpriv")
        pytest.skip("needs root + setpriv")
    d = Path(tempfile.mkdtemp(prefix="cutover-drill-pyz-"))
    try:
        d.chmod(0o755)
        subprocess.run([sys.executable, str(REPO / "build.py"), "--output", str(d / "cutover.pyz")], check=True,
                       capture_output=True, timeout=600)
        tmp = d / "tmp"
        tmp.mkdir()
        tmp.chmod(0o777)
        python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or sys.executable
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent-home", "TMPDIR": str(tmp), "LANG": "C.UTF-8"}
        done = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", python, str(d / "cutover.pyz"),
                               "drill", "--json", "-"], cwd="/", env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        _check(json.loads(done.stdout))
        assert list(tmp.iterdir()) == []  # its temp work dir is gone, nothing extracted
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_failed_step_says_fail_and_the_verdict_too(tmp_path, capsys):
    from cutover.drill.run import table, verdict_line
    from cutover.drill.steps import Step

    lines = table([Step("apply KV", True, "10 keys"), Step("verify after repair", False, "exit 4")]).splitlines()
    assert [line.split()[0] for line in lines] == ["ok", "FAIL"]
    assert verdict_line(False).startswith("FAIL:") and verdict_line(True).startswith("ok:")


def test_verify_detail_counts_expiring_keys(tmp_path):
    """10 keys, one of them expiring during the drill: the line must add up to 10, not read '9 equal'."""
    from cutover.drill.steps import _verify_counts

    report = tmp_path / "verify.json"
    modules = {
        "sessions": {"equal": 4, "missing": 0, "extra": 0, "different": 0, "resurrected": 0, "expiring": 1},
        "prefs": {"equal": 3, "missing": 0, "extra": 0, "different": 0, "resurrected": 0, "expiring": 0},
        "rate_limits": {"equal": 2, "missing": 0, "extra": 0, "different": 0, "resurrected": 0, "expiring": 0},
    }
    report.write_text(json.dumps({"modules": modules, "d1": {"equal": 6, "missing": 0, "extra": 0, "different": 0}}))
    line = _verify_counts(str(report))
    assert "10 keys" in line and "9 equal" in line and "1 expiring" in line, line
    assert "D1 6 rows: 6 equal, 0 differing" in line, line
    modules["sessions"]["expiring"] = 0
    modules["sessions"]["equal"] = 5
    report.write_text(json.dumps({"modules": modules}))
    assert _verify_counts(str(report)) == "KV 10 keys: 10 equal, 0 differing"


def test_the_steps_run_commands_through_the_entry_point_they_are_given(tmp_path, capsys):
    """The drill rehearses real command lines through DrillOptions.run_cutover (the CLI passes
    cli.main): a runner that refuses everything fails every step that needs a command."""
    from cutover.drill.run import DrillOptions
    from cutover.drill.run import run as drill
    from cutover.errors import EXIT_ERROR

    seen = []

    def refusing(argv):
        seen.append(list(argv))
        print("refused by the test")
        return 1

    assert drill(DrillOptions(run_cutover=refusing, workdir=str(tmp_path / "d"), no_wrangler=True, json="-")) == EXIT_ERROR
    result = json.loads(capsys.readouterr().out)
    assert [argv[0] for argv in seen] == ["backfill-kv", "backfill-d1", "verify", "verify", "verify", "analyze-soak"]
    assert result["ok"] is False and result["kept"] is True
    failed = {s["name"] for s in result["steps"] if not s["ok"]}
    assert {"backfill-kv --emit", "backfill-d1 --output", "analyze-soak (sample soak log)"} <= failed
    log = (tmp_path / "d" / "reports" / "backfill-kv.log").read_text()
    assert log.startswith("$ cutover backfill-kv ") and "refused by the test" in log and log.endswith("[exit 1]\n")
