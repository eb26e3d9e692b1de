"""backfill-d1 end to end: mongoexport files in, SQL out, run in SQLite / a fake wrangler / the D1 REST API."""
from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from cutover.cli import main
from cutover.mongo import ejson
from cutover.mongo.values import DateTime, ObjectId
from tests.support import cf_d1
from tests.support import sqlite as sqlite_support
from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare

DDL = (
    "CREATE TABLE trading_trades (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, symbol TEXT, qty REAL, "
    "created_at TEXT, closed_at INTEGER, note TEXT, meta TEXT, is_open INTEGER DEFAULT 0);"
)
DB_UUID = "5d0b7e4c-1111-4222-8333-944455556666"


def oid(n: int, t: int = 0x65A00000) -> ObjectId:
    return ObjectId(t.to_bytes(4, "big") + n.to_bytes(8, "big"))


def sample_docs() -> list[dict]:
    return [
        {"_id": oid(1), "legacy_id": 11, "userId": "u1", "symbol": "BTC", "qty": 0.5, "createdAt": DateTime(1700000000000),
         "closedAt": DateTime(1700000100000), "note": "it's -- fine; really", "isOpen": False, "updatedAt": DateTime(1000)},
        {"_id": oid(3), "userId": "u3", "symbol": "ETH", "qty": float("inf"), "note": "nul\x00byte 😀",
         "meta": {"tags": ["a", "b"], "n": 1}, "updatedAt": DateTime(5000)},
        {"_id": oid(2), "legacy_id": 12, "userId": "u2", "symbol": "SOL", "qty": 3, "isOpen": True, "extra": "x",
         "updatedAt": DateTime(1000)},
        {"_id": oid(4), "userId": "u4", "note": "big " + "y" * 150_000, "updatedAt": DateTime(1000)},
    ]


