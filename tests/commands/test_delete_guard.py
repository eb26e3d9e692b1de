"""delete-guard through a real pseudo-terminal, /dev/null and pipes, with a fake `wrangler` on
PATH that records its argv: nothing runs unless the exact name is typed at a terminal."""
from __future__ import annotations

import errno
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import pytest

from tests.support import cf_d1
from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare, envelope, error

REPO = Path(__file__).resolve().parents[2]
NS_ID = "0f2ac74b498b48028cb68387c421e279"
DB = "trading"
DEADLINE = 30.0  # seconds for any one interaction; bounded, not a timing assertion

FAKE_WRANGLER = """\
#!{python}
import json, os, sys
with open(os.environ["FAKE_WRANGLER_LOG"], "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "stdin_tty": sys.stdin.isatty(),
                          "stdout_tty": sys.stdout.isatty()}}) + "\\n")
print("fake wrangler: pretending to delete")
sys.exit(int(os.environ.get("FAKE_WRANGLER_EXIT", "0")))
"""


@dataclass
class Result:
    code: int
    output: str  # everything the terminal showed (stdout and stderr share the pty)


@pytest.fixture
def guard_env(tmp_path: Path) -> dict[str, str]:
    """Environment for the guard: fake wrangler first on PATH, CI unset, no Cloudflare creds."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrangler = bin_dir / "wrangler"
    wrangler.write_text(FAKE_WRANGLER.format(python=sys.executable), encoding="utf-8")
    wrangler.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_") and k != "CI"}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        PYTHONPATH=str(REPO),
        FAKE_WRANGLER_LOG=str(tmp_path / "wrangler-calls.ndjson"),
        TERM="dumb",
    )
    return env


def calls(env: Mapping[str, str]) -> list[dict[str, object]]:
    path = Path(env["FAKE_WRANGLER_LOG"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def guard_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "cutover", "delete-guard", *args]


def _read_until(master: int, buf: bytearray, needle: bytes | None, deadline: float) -> bool:
    """Read the pty into `buf` until `needle` appears (True) or the child closes it (False)."""
    while needle is None or needle not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {needle!r}; terminal so far:\n{buf.decode(errors='replace')}")
        ready, _, _ = select.select([master], [], [], min(remaining, 0.5))
        if not ready:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError as exc:
            if exc.errno == errno.EIO:  # Linux: the child side is closed
                return False
            raise
        if not chunk:
            return False
        buf.extend(chunk)
    return True


def run_in_pty(argv: Sequence[str], env: Mapping[str, str], answer: bytes | None = None,
               after_prompt: bytes | None = None, prompt: bytes = b"anything else cancels: ") -> Result:
    """Run argv on a fresh pseudo-terminal (its controlling tty). When the prompt shows, type
    `answer`; `after_prompt` is sent raw after it (e.g. Ctrl-D for EOF, Ctrl-C)."""
    pid, master = pty.fork()
    if pid == 0:  # child: stdin/stdout/stderr are the pty slave, which is our controlling tty
        try:
            os.execve(argv[0], list(argv), dict(env))
        finally:
            os._exit(127)
    buf = bytearray()
    deadline = time.monotonic() + DEADLINE
    try:
        if (answer is not None or after_prompt is not None) and _read_until(master, buf, prompt, deadline):
            if answer:
                os.write(master, answer)
            if after_prompt:
                os.write(master, after_prompt)
        _read_until(master, buf, None, deadline)
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                raise AssertionError("child did not exit:\n" + buf.decode(errors="replace"))
            time.sleep(0.02)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        else:
            os.waitpid(pid, 0)
        os.close(master)
    code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else (status >> 8)
    return Result(code, buf.decode("utf-8", errors="replace").replace("\r\n", "\n"))


# -- refusals: nothing shown, nothing asked, nothing run ------------------------------------------

@pytest.mark.parametrize("args", [["d1", DB], ["kv-namespace", "--namespace-id", NS_ID]])
def test_stdin_from_dev_null_is_refused_with_exit_3(guard_env: dict[str, str], args: list[str]) -> None:
    proc = subprocess.run(guard_argv(*args), env=guard_env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=DEADLINE)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "stdin is not a terminal" in proc.stderr
    assert calls(guard_env) == []


def test_piped_yes_name_cannot_confirm(guard_env: dict[str, str]) -> None:
    shell = f"yes {DB} | {' '.join(guard_argv('d1', DB))}"
    proc = subprocess.run(shell, shell=True, env=guard_env, capture_output=True, text=True, timeout=DEADLINE)
    assert proc.returncode == 3
    assert proc.stdout == "" and "refused" in proc.stderr and proc.stderr.count("\n") == 1
    assert calls(guard_env) == []


def test_pipe_with_the_right_name_is_refused(guard_env: dict[str, str]) -> None:
    proc = subprocess.run(guard_argv("kv-namespace", "--namespace-id", NS_ID), env=guard_env,
                          input=NS_ID + "\n", capture_output=True, text=True, timeout=DEADLINE)
    assert proc.returncode == 3
    assert calls(guard_env) == []


@pytest.mark.parametrize("ci", ["true", "1", "false", "yes"])
def test_ci_set_is_refused_even_on_a_terminal(guard_env: dict[str, str], ci: str) -> None:
    result = run_in_pty(guard_argv("d1", DB), {**guard_env, "CI": ci})
    assert result.code == 3
    assert result.output.strip().splitlines() == [
        "cutover delete-guard: refused: CI is set; delete-guard never runs in CI (nothing deleted)"
    ]
    assert calls(guard_env) == []


def test_refusal_comes_before_flag_checks_and_missing_wrangler(guard_env: dict[str, str], tmp_path: Path) -> None:
    proc = subprocess.run(
        guard_argv("d1", DB, "--wrangler", "no-such-wrangler", "--require-backup", str(tmp_path / "missing.sql")),
        env=guard_env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=DEADLINE,
    )
    assert proc.returncode == 3 and "stdin is not a terminal" in proc.stderr


# -- the interactive path (CI unset, on a pty) ---------------------------------------------------

def test_exact_name_runs_wrangler_once_with_exact_argv_on_the_terminal(guard_env: dict[str, str]) -> None:
    result = run_in_pty(guard_argv("d1", DB), guard_env, answer=DB.encode() + b"\n")
    assert result.code == 0, result.output
    assert calls(guard_env) == [{"argv": ["d1", "delete", DB, "-y"], "stdin_tty": True, "stdout_tty": True}]
    assert "About to DELETE D1 database trading" in result.output
    assert "fake wrangler: pretending to delete" in result.output
    assert result.output.index("About to DELETE") < result.output.index("anything else cancels")


def test_empty_ci_counts_as_unset(guard_env: dict[str, str]) -> None:
    result = run_in_pty(guard_argv("d1", DB), {**guard_env, "CI": ""}, answer=DB.encode() + b"\n")
    assert result.code == 0, result.output
    assert len(calls(guard_env)) == 1


def test_kv_namespace_id_exact_argv(guard_env: dict[str, str]) -> None:
    result = run_in_pty(guard_argv("kv-namespace", "--namespace-id", NS_ID), guard_env, answer=NS_ID.encode() + b"\n")
    assert result.code == 0, result.output
    assert [c["argv"] for c in calls(guard_env)] == [["kv", "namespace", "delete", "--namespace-id", NS_ID, "-y"]]
    assert "account:   (CLOUDFLARE_ACCOUNT_ID not set" in result.output
    assert "details:   not looked up (CLOUDFLARE_ACCOUNT_ID not set)" in result.output


def test_kv_binding_exact_argv(guard_env: dict[str, str]) -> None:
    result = run_in_pty(guard_argv("kv-namespace", "--binding", "SESSIONS"), guard_env, answer=b"SESSIONS\n")
    assert result.code == 0, result.output
    assert [c["argv"] for c in calls(guard_env)] == [["kv", "namespace", "delete", "--binding", "SESSIONS", "-y"]]


@pytest.mark.parametrize("status", [1, 7])
def test_wrangler_exit_status_is_passed_through(guard_env: dict[str, str], status: int) -> None:
    result = run_in_pty(guard_argv("d1", DB), {**guard_env, "FAKE_WRANGLER_EXIT": str(status)},
                        answer=DB.encode() + b"\n")
    assert result.code == status
    assert len(calls(guard_env)) == 1
    assert f"wrangler exited {status}" in result.output


def test_wrangler_command_can_be_chosen(guard_env: dict[str, str], tmp_path: Path) -> None:
    other = tmp_path / "bin" / "my-wrangler"
    other.write_text((tmp_path / "bin" / "wrangler").read_text(encoding="utf-8"), encoding="utf-8")
    other.chmod(0o755)
    result = run_in_pty(guard_argv("d1", DB, "--wrangler", f"{other} --config prod.toml"), guard_env,
                        answer=DB.encode() + b"\n")
    assert result.code == 0, result.output
    assert [c["argv"] for c in calls(guard_env)] == [["--config", "prod.toml", "d1", "delete", DB, "-y"]]


@pytest.mark.parametrize(
    "typed",
    [
        b"tradinG\n",  # case
        b"TRADING\n",
        b"trading \n",  # trailing space
        b" trading\n",  # leading space
        b"tradin\n",
        b"trading2\n",
        b"y\n",
        b"yes\n",
        b"trading\ttrading\n",
    ],
    ids=["case-last", "upper", "trailing-space", "leading-space", "prefix", "suffix", "y", "yes", "tab"],
)
def test_anything_but_the_exact_name_deletes_nothing(guard_env: dict[str, str], typed: bytes) -> None:
    result = run_in_pty(guard_argv("d1", DB), guard_env, answer=typed)
    assert result.code == 1
    assert "nothing deleted" in result.output
    assert calls(guard_env) == []


def test_empty_answer_deletes_nothing(guard_env: dict[str, str]) -> None:
    result = run_in_pty(guard_argv("d1", DB), guard_env, answer=b"\n")
    assert result.code == 1
    assert "nothing deleted: empty answer" in result.output
    assert calls(guard_env) == []


def test_eof_deletes_nothing(guard_env: dict[str, str]) -> None:
    result = run_in_pty(guard_argv("d1", DB), guard_env, after_prompt=b"\x04")  # Ctrl-D on an empty line
    assert result.code == 1
    assert "nothing deleted: no answer (end of input)" in result.output
    assert calls(guard_env) == []


@pytest.mark.parametrize("ending", [b"\x04\x04", b"\x04\x04\x04"], ids=["ctrl-d-twice", "ctrl-d-thrice"])
def test_exact_name_then_ctrl_d_without_enter_deletes_nothing(guard_env: dict[str, str], ending: bytes) -> None:
    # On a terminal, the first Ctrl-D hands over "trading" without a newline, the second is
    # end of input. Only a full line ended by Enter may confirm.
    result = run_in_pty(guard_argv("d1", DB), guard_env, answer=DB.encode(), after_prompt=ending)
    assert result.code == 1, result.output
    assert "nothing deleted" in result.output and "Enter" in result.output
    assert calls(guard_env) == []


def test_ctrl_c_deletes_nothing_and_exits_130(guard_env: dict[str, str]) -> None:
    result = run_in_pty(guard_argv("d1", DB), guard_env, answer=b"trad", after_prompt=b"\x03")  # Ctrl-C mid-typing
    assert result.code == 130
    assert "interrupted; nothing deleted" in result.output
    assert "Traceback" not in result.output
    assert calls(guard_env) == []


def test_typing_the_name_before_the_prompt_does_not_count(guard_env: dict[str, str]) -> None:
    # A paste that lands before the prompt (type-ahead) is discarded, so it cannot confirm.
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execve(sys.executable, guard_argv("d1", DB), guard_env)
        finally:
            os._exit(127)
    os.write(master, DB.encode() + b"\n")  # the child is still starting python: this is type-ahead
    buf = bytearray()
    try:
        assert _read_until(master, buf, b"anything else cancels: ", time.monotonic() + DEADLINE)
        os.write(master, b"\x04")
        _read_until(master, buf, None, time.monotonic() + DEADLINE)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(master)
    assert os.WEXITSTATUS(status) == 1, buf.decode(errors="replace")
    assert calls(guard_env) == []


# -- usage errors (on a terminal, so the refusal does not fire first) ------------------------------

@pytest.mark.parametrize(
    "args",
    [
        ["d1"],
        ["kv-namespace"],
        ["kv-namespace", "--namespace-id", NS_ID, "--binding", "SESSIONS"],
        ["kv-namespace", "extra-name", "--namespace-id", NS_ID],
        ["d1", DB, "--namespace-id", NS_ID],
        ["d1", DB, "--require-backup", "x.sql", "--max-backup-age", "soon"],
    ],
)
def test_usage_errors_exit_2_and_run_nothing(guard_env: dict[str, str], args: list[str]) -> None:
    result = run_in_pty(guard_argv(*args), guard_env)
    assert result.code == 2, result.output
    assert calls(guard_env) == []


def test_missing_wrangler_fails_before_asking(guard_env: dict[str, str]) -> None:
    result = run_in_pty(guard_argv("d1", DB, "--wrangler", "no-such-wrangler-xyz"), guard_env)
    assert result.code == 1
    assert "not found on PATH" in result.output and "anything else cancels" not in result.output


# -- --require-backup ---------------------------------------------------------------------------

def test_missing_backup_refuses_before_asking(guard_env: dict[str, str], tmp_path: Path) -> None:
    result = run_in_pty(guard_argv("d1", DB, "--require-backup", str(tmp_path / "none.sql")), guard_env)
    assert result.code == 1
    assert "does not exist" in result.output and "anything else cancels" not in result.output
    assert calls(guard_env) == []


def test_old_backup_refuses(guard_env: dict[str, str], tmp_path: Path) -> None:
    backup = tmp_path / "trading.sql"
    backup.write_text("CREATE TABLE t(x);\nINSERT INTO t VALUES(1);\n")
    old = time.time() - 25 * 3600
    os.utime(backup, (old, old))
    result = run_in_pty(guard_argv("d1", DB, "--require-backup", str(backup)), guard_env)
    assert result.code == 1 and "old, more than --max-backup-age 24.0h" in result.output
    # A wider window accepts the same file.
    ok = run_in_pty(guard_argv("d1", DB, "--require-backup", str(backup), "--max-backup-age", "2d"),
                    guard_env, answer=DB.encode() + b"\n")
    assert ok.code == 0, ok.output
    assert "backup:    " + str(backup) in ok.output
    assert len(calls(guard_env)) == 1


def test_empty_backup_refuses(guard_env: dict[str, str], tmp_path: Path) -> None:
    backup = tmp_path / "trading.sql"
    backup.write_text("")
    result = run_in_pty(guard_argv("d1", DB, "--require-backup", str(backup)), guard_env)
    assert result.code == 1 and "is empty" in result.output
    assert calls(guard_env) == []


# -- --audit-log --------------------------------------------------------------------------------

def test_audit_log_records_each_outcome(guard_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "audit.ndjson"
    env = {**guard_env, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT_ID, "CLOUDFLARE_API_BASE_URL": "http://127.0.0.1:9/client/v4"}
    assert run_in_pty(guard_argv("d1", DB, "--audit-log", str(log)), env, answer=b"nope\n").code == 1
    assert run_in_pty(guard_argv("d1", DB, "--audit-log", str(log)), env, answer=DB.encode() + b"\n").code == 0
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [r["outcome"] for r in records] == [
        "cancelled: typed text did not match", "confirmed: running wrangler", "deleted",
    ]
    for record in records:
        assert record["resource"] == "d1:trading" and record["account"] == ACCOUNT_ID
        assert record["time"].endswith("Z") and record["user"] and record["host"]
    assert records[-1]["wrangler_exit"] == 0


def test_unwritable_audit_log_stops_before_asking(guard_env: dict[str, str], tmp_path: Path) -> None:
    result = run_in_pty(guard_argv("d1", DB, "--audit-log", str(tmp_path / "no" / "dir" / "audit.log")), guard_env)
    assert result.code == 1 and "cannot open audit log" in result.output
    assert calls(guard_env) == []


# -- details from the Cloudflare API (read-only), and going on without them -----------------------

@pytest.fixture
def cloudflare() -> FakeCloudflare:
    fake = FakeCloudflare()
    keys = [{"name": f"k{i}"} for i in range(2345)]

    def kv_namespace(req):  # type: ignore[no-untyped-def]
        if req.params["ns"] != NS_ID:
            return envelope(None, status=404)
        return envelope({"id": NS_ID, "title": "prod-SESSIONS", "supports_url_encoding": True})

    def kv_keys(req):  # type: ignore[no-untyped-def]
        limit = int(req.query.get("limit", "1000"))
        start = int(req.query.get("cursor") or 0)
        page = keys[start:start + limit]
        cursor = str(start + limit) if start + limit < len(keys) else ""
        return envelope(page, {"count": len(page), "cursor": cursor})

    store = cf_d1.install(fake)
    store.create("d1-uuid-1", "trading-old")
    db = store.create("d1-uuid-2", "trading", 'CREATE TABLE trading_trades (id INTEGER PRIMARY KEY, legacy_id TEXT);'
                      ' CREATE TABLE "odd ""name""" (x);')
    db.conn.executemany("INSERT INTO trading_trades (legacy_id) VALUES (?)", [(str(i),) for i in range(1234)])
    fake.d1_store = store  # type: ignore[attr-defined]

    def d1_list(req):  # type: ignore[no-untyped-def]
        # GET /accounts/{account_id}/d1/database?name=…: a filter, not an exact match.
        if req.params["acct"] != ACCOUNT_ID:
            return error(404, 7003, "Could not route")
        name = req.query.get("name")
        dbs = [{"uuid": d.uuid, "name": d.name, "version": "production"} for d in store.databases.values()
               if not name or name in d.name]
        return envelope(dbs, {"page": 1, "per_page": 100, "count": len(dbs), "total_count": len(dbs)})

    base = "/accounts/{acct}"
    fake.route("GET", base + "/storage/kv/namespaces/{ns}", kv_namespace)
    fake.route("GET", base + "/storage/kv/namespaces/{ns}/keys", kv_keys)
    fake.route("GET", base + "/d1/database", d1_list)
    with fake:
        yield fake  # type: ignore[misc]


