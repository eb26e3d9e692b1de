"""The user-facing contract (/work/shared/CONTRACT.md), checked from the outside: flag spellings
and defaults, aliases, exit codes, `--json` shapes, secrets never printed, stdout vs stderr."""
from __future__ import annotations

import argparse
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from cutover import cli
from tests.support import cf_d1, cf_kv
from tests.support.atlas_server import BROKEN_TOKEN_ANSWERS, token_pieces
from tests.support.cfapi import FakeCloudflare
from tests.support.mongo_server import MongoTestServer, ScramUser
from tests.support.tools import REPO

# Recognizable secret values: none may ever show up in anything cutover prints.
CF_TOKEN = "CFTOKEN-contract-7d1e9a55b3"
MONGO_PASSWORD = "MongoPw-contract-41c9f0"
TG_SECRET = "TgSecret-contract-88aa13"
ATLAS_PRIVATE = "AtlasPriv-contract-0f0f0f0f"
DATA_API_KEY = "DataApiKey-contract-5e5e5e"
SECRETS = (CF_TOKEN, MONGO_PASSWORD, TG_SECRET, ATLAS_PRIVATE, DATA_API_KEY)
UNREACHABLE = "http://127.0.0.1:9"  # discard port: nothing listens


# -- helpers ----------------------------------------------------------------------------------

