"""Interrupt, fail and resume backfill-kv / backfill-d1 --mode api the way an operator does
(issue 19 items 6-8): real processes, real signals, a real pty for Ctrl-C; then run the exact
command the message printed, and check every count against the files themselves."""
from __future__ import annotations

import errno
import json
import os
import pty
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Tuple

import pytest

from cutover import cli
from cutover.core.progress import format_duration
from tests.support import cf_d1, cf_kv
from tests.support.cfapi import TOKEN, FakeCloudflare, point_cutover_at
from tests.support.httpserver import Fault
from tests.support.kvdata import NAMESPACE, assert_kv_matches, write_config, write_export
from tests.support.tools import REPO

CHECKPOINT = "backfill-kv.checkpoint.json"
FAILED = "backfill-kv.failed.ndjson"


@pytest.fixture()
def cf() -> Iterator[FakeCloudflare]:
    with cf_kv.serving_namespace(NAMESPACE) as fake:
        yield fake


@pytest.fixture()
def env(cf: FakeCloudflare, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Dict[str, str]:
    monkeypatch.chdir(tmp_path)
    point_cutover_at(cf, monkeypatch, account=False)
    return {**os.environ, "PYTHONPATH": str(REPO)}


def kv_setup(tmp_path: Path, n: int, **kw: object) -> Tuple[dict, Path]:
    expected = write_export(tmp_path / "dump", n, int(time.time() * 1000), **kw)  # type: ignore[arg-type]
    return expected, write_config(tmp_path / "rollback.json", tmp_path / "dump")


def cutover_cmd(*argv: str) -> List[str]:
    return [sys.executable, "-m", "cutover", *argv]


def resume_line(err: str) -> List[str]:
    """The command the interrupt message tells the operator to run, as argv."""
    match = re.search(r"continue with \(from (?P<cwd>[^)]+)\): (?P<cmd>.+)$", err, re.MULTILINE)
    assert match, err
    return shlex.split(match.group("cmd"))


def wait_for(predicate: Callable[[], bool], proc_alive: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while proc_alive() and not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)


# -- item 6: Ctrl-C / SIGTERM say where the checkpoint is and the exact --resume command ----

def test_sigterm_saves_and_prints_the_exact_resume_command(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path) -> None:
    expected, cfg = kv_setup(tmp_path, 300)
    argv = ["backfill-kv", "--config", "rollback.json", "--mode", "put", "--rate", "100",
            "--failed-keys", "odd name's failures.ndjson"]
    proc = subprocess.Popen(cutover_cmd(*argv), cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: len(cf.log) >= 30, lambda: proc.poll() is None)
    proc.send_signal(signal.SIGTERM)
    _, raw = proc.communicate(timeout=60)
    err = raw.decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    checkpoint = tmp_path / CHECKPOINT
    assert checkpoint.exists()
    assert f"checkpoint saved in {checkpoint}" in err, err
    printed = resume_line(err)
    # python -m cutover, then exactly the operator's arguments plus --resume (quoted for a shell)
    assert printed[-len(argv) - 1:] == [*argv, "--resume"], printed
    assert printed[1:3] == ["-m", "cutover"]
    done = subprocess.run([sys.executable, *printed[1:]], cwd=str(tmp_path), env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]
    assert not checkpoint.exists()


def _run_in_pty(cmd: List[str], cwd: Path, env: Dict[str, str], ready: Callable[[], bool], keys: bytes) -> Tuple[int, str]:
    """Run cmd on a new pseudo-terminal, type `keys` once `ready()`; (exit status, all it printed)."""
    pid, master = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal, it leads the foreground group
        try:
            os.chdir(str(cwd))
            os.execve(cmd[0], cmd, env)
        finally:
            os._exit(127)
    chunks: List[bytes] = []
    sent = False
    deadline = time.monotonic() + 90
    status = None
    while time.monotonic() < deadline:
        readable, _, _ = select.select([master], [], [], 0.01)
        if readable:
            try:
                data = os.read(master, 65536)
            except OSError as exc:  # EIO: the child closed its side
                if exc.errno != errno.EIO:
                    raise
                data = b""
            if data:
                chunks.append(data)
        if not sent and ready():
            os.write(master, keys)
            sent = True
        done_pid, raw_status = os.waitpid(pid, os.WNOHANG)
        if done_pid:
            status = raw_status
            break
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the run did not end within 90 s: " + b"".join(chunks).decode(errors="replace"))
    while True:  # what is left in the pty
        try:
            readable, _, _ = select.select([master], [], [], 0.05)
            if not readable:
                break
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert sent, "the run ended before it could be interrupted"
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
    return code, b"".join(chunks).decode(errors="replace")


def test_ctrl_c_on_a_terminal_says_where_the_checkpoint_is_and_how_to_resume(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path) -> None:
    expected, cfg = kv_setup(tmp_path, 300)
    argv = ["backfill-kv", "--config", "rollback.json", "--mode", "put", "--rate", "100"]
    code, screen = _run_in_pty(cutover_cmd(*argv), tmp_path, env, lambda: len(cf.log) >= 30, b"\x03")
    assert code == 130, screen
    assert "Traceback" not in screen
    checkpoint = tmp_path / CHECKPOINT
    assert f"checkpoint saved in {checkpoint}" in screen, screen
    printed = resume_line(screen.replace("\r\n", "\n"))
    assert printed[-len(argv) - 1:] == [*argv, "--resume"], printed
    done = subprocess.run([sys.executable, *printed[1:]], cwd=str(tmp_path), env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]


def _claimed(checkpoint: Path) -> Tuple[int, dict]:
    """(documents done up to the saved position, the module's saved counters)."""
    module = json.loads(checkpoint.read_text())["state"]["modules"]["sessions"]
    return int(json.loads(module["after_id"])["$oid"], 16), module["stats"]


def test_ctrl_c_in_put_mode_stops_at_once_with_requests_in_flight_and_resume_writes_the_rest(
        cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path) -> None:
    expected, cfg = kv_setup(tmp_path, 300, with_invalid=False)
    kv = cf.kv  # type: ignore[attr-defined]
    kv.hold_puts_after = 45  # from the 46th PUT on no answer comes: requests are in flight at Ctrl-C
    argv = ["backfill-kv", "--config", "rollback.json", "--mode", "put", "--rate", "100"]
    proc = subprocess.Popen(cutover_cmd(*argv), cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: kv.held >= 1, lambda: proc.poll() is None)
        proc.send_signal(signal.SIGINT)
        try:
            _, raw = proc.communicate(timeout=30)  # a hang guard: the held requests are never answered
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            pytest.fail("Ctrl-C did not end the run: it waited for the PUTs in flight")
        err = raw.decode()
        assert proc.returncode == 130, err
        assert "Traceback" not in err and err.count("continue with") == 1, err
        stored = set(kv.put_keys)
        # the checkpoint claims only keys the API confirmed: every one before its position is stored
        done, stats = _claimed(tmp_path / CHECKPOINT)
        claimed = {k for k in expected if int(k.split(":")[1]) < done}
        assert claimed and claimed <= stored and stats["written"] == len(claimed)
        kv.hold_puts_after = None
        printed = resume_line(err)
        assert printed[-len(argv) - 1:] == [*argv, "--resume"], printed
        resumed = subprocess.run([sys.executable, *printed[1:]], cwd=str(tmp_path), env=env, capture_output=True, timeout=120)
        assert resumed.returncode == 0, resumed.stderr.decode()
        again = kv.put_keys[len(stored):]
        assert len(again) == len(set(again)) and not set(again) & claimed  # exactly the rest, nothing twice
        assert set(again) | claimed >= {k for k, e in expected.items() if k in kv.live(NAMESPACE)}
        assert_kv_matches(kv, expected, time.time())
    finally:
        kv.release.set()
        if proc.poll() is None:
            proc.kill()


def test_interrupt_before_anything_was_written_leaves_nothing_to_resume(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path) -> None:
    kv_setup(tmp_path, 50)
    cf.inject(Fault("slow", path="/bulk", delay=20.0))  # the first request hangs: nothing acknowledged
    proc = subprocess.Popen(cutover_cmd("backfill-kv", "--config", "rollback.json"), cwd=str(tmp_path), env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: len(cf.log) >= 1, lambda: proc.poll() is None)
    proc.send_signal(signal.SIGTERM)
    _, raw = proc.communicate(timeout=60)
    err = raw.decode()
    assert proc.returncode == 130, err
    assert not (tmp_path / CHECKPOINT).exists()
    assert "nothing to resume" in err and "--resume" not in err, err


# -- item 7: no checkpoint before the first acknowledged write; a mismatch said in words ------

@pytest.mark.parametrize("fault", ["token", "namespace"])
def test_a_run_refused_on_its_first_request_leaves_no_checkpoint(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], fault: str) -> None:
    expected, cfg = kv_setup(tmp_path, 60)
    wrong = ["--namespace-id", "0" * 32] if fault == "namespace" else []
    if fault == "token":
        os.environ["CLOUDFLARE_API_TOKEN"] = "wrong-token-0123456789"
    assert cli.main(["backfill-kv", "--config", str(cfg), *wrong]) == 1
    assert not (tmp_path / CHECKPOINT).exists()
    capsys.readouterr()
    os.environ["CLOUDFLARE_API_TOKEN"] = TOKEN
    assert cli.main(["backfill-kv", "--config", str(cfg)]) == 0, capsys.readouterr().err  # the corrected rerun
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]