def api_env(env: Mapping[str, str], fake: FakeCloudflare) -> dict[str, str]:
    return {**env, "CLOUDFLARE_API_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT_ID,
            "CLOUDFLARE_API_BASE_URL": fake.api_base}


def test_kv_details_shown_from_the_api(guard_env: dict[str, str], cloudflare: FakeCloudflare) -> None:
    result = run_in_pty(guard_argv("kv-namespace", "--namespace-id", NS_ID), api_env(guard_env, cloudflare),
                        answer=b"no\n")
    assert result.code == 1
    assert f"account:   {ACCOUNT_ID}" in result.output
    assert "title:     prod-SESSIONS" in result.output
    assert "keys:      2,345" in result.output
    assert TOKEN not in result.output
    assert {r.method for r in cloudflare.log} == {"GET"}, "read-only"
    assert calls(guard_env) == []


def test_d1_details_shown_from_the_api(guard_env: dict[str, str], cloudflare: FakeCloudflare) -> None:
    result = run_in_pty(guard_argv("d1", DB), api_env(guard_env, cloudflare), answer=DB.encode() + b"\n")
    assert result.code == 0, result.output
    assert "uuid:      d1-uuid-2" in result.output, "the exact name, not the first partial match"
    assert "size:      8,192 bytes" in result.output and "tables:    2" in result.output
    assert "rows:      trading_trades: 1,234" in result.output
    assert 'rows:      odd "name": 0' in result.output
    # Read-only: GETs, and POSTs only to /query with SELECT statements.
    assert {(r.method, r.path.rsplit("/", 1)[-1]) for r in cloudflare.log if r.method != "GET"} == {("POST", "query")}
    queries = [s for q in cloudflare.d1_store.databases["d1-uuid-2"].queries for s in q]  # type: ignore[attr-defined]
    assert queries and all(q.upper().startswith("SELECT") for q in queries)
    assert [c["argv"] for c in calls(guard_env)] == [["d1", "delete", DB, "-y"]]