def subcommands() -> Dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def defaults(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


def base_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CLOUDFLARE_", "MONGODB_", "ATLAS_", "TELEGRAM_", "BASELINE_")) and k != "CI"}
    env.update(PYTHONPATH=str(REPO), HOME="/dev/null/cutover-test-home", WRANGLER_SEND_METRICS="false")
    env.update(extra)
    return env


def secret_env(**extra: str) -> Dict[str, str]:
    secrets = {
        "CLOUDFLARE_API_TOKEN": CF_TOKEN,
        "CLOUDFLARE_ACCOUNT_ID": "0123456789abcdef0123456789abcdef",
        "MONGODB_URI": f"mongodb://reader:{MONGO_PASSWORD}@127.0.0.1:9/bot?authSource=admin",
        "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
        "ATLAS_PUBLIC_KEY": "abcdefgh",
        "ATLAS_PRIVATE_KEY": ATLAS_PRIVATE,
        "MONGODB_DATA_API_KEY": DATA_API_KEY,
    }
    return base_env(**{**secrets, **extra})


def cutover(argv: List[str], env: Dict[str, str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cutover", *argv], env=env, cwd=str(cwd), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_no_secret(result: subprocess.CompletedProcess) -> None:
    for value in SECRETS:
        assert value not in result.stdout and value not in result.stderr, (value, result.stdout, result.stderr)


def assert_one_line_error(result: subprocess.CompletedProcess, command: str) -> None:
    """The contract's runtime error: exit 1, a final stderr line `cutover CMD: ...`, no traceback."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"cutover {command}: "), result.stderr


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """One python-only drill: its JSON result and a work dir (config, export, local targets) to reuse."""
    root = tmp_path_factory.mktemp("contract") / "drill"
    result = cutover(["drill", "--no-wrangler", "--workdir", str(root), "--json", "-"], base_env(), root.parent)
    assert result.returncode == 0, result.stderr
    return {"json": json.loads(result.stdout), "root": root}


# -- 1. flags, defaults, aliases --------------------------------------------------------------

def test_aliases_reach_their_commands() -> None:
    table = {"analyze:soak": "analyze-soak", "burst:synthetic": "synthetic-burst",
             "backfill-mongo-to-kv": "backfill-kv", "backfill:mongo:kv": "backfill-kv",
             "backfill-mongo-to-d1": "backfill-d1", "backfill:mongo:d1": "backfill-d1",
             "wrangler-delete-guard": "delete-guard"}
    parsers = subcommands()
    for name in ("analyze-soak", "synthetic-burst", "backfill-kv", "backfill-d1", "delete-guard", "worker-src",
                 "verify", "drill", "fetch-logs", *table):
        assert name in parsers, name
    assert defaults("analyze:soak", "--input", "x")._command.name == "analyze-soak"
    assert defaults("burst:synthetic", "--url", "https://x")._command.name == "synthetic-burst"
    for alias, name in table.items():
        assert parsers[alias] is parsers[name] or parsers[alias].prog.endswith(alias)


def test_analyze_soak_flags() -> None:
    a = defaults("analyze-soak", "--input", "a.ndjson", "--input", "b.ndjson.gz")
    assert a.input == ["a.ndjson", "b.ndjson.gz"]
    assert (a.factor, a.min_cold_samples, a.output, a.json, a.chart, a.gate_cmd, a.baseline_cold_ping_ms) == (
        2.5, 20, "soak-decision.md", None, None, None, None)
    a = defaults("analyze-soak", "--input", "-", "--baseline-cold-ping-ms", "420", "--factor", "3",
                 "--gate-cmd", "/start", "--min-cold-samples", "5", "--output", "-", "--json", "s.json", "--chart", "c.svg")
    assert (a.baseline_cold_ping_ms, a.factor, a.gate_cmd, a.min_cold_samples, a.output, a.json, a.chart) == (
        420.0, 3.0, "/start", 5, "-", "s.json", "c.svg")


def test_backfill_kv_flags() -> None:
    a = defaults("backfill-kv", "--config", "c.json")
    assert (a.rate, a.mode, a.dry_run, a.resume, a.module, a.emit, a.since, a.checkpoint) == (
        50, "bulk", False, False, None, None, None, None)
    a = defaults("backfill-kv", "--config", "c.json", "--module", "a", "--module", "b", "--mode", "put", "--rate", "20",
                 "--emit", "kv.json", "--since", "2026-11-20T00:00:00Z", "--checkpoint", "cp.json", "--resume",
                 "--dry-run", "--json", "-", "--source", "export:d", "--namespace-id", "ns")
    assert (a.module, a.mode, a.rate, a.emit, a.checkpoint, a.resume, a.dry_run) == (
        ["a", "b"], "put", 20, "kv.json", "cp.json", True, True)
    with pytest.raises(SystemExit) as info:
        defaults("backfill-kv", "--mode", "fast")
    assert info.value.code == 2


def test_backfill_d1_flags() -> None:
    a = defaults("backfill-d1", "--config", "c.json")
    assert (a.output, a.execute, a.dry_run, a.wrangler, a.start_id) == ("backfill-d1.sql", False, False, "wrangler", None)
    a = defaults("backfill-d1", "--config", "c.json", "--output", "x.sql", "--execute", "--wrangler", "npx wrangler",
                 "--start-id", "1000", "--dry-run", "--json", "-")
    assert (a.output, a.execute, a.wrangler, a.start_id, a.dry_run, a.json) == ("x.sql", True, "npx wrangler", 1000, True, "-")


def test_synthetic_burst_flags() -> None:
    a = defaults("synthetic-burst", "--url", "https://bot.example/webhook")
    assert (a.n, a.command, a.waves, a.atlas_cap, a.atlas_max_pct, a.json, a.atlas_group, a.atlas_process) == (
        20, "/ping", 1, 500, 60, None, None, None)
    a = defaults("synthetic-burst", "--url", "https://x/w", "-n", "5", "--command", "/start", "--json", "-", "--timeout", "9",
                 "--waves", "3", "--wave-interval", "7", "--atlas-group", "g", "--atlas-process", "h:1",
                 "--atlas-cap", "100", "--atlas-max-pct", "50")
    assert (a.n, a.command, a.timeout, a.waves, a.wave_interval, a.atlas_cap, a.atlas_max_pct) == (
        5, "/start", 9, 3, 7, 100, 50)
    with pytest.raises(SystemExit) as info:
        defaults("synthetic-burst", "-n", "5")  # --url is required
    assert info.value.code == 2


def test_verify_drill_delete_guard_worker_src_fetch_logs_flags() -> None:
    a = defaults("verify", "--config", "c.json")
    assert (a.module, a.d1, a.kv_file, a.d1_sqlite, a.json, a.ttl_tolerance) == (None, False, None, None, None, 300)
    a = defaults("verify", "--config", "c.json", "--module", "s", "--d1", "--kv-file", "k", "--d1-sqlite", "d", "--json", "-")
    assert (a.module, a.d1, a.kv_file, a.d1_sqlite, a.json) == (["s"], True, "k", "d", "-")
    a = defaults("drill", "--workdir", "w", "--keep", "--json", "-")
    assert (a.workdir, a.keep, a.json) == ("w", True, "-")
    assert (defaults("drill").workdir, defaults("drill").keep) == (None, False)
    a = defaults("delete-guard", "kv-namespace", "--namespace-id", "ns1")
    assert (a.resource, a.namespace_id, a.wrangler) == ("kv-namespace", "ns1", "wrangler")
    a = defaults("delete-guard", "d1", "trading", "--wrangler", "npx wrangler")
    assert (a.resource, a.name, a.wrangler) == ("d1", "trading", "npx wrangler")
    assert defaults("worker-src", "export", "dir", "--force").force is True
    assert defaults("fetch-logs", "--output", "o.ndjson", "--json", "-").json == "-"


def test_commands_with_figures_take_json() -> None:
    for name, parser in subcommands().items():
        options = {o for action in parser._actions for o in action.option_strings}
        if name not in ("delete-guard", "wrangler-delete-guard", "worker-src", "docs"):
            assert "--json" in options, name
        assert {"-q", "--quiet", "-v", "--verbose", "-h"} <= options, name


def test_no_flag_takes_a_secret() -> None:
    secretish = re.compile(r"(?i)token|secret|passw|private|api-?key|credential|--uri\b|mongodb-uri")
    for name, parser in subcommands().items():
        for action in parser._actions:
            for option in action.option_strings:
                assert not secretish.search(option), (name, option)


# -- 2/3. analyze-soak: exit codes and the JSON shape -----------------------------------------

def soak_log(path: Path) -> Path:
    lines = [json.dumps({"event": "cmd_timing", "cmd": "/ping", "durationMs": 100.0 + i, "cold": True, "isolateAgeMs": 3})
             for i in range(25)]
    lines += [json.dumps({"event": "cmd_timing", "cmd": "/start", "durationMs": 20.0 + i, "cold": False}) for i in range(10)]
    lines.append(json.dumps({"event": "cmd_timing", "cmd": "/start", "durationMs": 30.0}))  # no `cold`: warm, unknown
    lines.append(json.dumps({"event": "dual_write_secondary_failure", "op": "put"}))
    lines.append(json.dumps({"event": "mongo_connection_error"}))
    lines.append('{"event": "cmd_timing", "cmd": ')  # cut short
    path.write_text("\n".join(lines) + "\n")
    return path


NUMBER = (int, float)


def check_analyze_shape(doc: Dict[str, Any]) -> None:
    assert doc["decision"] in ("PROCEED", "PIVOT", "INCONCLUSIVE", "REPORT-ONLY")
    gate = doc["gate"]
    for key in ("cold_p95_ms", "baseline_cold_ping_ms", "threshold_ms"):
        assert gate[key] is None or isinstance(gate[key], NUMBER), key
    assert isinstance(gate["factor"], NUMBER) and isinstance(gate["cold_samples"], int)
    assert gate["cmd"] is None or isinstance(gate["cmd"], str)
    assert isinstance(doc["groups"], list) and doc["groups"]
    for group in doc["groups"]:
        assert isinstance(group["cmd"], str) and isinstance(group["cold"], bool) and isinstance(group["count"], int)
        for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
            assert isinstance(group[key], NUMBER), key
    for key in ("records", "cmd_timing", "cpu_time_exceeded", "dual_write_failures", "mongo_connection_errors", "malformed"):
        assert isinstance(doc["counts"][key], int) and not isinstance(doc["counts"][key], bool), key


@pytest.mark.parametrize(("flags", "code", "decision"), [
    (["--baseline-cold-ping-ms", "100"], 0, "PROCEED"),  # p95 122.8 <= 250
    (["--baseline-cold-ping-ms", "40"], 4, "PIVOT"),  # > 100
    (["--baseline-cold-ping-ms", "100", "--min-cold-samples", "26"], 5, "INCONCLUSIVE"),
    ([], 0, "REPORT-ONLY"),
])
def test_analyze_soak_exit_codes_and_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch, flags: List[str], code: int,
                                                 decision: str) -> None:
    monkeypatch.delenv("BASELINE_COLD_PING_MS", raising=False)
    log = soak_log(tmp_path / "soak.ndjson")
    argv = ["analyze-soak", "--input", str(log), "--output", str(tmp_path / "r.md"), "--json", "-", *flags]
    assert cli.main(argv) == code
    out = capsys.readouterr().out
    doc = json.loads(out)  # stdout holds the JSON and nothing else
    check_analyze_shape(doc)
    assert doc["decision"] == decision
    assert doc["gate"]["cold_p95_ms"] == pytest.approx(122.8)  # type 7 over 100..124
    assert doc["gate"]["factor"] == 2.5 and doc["gate"]["cold_samples"] == 25 and doc["gate"]["cmd"] is None
    counts = doc["counts"]
    assert (counts["cmd_timing"], counts["dual_write_failures"], counts["mongo_connection_errors"], counts["malformed"]) == (
        36, 1, 1, 1)
    assert counts["cold_unknown"] == 1
    ping = next(g for g in doc["groups"] if g["cmd"] == "/ping" and g["cold"])
    assert (ping["count"], ping["max_ms"], ping["p50_ms"]) == (25, 124.0, 112.0)


def test_analyze_soak_without_cold_samples_has_null_p95(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = soak_log(tmp_path / "soak.ndjson")
    argv = ["analyze-soak", "--input", str(log), "--output", "-", "--json", str(tmp_path / "s.json"),
            "--gate-cmd", "/none", "--baseline-cold-ping-ms", "100"]
    assert cli.main(argv) == 5
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["gate"]["cold_p95_ms"] is None and doc["gate"]["cmd"] == "/none" and doc["decision"] == "INCONCLUSIVE"
    assert capsys.readouterr().out.lstrip().startswith("#")  # the markdown report on stdout


def test_analyze_soak_stdout_is_shared_by_one_output_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = soak_log(tmp_path / "soak.ndjson")
    assert cli.main(["analyze-soak", "--input", str(log), "--json", "-", "--chart", "-"]) == 2
    assert cli.main(["analyze-soak", "--input", str(log), "--json", "-", "--output", "-"]) == 2
    assert capsys.readouterr().out == ""


def test_analyze_soak_warns_about_a_cut_short_gzip_without_verbose(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    import gzip

    data = gzip.compress(soak_log(tmp_path / "soak.ndjson").read_bytes())
    cut = tmp_path / "cut.ndjson.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert cli.main(["analyze-soak", "--input", str(cut), "--output", str(tmp_path / "r.md")]) == 0
    err = capsys.readouterr().err
    assert f"warning: {cut}: compressed data ends early" in err
    assert cli.main(["analyze-soak", "--input", str(cut), "--output", str(tmp_path / "r.md"), "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_analyze_soak_input_that_is_not_a_log_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = soak_log(tmp_path / "soak.ndjson")
    wrong = tmp_path / "wrong.html"
    wrong.write_text("<html><body>502 Bad Gateway</body></html>\n")
    for flags in ([], ["--baseline-cold-ping-ms", "100"]):  # was REPORT-ONLY (0) / INCONCLUSIVE (5)
        assert cli.main(["analyze-soak", "--input", str(good), "--input", str(wrong), "--output", "-", *flags]) == 1
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith(f"cutover analyze-soak: --input {wrong}: not a log export: no record could be read (1 malformed); ")
        assert captured.err.count("\n") == 1
    empty = tmp_path / "empty.ndjson"
    empty.write_text("")
    # an empty file beside a real export is a warning (a quiet hour); nothing at all to judge is exit 1 (issue 19)
    assert cli.main(["analyze-soak", "--input", str(good), "--input", str(empty), "--output", str(tmp_path / "r.md")]) == 0
    assert f"warning: --input {empty} is empty" in capsys.readouterr().err
    assert cli.main(["analyze-soak", "--input", str(empty), "--output", str(tmp_path / "r.md"), "-q"]) == 1


@pytest.mark.parametrize("argv", [
    ["analyze-soak", "--input", "/nonexistent/soak.ndjson"],
    ["analyze-soak", "--input", "{log}", "--output", "/nonexistent-dir/r.md"],
    ["analyze-soak", "--input", "{log}", "--output", "/dev/null", "--json", "/nonexistent-dir/s.json"],
])
def test_analyze_soak_bad_paths_are_one_line_errors(tmp_path: Path, argv: List[str]) -> None:
    log = soak_log(tmp_path / "soak.ndjson")
    result = cutover([a.replace("{log}", str(log)) for a in argv], base_env(), tmp_path)
    assert_one_line_error(result, "analyze-soak")
    assert result.stdout == ""


# -- 3. verify and drill shapes ----------------------------------------------------------------

def test_drill_json_shape(drill: Dict[str, Any]) -> None:
    doc = drill["json"]
    assert doc["ok"] is True and isinstance(doc["workdir"], str) and Path(doc["workdir"]) == drill["root"]
    assert doc["steps"] and all(isinstance(s["name"], str) and isinstance(s["ok"], bool) and isinstance(s["detail"], str)
                                for s in doc["steps"])


def test_drill_json_workdir_is_a_string_even_when_removed(tmp_path: Path) -> None:
    result = cutover(["drill", "--no-wrangler", "--json", "-"], base_env(TMPDIR=str(tmp_path)), tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert isinstance(doc["workdir"], str) and doc["kept"] is False and not Path(doc["workdir"]).exists()


def verify_argv(root: Path, *extra: str) -> List[str]:
    return ["verify", "--config", str(root / "rollback.json"), "--kv-file", str(root / "state" / "kv-store.json"),
            "--d1-sqlite", str(root / "state" / "trading.sqlite"), "--json", "-", *extra]


def test_verify_json_shape(drill: Dict[str, Any]) -> None:
    result = cutover(verify_argv(drill["root"]), base_env(), drill["root"])
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["ok"] is True
    assert set(doc["modules"]) == {"sessions", "prefs", "rate_limits"}
    for counts in doc["modules"].values():
        for key in ("equal", "missing", "extra", "different", "resurrected"):
            assert isinstance(counts[key], int), key
    for key in ("equal", "missing", "extra", "different"):
        assert isinstance(doc["d1"][key], int), key
    assert doc["d1"]["equal"] == 6 and doc["d1"]["different"] == 0


def test_verify_scope_d1_alone(drill: Dict[str, Any]) -> None:
    result = cutover(verify_argv(drill["root"], "--d1"), base_env(), drill["root"])
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["modules"] == {} and doc["d1"]["equal"] == 6


# -- 2/5. backfill-d1 --execute: exact wrangler argv, exit codes, stdout ------------------------

def fake_wrangler(tmp_path: Path, status: int) -> Path:
    script = tmp_path / f"wrangler-{status}"
    script.write_text(f"#!{sys.executable}\nimport sys\nprint('WRANGLER-SAYS', *sys.argv[1:])\nsys.exit({status})\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_backfill_d1_execute_json_stdout_stays_json(drill: Dict[str, Any], tmp_path: Path) -> None:
    sql = tmp_path / "out.sql"
    argv = ["backfill-d1", "--config", str(drill["root"] / "rollback.json"), "--output", str(sql), "--execute",
            "--wrangler", str(fake_wrangler(tmp_path, 0)), "--json", "-"]
    result = cutover(argv, base_env(), tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["execute_status"] == 0 and doc["rows"] == 6
    assert f"WRANGLER-SAYS d1 execute trading --remote --file {sql} -y" in result.stderr


def test_backfill_d1_failed_wrangler_is_exit_1(drill: Dict[str, Any], tmp_path: Path) -> None:
    argv = ["backfill-d1", "--config", str(drill["root"] / "rollback.json"), "--output", str(tmp_path / "o.sql"),
            "--execute", "--wrangler", str(fake_wrangler(tmp_path, 4)), "-q"]
    result = cutover(argv, base_env(), tmp_path)
    assert_one_line_error(result, "backfill-d1")  # not 4: that would read as "gate failed"
    assert "status 4" in result.stderr


def test_backfill_d1_unwritable_output_is_one_line(drill: Dict[str, Any], tmp_path: Path) -> None:
    argv = ["backfill-d1", "--config", str(drill["root"] / "rollback.json"), "--output", "/nonexistent-dir/o.sql"]
    result = cutover(argv, base_env(), tmp_path)
    assert_one_line_error(result, "backfill-d1")
    assert "cannot write /nonexistent-dir/o.sql" in result.stderr


# -- 2. errors on bad inputs ---------------------------------------------------------------------

@pytest.mark.parametrize("command", ["backfill-kv", "backfill-d1", "verify"])
def test_config_errors_are_one_line(command: str, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json")
    for config in ("/nonexistent/rollback.json", str(tmp_path / "bad.json")):
        result = cutover([command, "--config", config], base_env(), tmp_path)
        assert_one_line_error(result, command)
        assert config in result.stderr


@pytest.mark.parametrize("command", ["backfill-kv", "verify"])
def test_unknown_module_is_a_usage_error(drill: Dict[str, Any], command: str, tmp_path: Path) -> None:
    result = cutover([command, "--config", str(drill["root"] / "rollback.json"), "--module", "nope"], base_env(), tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "nope" in result.stderr


# -- 4. secrets are never printed -----------------------------------------------------------------

@pytest.fixture()
def cloudflare() -> Iterator[FakeCloudflare]:
    """A Cloudflare API that knows a different token than the one in the environment (403s)."""
    fake = FakeCloudflare(token="the-right-token-is-not-ours")
    cf_kv.install(fake)
    cf_d1.install(fake)
    with fake:
        yield fake


def test_secrets_never_printed_in_dry_runs_and_verbose(drill: Dict[str, Any], tmp_path: Path) -> None:
    cfg = str(drill["root"] / "rollback.json")
    env = secret_env()
    runs = [
        (["backfill-kv", "--config", cfg, "--dry-run", "-v", "--json", "-"], 0),
        (["backfill-d1", "--config", cfg, "--dry-run", "-v"], 0),
        (["synthetic-burst", "--url", "https://bot.example.test/webhook", "--dry-run", "-v",
          "--atlas-group", "5f1a2b3c4d5e6f7a8b9c0d1e", "--atlas-process", "h.example.test:27017"], 0),
        (["fetch-logs", "--script", "bot", "--since", "1h", "--output", str(tmp_path / "f.ndjson"), "--dry-run", "-v"], 0),
        (["analyze-soak", "--input", str(drill["root"] / "soak" / "soak-sample.ndjson.gz"), "--output", "-", "-v"], 0),
    ]
    for argv, code in runs:
        result = cutover(argv, env, tmp_path)
        assert result.returncode == code, (argv, result.stderr)
        assert_no_secret(result)


def test_secrets_never_printed_when_the_api_refuses(drill: Dict[str, Any], cloudflare: FakeCloudflare, tmp_path: Path) -> None:
    cfg = str(drill["root"] / "rollback.json")
    env = secret_env(CLOUDFLARE_API_BASE_URL=cloudflare.api_base)
    for argv in (["backfill-kv", "--config", cfg, "-v", "--module", "sessions", "--checkpoint", str(tmp_path / "cp.json")],
                 ["backfill-d1", "--config", cfg, "-v", "--mode", "api", "--output", str(tmp_path / "o.sql")],
                 ["verify", "--config", cfg, "-v", "--module", "sessions"],
                 ["fetch-logs", "--script", "bot", "--since", "1h", "--output", str(tmp_path / "f.ndjson"), "-v"]):
        result = cutover(argv, env, tmp_path)
        assert_one_line_error(result, argv[0])
        assert "403" in result.stderr or "Authentication" in result.stderr, result.stderr
        assert_no_secret(result)
    assert cloudflare.log and all(r.headers.get("authorization") == f"Bearer {CF_TOKEN}" for r in cloudflare.log)


def test_secrets_never_printed_when_hosts_are_unreachable(tmp_path: Path) -> None:
    env = secret_env(ATLAS_API_BASE_URL=UNREACHABLE)
    atlas = ["--atlas-group", "5f1a2b3c4d5e6f7a8b9c0d1e", "--atlas-process", "h.example.test:27017"]
    for argv in (["synthetic-burst", "--url", f"{UNREACHABLE}/webhook", "-n", "2", "-v"],
                 ["synthetic-burst", "--url", f"{UNREACHABLE}/webhook", "-n", "2", "-v", *atlas]):
        result = cutover(argv, env, tmp_path)
        assert_one_line_error(result, "synthetic-burst")
        assert_no_secret(result)


NO_DNS_SITECUSTOMIZE = """\
import os, socket
def _refuse(*args, **kwargs):
    with open(os.environ["CUTOVER_TEST_DNS_LOG"], "a") as log:
        log.write(repr(args[:2]) + "\\n")
    raise OSError("DNS lookups are refused in this test")
socket.getaddrinfo = _refuse
socket.gethostbyname = _refuse
"""


@pytest.fixture()
def no_dns(tmp_path: Path) -> Dict[str, str]:
    """Environment additions that make any name lookup in the child fail and be recorded."""
    site = tmp_path / "no-dns-site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_DNS_SITECUSTOMIZE)
    return {"PYTHONPATH": f"{site}{os.pathsep}{REPO}", "CUTOVER_TEST_DNS_LOG": str(tmp_path / "dns.log")}


def test_plain_http_to_a_remote_api_is_refused_before_any_lookup(drill: Dict[str, Any], no_dns: Dict[str, str],
                                                                 tmp_path: Path) -> None:
    # Every credentialed client: the token would travel in clear. `.invalid` never resolves,
    # and the child records any lookup it tries: the refusal must come first.
    cfg = str(drill["root"] / "rollback.json")
    plain_cf = {"CLOUDFLARE_API_BASE_URL": "http://api.cloudflare.invalid/client/v4", **no_dns}
    plain_atlas = {"ATLAS_API_BASE_URL": "http://cloud.mongodb.invalid", "ATLAS_CLIENT_ID": "mdb_sa_id_x",
                   "ATLAS_CLIENT_SECRET": "mdb_sa_sk_contract-1234", **no_dns}
    runs = [
        (["backfill-kv", "--config", cfg, "--module", "sessions", "--checkpoint", str(tmp_path / "cp.json")], plain_cf, "CLOUDFLARE_API_BASE_URL"),
        (["backfill-d1", "--config", cfg, "--mode", "api", "--database-id", "d1-uuid", "--output", str(tmp_path / "o.sql")], plain_cf, "CLOUDFLARE_API_BASE_URL"),
        (["verify", "--config", cfg, "--module", "sessions"], plain_cf, "CLOUDFLARE_API_BASE_URL"),
        (["fetch-logs", "--script", "bot", "--since", "1h", "--output", str(tmp_path / "f.ndjson")], plain_cf, "CLOUDFLARE_API_BASE_URL"),
        (["synthetic-burst", "--url", f"{UNREACHABLE}/webhook", "-n", "2", "--atlas-group", "5f1a2b3c4d5e6f7a8b9c0d1e",
          "--atlas-process", "h.example.test:27017"], plain_atlas, "ATLAS_API_BASE_URL"),
        (["backfill-kv", "--config", cfg, "--module", "sessions", "--dry-run",
          "--source", "dataapi:http://data.mongodb-api.invalid/app/x/endpoint/data/v1"], no_dns, "dataapi"),
    ]
    for argv, extra, names in runs:
        result = cutover(argv, secret_env(**extra), tmp_path)
        assert_one_line_error(result, argv[0])
        assert "refusing plain http://" in result.stderr and names in result.stderr, (argv, result.stderr)
        assert_no_secret(result)
        assert not Path(no_dns["CUTOVER_TEST_DNS_LOG"]).exists(), (argv, Path(no_dns["CUTOVER_TEST_DNS_LOG"]).read_text())


def _echoing_api(fake: Any) -> Any:
    """A good token, then every measurements call fails with a body that quotes it."""
    from tests.support.httpserver import Fault, Reply

    def reply(token: str) -> Reply:
        body = json.dumps({"detail": f"token {token} is not valid for this group", "errorCode": "INVALID_GROUP_ID",
                           "error": 400, "reason": "Bad Request"}).encode()
        fake.inject(Fault("status", path="measurements", count=100, status=400, body=body))
        return Reply.json({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})
    return reply


@pytest.mark.parametrize("shape", [*sorted(BROKEN_TOKEN_ANSWERS), "api-echoing"])
def test_tokens_obtained_at_run_time_never_printed(shape: str, tmp_path: Path) -> None:
    # Atlas service-account tokens come from POST /api/oauth/token during the run, not from the
    # environment: every error path of every command that fetches one must keep it out.
    from tests.support.atlas_server import FakeAtlas

    with FakeAtlas(connections=lambda: 10.0) as fake:
        fake.token_reply = _echoing_api(fake) if shape == "api-echoing" else BROKEN_TOKEN_ANSWERS[shape]
        env = secret_env(ATLAS_API_BASE_URL=fake.base_url, ATLAS_CLIENT_ID=fake.client_id,
                         ATLAS_CLIENT_SECRET=fake.client_secret)
        argv = ["synthetic-burst", "--url", f"{UNREACHABLE}/webhook", "-n", "2", "-v",
                "--atlas-group", "5f1a2b3c4d5e6f7a8b9c0d1e", "--atlas-process", "h.example.test:27017"]
        result = cutover(argv, env, tmp_path)
    assert_one_line_error(result, "synthetic-burst")
    assert_no_secret(result)
    assert fake.issued, "a token was obtained"
    shown = result.stdout + result.stderr
    for token in fake.issued:
        leaked = [piece for piece in token_pieces(token) if piece in shown]
        assert not leaked, (shape, leaked, result.stderr)
    assert fake.client_secret not in shown


def test_mongo_password_never_printed(drill: Dict[str, Any], tmp_path: Path) -> None:
    users = [ScramUser.create("reader", "the-server-password")]
    with MongoTestServer(users=users, data={"bot": {"kv_sessions": []}}) as server:
        env = secret_env(MONGODB_URI=f"mongodb://reader:{MONGO_PASSWORD}@{server.address}/bot?authSource=admin")
        argv = ["backfill-kv", "--config", str(drill["root"] / "rollback.json"), "--source", "mongodb://",
                "--module", "sessions", "--dry-run", "-v"]
        result = cutover(argv, env, tmp_path, timeout=300)
    assert_one_line_error(result, "backfill-kv")
    assert_no_secret(result)


@pytest.mark.parametrize("password", ["admin", "wrong"])
def test_a_short_mongo_password_does_not_mangle_the_message(drill: Dict[str, Any], tmp_path: Path, password: str) -> None:
    # The password is also an ordinary word of the message (authSource=admin, "wrong ...").
    # Masking every occurrence would garble the error and point at the password.
    users = [ScramUser.create("reader", "the-server-password")]
    with MongoTestServer(users=users, data={"bot": {"kv_sessions": []}}) as server:
        env = secret_env(MONGODB_URI=f"mongodb://reader:{password}@{server.address}/bot?authSource=admin")
        argv = ["backfill-kv", "--config", str(drill["root"] / "rollback.json"), "--source", "mongodb://",
                "--module", "sessions", "--dry-run", "-v"]
        result = cutover(argv, env, tmp_path, timeout=300)
    assert_one_line_error(result, "backfill-kv")
    assert "***" not in result.stderr, result.stderr
    assert f"reader:{password}@" not in result.stderr


def test_credentials_in_a_source_flag_are_refused_unechoed(drill: Dict[str, Any], tmp_path: Path) -> None:
    argv = ["backfill-kv", "--config", str(drill["root"] / "rollback.json"), "--dry-run",
            "--source", f"mongodb://reader:{MONGO_PASSWORD}@127.0.0.1:9/bot"]
    result = cutover(argv, base_env(), tmp_path)
    assert_one_line_error(result, "backfill-kv")
    assert_no_secret(result)


def test_secrets_never_printed_on_a_verbose_successful_run(drill: Dict[str, Any], tmp_path: Path) -> None:
    cfg_path = drill["root"] / "rollback.json"
    cfg = json.loads(cfg_path.read_text())
    fake = FakeCloudflare(token=CF_TOKEN)
    kv = cf_kv.install(fake)
    for module in cfg["kv_modules"].values():
        kv.create_namespace(module["namespace_id"])
    with fake:
        env = secret_env(CLOUDFLARE_API_BASE_URL=fake.api_base)
        wrote = cutover(["backfill-kv", "--config", str(cfg_path), "-v", "--json", "-"], env, tmp_path)
        assert wrote.returncode == 0, wrote.stderr
        assert json.loads(wrote.stdout)["ok"] is True
        checked = cutover(["verify", "--config", str(cfg_path), "-v", "--json", "-", "--module", "sessions",
                           "--module", "prefs", "--module", "rate_limits"], env, tmp_path)
        assert checked.returncode == 0, checked.stderr + checked.stdout
        assert json.loads(checked.stdout)["ok"] is True
    for result in (wrote, checked):
        assert_no_secret(result)


def test_burst_refused_by_the_bot_says_so_and_never_shows_the_secret(monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.telegram_webhook import TelegramWebhook

    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", TG_SECRET)
    with TelegramWebhook(secret="the-bots-real-secret") as hook:
        code = cli.main(["synthetic-burst", "--url", f"{hook.base_url}/webhook", "-n", "3", "--json", "-"])
    assert code == 0  # the burst ran; the contract has no failure code for refused updates
    captured = capsys.readouterr()
    assert json.loads(captured.out)["summary"]["status_codes"] == {"401": 3}
    assert "warning: 3 of 3 requests were refused with 401/403: check TELEGRAM_WEBHOOK_SECRET" in captured.err
    assert TG_SECRET not in captured.out + captured.err and len(hook.rejected) == 3