def read_sql(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:  # keep \r\n inside values as written
        return handle.read()


def write_export(directory: Path, docs: list[dict]) -> None:
    lines = [json.dumps(json.loads(ejson.dumps(d)), ensure_ascii=True) for d in docs]
    (directory / "trading_trades.json").write_text("\n".join(lines) + "\n", encoding="ascii")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_export(tmp_path, sample_docs())
    (tmp_path / "schema.sql").write_text("PRAGMA defer_foreign_keys=TRUE;\n" + DDL + "\n")
    (tmp_path / "rollback.json").write_text(json.dumps({
        "mongo": {"source": "export:.", "database": "bot"},
        "cloudflare": {"account_id": ACCOUNT_ID},
        "d1": {"database": "trading", "database_id": DB_UUID, "table": "trading_trades",
               "collection": "trading_trades", "schema": "schema.sql"},
    }))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def rows_of(conn) -> list[tuple]:
    return list(conn.execute("SELECT id, user_id, symbol, qty, created_at, closed_at, note, meta, is_open FROM trading_trades ORDER BY id"))


def apply_file(path: Path, conn=None):
    conn = conn or sqlite_support.connect()
    if not conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        conn.execute(DDL)
    conn.executescript(read_sql(path))
    return conn


EXPECTED = [
    (11, "u1", "BTC", 0.5, "2023-11-14T22:13:20.000Z", 1700000100000, "it's -- fine; really", None, 0),
    (12, "u2", "SOL", 3.0, None, None, None, None, 1),
    (13, "u3", "ETH", None, None, None, "nul\x00byte 😀", '{"tags":["a","b"],"n":1}', 0),
    (14, "u4", None, None, None, None, "big " + "y" * 150_000, None, 0),
]


def test_dry_run_reports_and_writes_nothing(workdir, capsys):
    assert main(["backfill-d1", "--config", "rollback.json", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "DRY RUN" in out
    assert "4 documents" in out
    assert "2 legacy ids kept (11..12)" in out
    assert "2 documents without one: their ids are given when the SQL is applied" in out and "at least 13" in out
    assert "extra (1)" in out  # unmapped field
    assert "NaN/±Infinity written as NULL" in out and oid(3).hex in out
    assert "first statement that writes rows" in out and 'INSERT INTO "trading_trades"' in out
    assert "appended in pieces" in out
    assert not (workdir / "backfill-d1.sql").exists()


def test_writes_rerunnable_sql(workdir, capsys):
    assert main(["backfill-d1", "--config", "rollback.json", "-q"]) == 0
    sql_file = workdir / "backfill-d1.sql"
    text = sql_file.read_text(encoding="utf-8")
    assert "BEGIN" not in text and "COMMIT" not in text.replace("'", "")
    assert all(len(s.encode()) <= 100_000 for s in text.split(";\n") if s)
    conn = apply_file(sql_file)
    assert rows_of(conn) == EXPECTED
    apply_file(sql_file, conn)
    assert rows_of(conn) == EXPECTED
    # Mongo changes; the rerun applies them, ids stay put
    docs = sample_docs()
    docs[0]["note"] = "edited"
    docs[1]["qty"] = 2.25
    docs.append({"_id": oid(9), "userId": "u9"})
    write_export(workdir, docs)
    assert main(["backfill-d1", "--config", "rollback.json", "-q"]) == 0
    apply_file(sql_file, conn)
    rows = rows_of(conn)
    assert rows[0][6] == "edited" and rows[2][3] == 2.25 and rows[4][:2] == (15, "u9")
    assert [r[0] for r in rows] == [11, 12, 13, 14, 15]


def test_json_summary_and_stdout_output(workdir, capsys):
    assert main(["backfill-d1", "--config", "rollback.json", "--output", "-", "--json", "summary.json", "-q"]) == 0
    out = capsys.readouterr().out
    assert out.startswith('CREATE TABLE IF NOT EXISTS "cutover_id_map"')
    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["ok"] is True and summary["documents"] == 4 and summary["rows"] == 4
    assert summary["ids"]["legacy"] == {"count": 2, "min": 11, "max": 12}
    assert summary["ids"]["assigned"] == {"count": 2, "first": None, "last": None}  # given when applied
    assert summary["ids"]["base"] == 13 and summary["ids"]["map_table"] == "cutover_id_map"
    assert summary["warnings"]["non_finite_float"]["count"] == 1
    assert summary["unmapped_fields"] == {"extra": 1, "updatedAt": 4}


def test_validation_errors_exit_1_and_write_nothing(workdir, capsys):
    docs = sample_docs()
    docs[1]["legacy_id"] = 11
    write_export(workdir, docs)
    assert main(["backfill-d1", "--config", "rollback.json"]) == 1
    err = capsys.readouterr().err
    assert "legacy_id 11 is used by 2 documents" in err and oid(1).hex in err and oid(3).hex in err
    assert "nothing written" in err
    assert not (workdir / "backfill-d1.sql").exists()
    assert main(["backfill-d1", "--config", "rollback.json", "--dry-run"]) == 1


def test_start_id_and_since(workdir, capsys):
    assert main(["backfill-d1", "--config", "rollback.json", "--start-id", "500", "-q"]) == 0
    conn = apply_file(workdir / "backfill-d1.sql")
    full = rows_of(conn)
    assert [r[0] for r in full] == [11, 12, 500, 501]
    assert main(["backfill-d1", "--config", "rollback.json", "--start-id", "500", "--since", "1970-01-01T00:00:04Z",
                 "--output", "changed.sql", "-q"]) == 0
    changed = rows_of(apply_file(workdir / "changed.sql"))
    assert changed == [r for r in full if r[1] == "u3"]  # on an empty D1: the floor, 500
    apply_file(workdir / "changed.sql", conn)
    assert rows_of(conn) == full  # on the restored D1: u3 keeps the id it was given


def test_schema_from_config_columns(workdir, capsys):
    cfg = json.loads((workdir / "rollback.json").read_text())
    del cfg["d1"]["schema"]
    cfg["d1"]["columns"] = ["user_id TEXT", "note TEXT"]
    (workdir / "rollback.json").write_text(json.dumps(cfg))
    assert main(["backfill-d1", "--config", "rollback.json", "-q"]) == 0
    text = (workdir / "backfill-d1.sql").read_text()
    assert 'INSERT INTO "trading_trades" ("id", "user_id", "note") SELECT m.id, v.column2, v.column3 FROM (VALUES' in text
    del cfg["d1"]["columns"]
    (workdir / "rollback.json").write_text(json.dumps(cfg))
    assert main(["backfill-d1", "--config", "rollback.json"]) == 1
    assert "--schema" in capsys.readouterr().err


def fake_wrangler(tmp_path: Path, status: int = 0) -> tuple[Path, Path]:
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    log = tmp_path / "wrangler-calls.jsonl"
    script = bindir / "wrangler"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "argv = sys.argv[1:]\n"
        "data = open(argv[argv.index('--file') + 1], encoding='utf-8').read() if '--file' in argv else None\n"
        f"open({str(log)!r}, 'a').write(json.dumps({{'argv': argv, 'bytes': len(data or '')}}) + '\\n')\n"
        "print('fake wrangler: executed')\n"
        f"sys.exit({status})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def test_execute_runs_wrangler_remote(workdir, monkeypatch, capfd):
    script, log = fake_wrangler(workdir)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    assert main(["backfill-d1", "--config", "rollback.json", "--execute"]) == 0
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0]["argv"] == ["d1", "execute", "trading", "--remote", "--file", "backfill-d1.sql", "-y"]
    assert calls[0]["bytes"] == len((workdir / "backfill-d1.sql").read_text(encoding="utf-8"))
    assert "fake wrangler: executed" in capfd.readouterr().out


def test_execute_failure_exits_1_naming_wrangler_status_and_accepts_a_command(workdir, capfd):
    script, log = fake_wrangler(workdir, status=7)
    rc = main(["backfill-d1", "--config", "rollback.json", "--execute", "--wrangler", f"{sys.executable} {script}",
               "--database", "other-db"])
    assert rc == 1  # the contract's "runtime error"; wrangler's own status is in the message
    assert json.loads(log.read_text())["argv"][:3] == ["d1", "execute", "other-db"]
    assert "exited with status 7" in capfd.readouterr().err


def test_execute_refused_on_validation_errors(workdir, monkeypatch, capsys):
    script, log = fake_wrangler(workdir)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    docs = sample_docs()
    docs[0]["legacy_id"] = "not a number"
    write_export(workdir, docs)
    assert main(["backfill-d1", "--config", "rollback.json", "--execute"]) == 1
    assert not log.exists()
    assert "nothing executed" in capsys.readouterr().err


def test_execute_without_wrangler_says_what_to_do(workdir, capsys):
    assert main(["backfill-d1", "--config", "rollback.json", "--execute", "--wrangler", str(workdir / "nope")]) == 1
    err = capsys.readouterr().err
    assert "not found" in err and "--mode api" in err
    assert (workdir / "backfill-d1.sql").exists()


@pytest.fixture
def d1api(monkeypatch):
    fake = FakeCloudflare()
    store = cf_d1.install(fake)
    with fake:
        db = store.create(DB_UUID, "trading", DDL)
        monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", fake.api_base)
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        yield fake, store, db


def test_mode_api_applies_and_is_rerunnable(workdir, d1api, capsys):
    fake, store, db = d1api
    assert main(["backfill-d1", "--config", "rollback.json", "--mode", "api", "--json", "-", "-v"]) == 0
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    summary = json.loads(captured.out)
    assert summary["api"]["statements_sent"] == summary["statements"]
    assert rows_of(db.conn) == EXPECTED
    posts = [r for r in fake.log if r.method == "POST"]
    assert all(r.path.endswith(f"/accounts/{ACCOUNT_ID}/d1/database/{DB_UUID}/query") for r in posts)
    assert all("batch" in r.json() for r in posts)
    assert not (workdir / "backfill-d1.sql.checkpoint.json").exists()
    assert main(["backfill-d1", "--config", "rollback.json", "--mode", "api", "-q"]) == 0
    assert rows_of(db.conn) == EXPECTED


def test_mode_api_resumes_after_a_failure(workdir, d1api, capsys):
    fake, store, db = d1api
    docs = [{"_id": oid(i), "legacy_id": i + 1, "userId": f"u{i}", "note": "n" * 3000} for i in range(200)]
    write_export(workdir, docs)
    args = ["backfill-d1", "--config", "rollback.json", "--mode", "api", "--max-statement-bytes", "10000", "-q"]
    store.fail_at_query = 1  # the second request fails
    assert main(args) == 1
    assert "injected failure" in capsys.readouterr().err
    checkpoint = json.loads((workdir / "backfill-d1.sql.checkpoint.json").read_text())
    done = checkpoint["state"]["done"]
    assert 0 < done < checkpoint["state"]["total"]
    maps = 2  # the id map's: create, legacy ids
    assert db.rows("SELECT count(*) FROM trading_trades")[0][0] == 3 * (done - maps)
    assert main(args) == 1  # a checkpoint exists: refuse to silently start over
    assert "--resume" in capsys.readouterr().err
    sent_before = len(db.queries)
    assert main(args + ["--resume"]) == 0
    first_resumed = db.queries[sent_before][0]
    assert f"('{oid(3 * (done - maps)).hex}'," in first_resumed  # continued at the first unacknowledged row
    assert db.rows("SELECT count(*), min(id), max(id) FROM trading_trades")[0] == (200, 1, 200)
    assert not (workdir / "backfill-d1.sql.checkpoint.json").exists()


def test_mode_api_needs_token_and_ids(workdir, d1api, monkeypatch, capsys):
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    assert main(["backfill-d1", "--config", "rollback.json", "--mode", "api"]) == 1
    assert "CLOUDFLARE_API_TOKEN" in capsys.readouterr().err


def test_flag_conflicts_are_usage_errors(workdir, capsys):
    assert main(["backfill-d1", "--config", "rollback.json", "--execute", "--mode", "api"]) == 2
    assert main(["backfill-d1", "--config", "rollback.json", "--execute", "--output", "-"]) == 2
    assert main(["backfill-d1", "--config", "rollback.json", "--resume"]) == 2
    assert main(["backfill-d1", "--config", "rollback.json", "--date-format", "note"]) == 2
    assert main(["backfill-d1", "--config", "rollback.json", "--date-format", "note=weeks"]) == 2


def test_since_accepts_a_plain_date_and_refuses_nonsense(workdir, capsys):
    assert main(["backfill-d1", "--config", "rollback.json", "--since", "1970-01-01", "--dry-run"]) == 0
    assert main(["backfill-d1", "--config", "rollback.json", "--since", "yesterday", "--dry-run"]) == 2
    assert "2026-12-03" in capsys.readouterr().err  # the error shows the accepted forms


def test_since_takes_the_one_time_grammar(workdir, capsys):
    """issue 19 item 9: relative and epoch-ms --since were refused by backfill-d1."""
    for text in ("24h", "7d", "30m", "0000000000000", "1970-01-01 00:00:04+00:00"):
        assert main(["backfill-d1", "--config", "rollback.json", "--since", text, "--dry-run"]) == 0, text


def test_api_failure_message_says_how_to_resume(workdir, d1api, capsys):
    fake, store, db = d1api
    store.fail_next = "near \"x\": syntax error: SQLITE_ERROR"
    assert main(["backfill-d1", "--config", "rollback.json", "--mode", "api"]) == 1
    err = capsys.readouterr().err
    assert "syntax error" in err and "--resume" in err and "0 of" in err


def test_empty_collection_executes_nothing(workdir, monkeypatch, capsys):
    script, log = fake_wrangler(workdir)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    (workdir / "trading_trades.json").write_text("")
    assert main(["backfill-d1", "--config", "rollback.json", "--execute"]) == 0
    assert "nothing executed" in capsys.readouterr().err
    assert not log.exists()
    assert (workdir / "backfill-d1.sql").read_text() == ""


@pytest.mark.parametrize("flag, where", [
    ("--output", "missing/out.sql"), ("--output", "a-directory"), ("--json", "missing/summary.json"),
    ("--checkpoint", "missing/cp.json"),
])
def test_unwritable_output_paths_stop_before_anything_is_read_or_sent(workdir, d1api, capsys, flag, where):
    fake, store, db = d1api
    (workdir / "a-directory").mkdir()
    (workdir / "trading_trades.json").write_text("{not json\n")  # read first, it would fail on this instead
    assert main(["backfill-d1", "--config", "rollback.json", "--mode", "api", flag, str(workdir / where)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"cutover backfill-d1: {flag}: cannot write "), err
    assert fake.log == [] and db.rows("SELECT count(*) FROM trading_trades")[0][0] == 0


def test_mode_api_delivers_a_value_full_of_transaction_phrases(workdir, d1api, capsys):
    # D1 refuses expressions deeper than 100; the fake holds the same limit
    fake, store, db = d1api
    note = "BEGIN TRANSACTION" * 100
    write_export(workdir, [{"_id": oid(1), "legacy_id": 1, "userId": "u", "note": note},
                           {"_id": oid(2), "userId": "v", "note": note + "'"}])
    assert main(["backfill-d1", "--config", "rollback.json", "--mode", "api", "-q"]) == 0
    assert db.rows("SELECT id, note FROM trading_trades ORDER BY id") == [(1, note), (2, note + "'")]


def test_skip_bad_lines_skips_and_counts_damaged_export_lines(workdir, capsys):
    """issue 18: backfill-d1 lacked --skip-bad-lines (backfill-kv and verify had it)."""
    good = [json.dumps(json.loads(ejson.dumps(d)), ensure_ascii=True) for d in sample_docs()]
    (workdir / "trading_trades.json").write_text("\n".join(good[:2] + ['{"_id": {"$oid": "cut short', *good[2:]]) + "\n")
    assert main(["backfill-d1", "--config", "rollback.json", "-q"]) == 1  # stops by default, writes nothing
    assert "trading_trades.json:3" in capsys.readouterr().err
    assert not (workdir / "backfill-d1.sql").exists()
    assert main(["backfill-d1", "--config", "rollback.json", "--skip-bad-lines", "--json", "s.json", "-q"]) == 0
    err = capsys.readouterr().err
    assert "1 damaged line(s)" in err and "trading_trades.json:3" in err  # said even with -q
    summary = json.loads((workdir / "s.json").read_text())
    assert summary["bad_lines"] == 1 and summary["documents"] == summary["rows"] == 4
    assert rows_of(apply_file(workdir / "backfill-d1.sql")) == EXPECTED
    assert main(["backfill-d1", "--config", "rollback.json", "--json", "s.json", "-q"]) == 1
    assert main(["backfill-d1", "--config", "rollback.json", "--skip-bad-lines", "--dry-run", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["bad_lines"] == 1 and "damaged line" in err


def test_new_flag_spellings_and_old_aliases(workdir, monkeypatch, capsys):
    """--d1-database / --budget-headroom are the spellings; --database / --headroom still work, hidden."""
    script, log = fake_wrangler(workdir)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    assert main(["backfill-d1", "--config", "rollback.json", "--execute", "--d1-database", "new-db", "-q"]) == 0
    assert main(["backfill-d1", "--config", "rollback.json", "--execute", "--database", "old-db", "-q"]) == 0
    assert [json.loads(line)["argv"][2] for line in log.read_text().splitlines()] == ["new-db", "old-db"]
    for flag in ("--budget-headroom", "--headroom"):
        for value in ("20%", "0.2"):
            assert main(["backfill-d1", "--config", "rollback.json", flag, value, "--dry-run", "-q"]) == 0
        with pytest.raises(SystemExit) as info:
            main(["backfill-d1", "--config", "rollback.json", flag, "120%", "--dry-run", "-q"])
        assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["backfill-d1", "--help"])
    help_text = capsys.readouterr().out
    assert "--d1-database" in help_text and "--budget-headroom" in help_text and "--skip-bad-lines" in help_text
    assert "--headroom " not in help_text and "--database " not in help_text