def _stopped_before_the_prompt(result: Result, guard_env: dict[str, str]) -> str:
    assert result.code == 1, result.output
    assert "anything else cancels" not in result.output, "no prompt after the API said the name is wrong"
    assert calls(guard_env) == []
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_unknown_namespace_stops_before_the_prompt(guard_env: dict[str, str], cloudflare: FakeCloudflare) -> None:
    other = "ffffffffffffffffffffffffffffffff"
    result = run_in_pty(guard_argv("kv-namespace", "--namespace-id", other), api_env(guard_env, cloudflare),
                        answer=other.encode() + b"\n")
    line = _stopped_before_the_prompt(result, guard_env)
    assert f"no KV namespace with id {other}" in line and "check --namespace-id and CLOUDFLARE_ACCOUNT_ID" in line
    assert "not reachable" not in line


@pytest.mark.parametrize("where", ["name", "account"])
def test_unknown_d1_database_or_account_stops_before_the_prompt(guard_env: dict[str, str], cloudflare: FakeCloudflare,
                                                                 where: str) -> None:
    env = api_env(guard_env, cloudflare)
    name = "tradinx" if where == "name" else DB
    if where == "account":
        env["CLOUDFLARE_ACCOUNT_ID"] = "ffffffffffffffffffffffffffffffff"  # the listing answers 404
    result = run_in_pty(guard_argv("d1", name), env, answer=name.encode() + b"\n")
    line = _stopped_before_the_prompt(result, guard_env)
    assert f"no D1 database named {name!r}" in line and "CLOUDFLARE_ACCOUNT_ID" in line
    assert "not reachable" not in line