def test_resume_without_a_checkpoint_says_the_one_line_and_starts_from_the_beginning(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The policy of every resumable command: Checkpoint.start_note() as an info line, then the
    whole job (the writes are idempotent); -q drops the note, not the run."""
    from cutover.core.checkpoint import Checkpoint

    expected, cfg = kv_setup(tmp_path, 40, with_invalid=False)
    note = Checkpoint(CHECKPOINT, {}).start_note()
    assert str(tmp_path / CHECKPOINT) in note  # the absolute path, wherever the operator stands
    assert cli.main(["backfill-kv", "--config", str(cfg), "--resume"]) == 0
    err = capsys.readouterr().err
    assert note in err.splitlines(), err
    assert "warning: no checkpoint" not in err, err
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]
    assert not (tmp_path / CHECKPOINT).exists()  # finished: nothing left to resume
    cf.kv.namespaces[NAMESPACE].clear()  # type: ignore[attr-defined]  # the -q run must write it all again
    assert cli.main(["backfill-kv", "--config", str(cfg), "--resume", "-q"]) == 0
    assert "no checkpoint" not in capsys.readouterr().err
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]


def _leave_a_checkpoint(cf: FakeCloudflare, cfg: Path, expected: dict) -> None:
    cf.kv.unsuccessful_always.add(sorted(expected)[-1])  # type: ignore[attr-defined]
    assert cli.main(["backfill-kv", "--config", str(cfg), "--batch-size", "10"]) == 1
    cf.kv.unsuccessful_always.clear()  # type: ignore[attr-defined]


def test_resume_with_other_settings_names_the_setting_in_words(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected, cfg = kv_setup(tmp_path, 60, with_invalid=False)
    _leave_a_checkpoint(cf, cfg, expected)
    capsys.readouterr()
    other = "f" * 32
    cf.kv.create_namespace(other)  # type: ignore[attr-defined]
    for extra in ([], ["--resume"]):
        assert cli.main(["backfill-kv", "--config", str(cfg), "--namespace-id", other, *extra]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        line = err[0]
        assert f"namespace for module sessions was {NAMESPACE}, now {other}" in line, line
        assert "{" not in line and "'command'" not in line, line
        assert f"delete {tmp_path / CHECKPOINT}" in line and "original settings" in line, line
    # the original settings continue it
    assert cli.main(["backfill-kv", "--config", str(cfg), "--resume"]) == 0
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]


def test_checkpoint_from_another_since_is_explained(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected, cfg = kv_setup(tmp_path, 60, with_invalid=False)
    _leave_a_checkpoint(cf, cfg, expected)
    capsys.readouterr()
    assert cli.main(["backfill-kv", "--config", str(cfg), "--since", "7d", "--resume"]) == 1
    line = capsys.readouterr().err.strip()
    assert "--since was not given, now 7d" in line, line


# -- item 8: one source of truth for every count after --resume ---------------------------

def _export_with_invalid(tmp_path: Path, n: int, every: int) -> Tuple[Path, Dict[str, str]]:
    """n documents, no expiry; every `every`-th one has a key over 512 bytes (invalid)."""
    dump = tmp_path / "dump"
    dump.mkdir()
    live: Dict[str, str] = {}
    with open(dump / "kv_sessions.json", "w", encoding="utf-8") as out:
        for i in range(n):
            key = "k" * 600 + str(i) if i % every == every - 1 else f"key:{i:05d}"
            doc = {"_id": {"$oid": "%024x" % (i + 1)}, "key": key, "value": f"v{i}"}
            out.write(json.dumps(doc) + "\n")
            if len(key) < 512:
                live[key] = f"v{i}"
    return write_config(tmp_path / "rollback.json", dump), live


def _check_counts_agree(tmp_path: Path, err: str, out: str, failed_path: Path) -> dict:
    summary = json.loads((tmp_path / "summary.json").read_text())
    mod = summary["modules"]["sessions"]
    lines = failed_path.read_text(encoding="utf-8").splitlines() if failed_path.exists() else []
    assert len(lines) == len(set(lines)), "duplicate lines in the failed-keys file"
    entries = [json.loads(x) for x in lines]
    invalid_ids = [e["_id"] for e in entries if e["kind"] == "invalid"]
    failed_keys = [e["key"] for e in entries if e["kind"] == "failed"]
    assert len(invalid_ids) == len(set(invalid_ids))
    assert mod["invalid"] == len(invalid_ids), (mod["invalid"], len(invalid_ids))
    assert mod["failed"] == len(failed_keys)
    assert f"invalid {mod['invalid']:,}" in out
    listed = re.search(r"([\d,]+) invalid document\(s\) listed in", err)
    assert listed and int(listed.group(1).replace(",", "")) == mod["invalid"], err
    # every document counted once over all runs
    assert mod["documents"] == mod["written"] + mod["invalid"] + mod["expired"] + mod["superseded"]
    # durations: the headline covers the whole job, each module's time fits inside it
    headline = out.splitlines()[0]
    assert f"in {format_duration(summary['elapsed_s'])}" in headline, (headline, summary["elapsed_s"])
    assert mod["elapsed_s"] <= summary["elapsed_s"], (mod["elapsed_s"], summary["elapsed_s"])
    assert summary["requests"] == mod["requests"]
    return mod


def test_counts_agree_after_a_failed_batch_and_resume(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg, live = _export_with_invalid(tmp_path, 300, 7)
    doomed = sorted(live)[100]  # a key in the middle: the checkpoint freezes before its batch
    cf.kv.unsuccessful_always.add(doomed)  # type: ignore[attr-defined]
    argv = ["backfill-kv", "--config", str(cfg), "--batch-size", "20", "--json", "summary.json"]
    assert cli.main(argv) == 1
    capsys.readouterr()
    first = (tmp_path / FAILED).read_text().splitlines()
    assert any(json.loads(x)["kind"] == "failed" for x in first)
    cf.kv.unsuccessful_always.clear()  # type: ignore[attr-defined]
    assert cli.main([*argv, "--resume"]) == 0
    captured = capsys.readouterr()
    mod = _check_counts_agree(tmp_path, captured.err, captured.out, tmp_path / FAILED)
    assert mod["invalid"] == 300 // 7 and mod["failed"] == 0
    assert {k: v.value.decode() for k, v in cf.kv.live(NAMESPACE).items()} == live  # type: ignore[attr-defined]


def test_counts_agree_after_kill_9_and_resume(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path) -> None:
    cfg, live = _export_with_invalid(tmp_path, 200, 5)
    argv = ["backfill-kv", "--config", "rollback.json", "--json", "summary.json"]
    # put mode at 20/s: a checkpoint every ~2 s of work, the invalid documents read ahead of it
    proc = subprocess.Popen(cutover_cmd(*argv, "--mode", "put", "--rate", "20", "-q"), cwd=str(tmp_path), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: cf.kv.put_requests >= 70, lambda: proc.poll() is None)  # type: ignore[attr-defined]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    saved = json.loads((tmp_path / CHECKPOINT).read_text())["state"]["modules"]["sessions"]["stats"]
    lines = (tmp_path / FAILED).read_text().splitlines()
    assert len(lines) > saved["invalid"] > 0  # the killed run listed documents beyond its checkpoint
    done = subprocess.run(cutover_cmd(*argv, "--resume"), cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    mod = _check_counts_agree(tmp_path, done.stderr, done.stdout, tmp_path / FAILED)
    assert mod["invalid"] == 40
    assert {k: v.value.decode() for k, v in cf.kv.live(NAMESPACE).items()} == live  # type: ignore[attr-defined]


def test_a_clean_resume_leaves_no_stale_failed_keys(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected, cfg = kv_setup(tmp_path, 60, with_invalid=False)
    _leave_a_checkpoint(cf, cfg, expected)
    assert (tmp_path / FAILED).exists()
    capsys.readouterr()
    assert cli.main(["backfill-kv", "--config", str(cfg), "--resume", "--json", "summary.json"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["failed_keys_file"] is None
    assert not (tmp_path / FAILED).exists()  # it listed keys that are written now


# -- backfill-d1 --mode api: the same three promises ----------------------------------------

D1_DDL = "CREATE TABLE trading_trades (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, note TEXT);"
D1_UUID = "5d0b7e4c-1111-4222-8333-944455556666"


@pytest.fixture()
def d1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Tuple[FakeCloudflare, object, Dict[str, str]]]:
    lines = [json.dumps({"_id": {"$oid": "%024x" % (i + 1)}, "legacy_id": i + 1, "userId": f"u{i}", "note": "n" * 3000})
             for i in range(300)]
    with cf_d1.serving_export(tmp_path, monkeypatch, D1_DDL, D1_UUID, lines) as (fake, _store, db):
        yield fake, db, {**os.environ, "PYTHONPATH": str(REPO)}


D1_ARGV = ["backfill-d1", "--config", "rollback.json", "--mode", "api", "--max-statement-bytes", "4000", "--rate", "30"]


def test_d1_sigterm_prints_the_resume_command_that_finishes_the_job(d1: tuple, tmp_path: Path) -> None:
    fake, db, env = d1
    proc = subprocess.Popen(cutover_cmd(*D1_ARGV), cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: len(db.queries) >= 5, lambda: proc.poll() is None)  # type: ignore[attr-defined]
    proc.send_signal(signal.SIGTERM)
    _, raw = proc.communicate(timeout=60)
    err = raw.decode()
    assert proc.returncode == 130, err
    checkpoint = tmp_path / "backfill-d1.sql.checkpoint.json"
    assert f"checkpoint saved in {checkpoint}" in err, err
    printed = resume_line(err)
    assert printed[-len(D1_ARGV) - 1:] == [*D1_ARGV, "--resume"], printed
    done = subprocess.run([sys.executable, *printed[1:]], cwd=str(tmp_path), env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert db.rows("SELECT count(*), min(id), max(id) FROM trading_trades")[0] == (300, 1, 300)  # type: ignore[attr-defined]
    assert not checkpoint.exists()


def test_d1_resume_against_another_database_names_it(d1: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake, db, env = d1
    other = "0b9e0000-1111-4222-8333-944455556666"
    proc = subprocess.Popen(cutover_cmd(*D1_ARGV), cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: len(db.queries) >= 2, lambda: proc.poll() is None)  # type: ignore[attr-defined]
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert (tmp_path / "backfill-d1.sql.checkpoint.json").exists()
    assert cli.main([*D1_ARGV, "--database-id", other, "--resume", "-q"]) == 1
    # (the fake server may log the killed client's broken connection on the same stderr)
    line = "\n".join(x for x in capsys.readouterr().err.splitlines() if x.startswith("cutover backfill-d1:"))
    assert f"D1 database id was {D1_UUID}, now {other}" in line, line
    assert "{" not in line and "original settings" in line, line


def test_d1_run_refused_on_its_first_request_leaves_no_checkpoint(d1: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake, db, env = d1
    argv = D1_ARGV[:-2]
    assert cli.main([*argv, "--database-id", "0b9e0000-1111-4222-8333-944455556666", "-q"]) == 1
    assert not (tmp_path / "backfill-d1.sql.checkpoint.json").exists()
    capsys.readouterr()
    assert cli.main([*argv, "-q"]) == 0, capsys.readouterr().err  # the corrected rerun, without --resume
    assert db.rows("SELECT count(*) FROM trading_trades")[0] == (300,)  # type: ignore[attr-defined]