def test_plain_http_api_base_stops_before_the_prompt(guard_env: dict[str, str]) -> None:
    env = {**guard_env, "CLOUDFLARE_API_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT_ID,
           "CLOUDFLARE_API_BASE_URL": "http://api.cloudflare.invalid/client/v4"}
    result = run_in_pty(guard_argv("d1", DB), env, answer=DB.encode() + b"\n")
    line = _stopped_before_the_prompt(result, guard_env)
    assert "CLOUDFLARE_API_BASE_URL: refusing plain http://" in line and TOKEN not in line


# -- --require-backup judged by content, against the live resource --------------------------------

def _d1_dump(cloudflare: FakeCloudflare, path: Path) -> Path:
    """A SQL dump of the live database (sqlite3's iterdump: CREATE TABLE and INSERTs)."""
    conn = cloudflare.d1_store.databases["d1-uuid-2"].conn  # type: ignore[attr-defined]
    path.write_text("\n".join(conn.iterdump()) + "\n", encoding="utf-8")
    return path


def test_the_19_byte_backup_is_not_a_backup(guard_env: dict[str, str], cloudflare: FakeCloudflare,
                                             tmp_path: Path) -> None:
    backup = tmp_path / "trading.sql"
    backup.write_text("CREATE TABLE t(x);\n")
    assert backup.stat().st_size == 19
    for env in (guard_env, api_env(guard_env, cloudflare)):  # without and with the live database to compare
        result = run_in_pty(guard_argv("d1", DB, "--require-backup", str(backup)), env, answer=DB.encode() + b"\n")
        assert result.code == 1, result.output
        assert "anything else cancels" not in result.output and "nothing deleted: backup" in result.output
    assert calls(guard_env) == []


def test_a_full_d1_export_is_accepted(guard_env: dict[str, str], cloudflare: FakeCloudflare, tmp_path: Path) -> None:
    backup = _d1_dump(cloudflare, tmp_path / "trading.sql")
    result = run_in_pty(guard_argv("d1", DB, "--require-backup", str(backup)), api_env(guard_env, cloudflare),
                        answer=DB.encode() + b"\n")
    assert result.code == 0, result.output
    assert "2 tables, 1,234 rows: every live table, at least its live rows" in result.output
    assert len(calls(guard_env)) == 1


def test_a_d1_export_missing_rows_or_tables_is_refused(guard_env: dict[str, str], cloudflare: FakeCloudflare,
                                                       tmp_path: Path) -> None:
    backup = _d1_dump(cloudflare, tmp_path / "trading.sql")
    live = cloudflare.d1_store.databases["d1-uuid-2"].conn  # type: ignore[attr-defined]
    live.execute("INSERT INTO trading_trades (legacy_id) VALUES ('written after the backup')")
    result = run_in_pty(guard_argv("d1", DB, "--require-backup", str(backup)), api_env(guard_env, cloudflare))
    assert result.code == 1 and "fewer rows than the live database (trading_trades: 1,234 of 1,235)" in result.output
    live.execute("CREATE TABLE added_later (x)")
    result = run_in_pty(guard_argv("d1", DB, "--require-backup", str(backup)), api_env(guard_env, cloudflare))
    assert result.code == 1 and "lacks table(s) 'added_later'" in result.output
    assert calls(guard_env) == []


@pytest.mark.parametrize("content", [b"x" * 4096, b'{"not": "sql"}', b"\x00\x01garbage;\n",
                                     b"CREATE TABLE t(x);\nINSERT INTO t VALUES('cut sh"])
def test_a_file_that_is_not_an_export_is_refused(guard_env: dict[str, str], tmp_path: Path, content: bytes) -> None:
    backup = tmp_path / "trading.sql"
    backup.write_bytes(content)
    result = run_in_pty(guard_argv("d1", DB, "--require-backup", str(backup)), guard_env)
    assert result.code == 1 and "nothing deleted: backup" in result.output, result.output
    assert calls(guard_env) == []


def _kv_backup(path: Path, count: int, values: bool = True) -> Path:
    entries = [{"key": f"k{i}", "value": "v"} if values else {"name": f"k{i}"} for i in range(count)]
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def test_a_kv_backup_with_every_key_is_accepted(guard_env: dict[str, str], cloudflare: FakeCloudflare,
                                                tmp_path: Path) -> None:
    backup = _kv_backup(tmp_path / "sessions.json", 2345)
    result = run_in_pty(guard_argv("kv-namespace", "--namespace-id", NS_ID, "--require-backup", str(backup)),
                        api_env(guard_env, cloudflare), answer=NS_ID.encode() + b"\n")
    assert result.code == 0, result.output
    assert "2,345 keys: every live key" in result.output


@pytest.mark.parametrize(("count", "values", "says"), [
    (2344, True, "lacks 1 of the 2,345 live keys ('k2344')"),
    (2345, False, "(a key listing is not a backup)"),
    (0, True, "lacks 2,345 of the 2,345 live keys"),
])
def test_a_kv_backup_without_the_keys_is_refused(guard_env: dict[str, str], cloudflare: FakeCloudflare, tmp_path: Path,
                                                 count: int, values: bool, says: str) -> None:
    backup = _kv_backup(tmp_path / "sessions.json", count, values)
    result = run_in_pty(guard_argv("kv-namespace", "--namespace-id", NS_ID, "--require-backup", str(backup)),
                        api_env(guard_env, cloudflare), answer=NS_ID.encode() + b"\n")
    assert result.code == 1 and says in result.output, result.output
    assert "anything else cancels" not in result.output and calls(guard_env) == []


def test_unreachable_api_is_said_and_the_guard_goes_on(guard_env: dict[str, str]) -> None:
    env = {**guard_env, "CLOUDFLARE_API_TOKEN": TOKEN, "CLOUDFLARE_ACCOUNT_ID": ACCOUNT_ID,
           "CLOUDFLARE_API_BASE_URL": "http://127.0.0.1:9/client/v4"}  # port 9 (discard): nothing listens
    result = run_in_pty(guard_argv("d1", DB), env, answer=DB.encode() + b"\n")
    assert result.code == 0, result.output
    assert "Cloudflare API not reachable, going on without them" in result.output
    assert TOKEN not in result.output
    assert len(calls(guard_env)) == 1


def test_output_can_be_piped_to_tee(guard_env: dict[str, str], tmp_path: Path) -> None:
    # stdin is the terminal, stdout a pipe (`| tee`): the guard still asks and works.
    teed = tmp_path / "teed.txt"
    shell = f"{' '.join(guard_argv('d1', DB))} | tee {teed}"
    result = run_in_pty(["/bin/sh", "-c", shell], guard_env, answer=DB.encode() + b"\n")
    assert result.code == 0, result.output
    assert "About to DELETE D1 database trading" in teed.read_text(encoding="utf-8")
    assert [c["argv"] for c in calls(guard_env)] == [["d1", "delete", DB, "-y"]]


def test_d1_row_count_failure_keeps_the_other_details(guard_env: dict[str, str], cloudflare: FakeCloudflare) -> None:
    cloudflare.d1_store.fail_next = "not authorized to query"  # type: ignore[attr-defined]
    result = run_in_pty(guard_argv("d1", DB), api_env(guard_env, cloudflare), answer=b"\n")
    assert result.code == 1
    assert "size:      8,192 bytes" in result.output
    assert "rows:      not counted (" in result.output and "not authorized to query" in result.output
    assert "not reachable" not in result.output


def test_prompt_still_shows_when_stderr_is_redirected(guard_env: dict[str, str], tmp_path: Path) -> None:
    errors = tmp_path / "errors.log"
    shell = f"{' '.join(guard_argv('d1', DB))} 2>{errors}"
    result = run_in_pty(["/bin/sh", "-c", shell], guard_env, answer=DB.encode() + b"\n")
    assert result.code == 0, result.output
    assert "anything else cancels" in result.output
    assert len(calls(guard_env)) == 1


def test_help_and_readme_say_the_guard_can_be_bypassed_deliberately() -> None:
    # The typed-name contract stops accidents and unattended runs; a fake terminal (script(1))
    # gets through by design, as with any typed-name prompt. Both places must say so plainly.
    proc = subprocess.run(guard_argv("--help"), capture_output=True, text=True, timeout=DEADLINE,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0
    help_text = " ".join(proc.stdout.split())
    assert "not someone determined to bypass it" in help_text and "script -qfec" in help_text
    for page in ("README.md", "docs/commands/delete-guard.md", "docs/security.md"):
        text = " ".join((REPO / page).read_text(encoding="utf-8").split())
        assert "not someone determined to bypass it" in text and "script -qfec" in text, page
