"""The generated file runs in real `wrangler d1 execute --local --file` (workerd's SQLite, as D1)
and reads back equal to what SQLite makes of the same file; reruns change nothing."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cutover.cli import main
from cutover.mongo import ejson
from cutover.mongo.values import Binary, DateTime, Decimal128, Int64, ObjectId
from tests.support import sqlite as sqlite_support
from tests.support.tools import run_wrangler, wrangler_bin, wrangler_env

DDL = (
    "CREATE TABLE trading_trades (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, symbol TEXT, qty REAL, "
    "amount INTEGER, created_at TEXT, closed_at INTEGER, note TEXT, meta TEXT, is_open INTEGER DEFAULT 0, "
    "raw BLOB, price NUMERIC);"
)
COLUMNS = ["user_id", "symbol", "qty", "amount", "created_at", "closed_at", "note", "meta", "is_open", "raw", "price"]
PROBE = "SELECT id, " + ", ".join(
    f"typeof({c}) AS t_{c}, CASE WHEN typeof({c}) = 'real' THEN {c} END AS r_{c}, "
    f"CASE WHEN typeof({c}) != 'real' THEN hex(CAST({c} AS BLOB)) END AS h_{c}"
    for c in COLUMNS
) + " FROM trading_trades ORDER BY id"


def oid(n: int) -> ObjectId:
    return ObjectId((0x65A00000).to_bytes(4, "big") + n.to_bytes(8, "big"))


TRICKY = [
    "it's", "''", "-- not a comment", "/* nor this */", "a;b", "BEGIN TRANSACTION;", "COMMIT;", "line\nbreak",
    "crlf\r\n", "tab\t", "back\\slash", '"dq"', "emoji 😀👍🏽", "nul\x00inside", "\u2028\u2029", "\ufeffbom",
    "raw bytes \udc80\udcff", "", " ", "X'00'", "CAST(1 AS TEXT)", "%s %d {}", "ümlaut ñ 中文",
]


def documents(version: int = 1) -> list[dict]:
    docs = []
    for i, text in enumerate(TRICKY):
        docs.append({
            "_id": oid(100 + i), "legacy_id": 1 + i, "userId": f"user-{i}", "symbol": text,
            "qty": [0.1, -0.0, 5e-324, 1.7976931348623157e308, 1.4351356404045017e-95, float("nan"), 123.45][i % 7],
            "amount": [Int64(2**62), -(2**53) - 1, 0, Int64(-(2**63))][i % 4],
            "createdAt": DateTime(1700000000000 + i), "closedAt": DateTime(1700000000000 + i),
            "note": f"{text} v{version}", "meta": {"k": text, "list": [1, 2.5, None, True]},
            "isOpen": i % 2 == 0, "raw": Binary(bytes([i, 0, 255, 39])), "price": Decimal128("10.50"),
        })
    docs.append({"_id": oid(1), "userId": "big", "note": ("big it's; -- " * 12_000) + "\x00" + "é" * 40_000 + f"v{version}",
                 "meta": {"blob": "z" * 120_000}})
    docs.append({"_id": oid(2), "userId": "nul-big", "note": "\x00\udc80" * 60_000})
    return docs


def read_sql(path: Path) -> str:
    with open(path, encoding="utf-8", newline="") as handle:  # keep \r\n inside values as written
        return handle.read()


def write_export(directory: Path, docs: list[dict]) -> None:
    lines = [json.dumps(json.loads(ejson.dumps(d)), ensure_ascii=True) for d in docs]
    (directory / "trading_trades.json").write_text("\n".join(lines) + "\n", encoding="ascii")


def wrangler_rows(project: Path, home: Path) -> list[dict]:
    # stdout to a file: node may exit before a large output drains into a pipe; the JSON is
    # printed at log level, which wrangler_env's WRANGLER_LOG=warn would hide
    out = project / "probe.json"
    with open(out, "w", encoding="utf-8") as handle:
        result = subprocess.run(
            [wrangler_bin(), "d1", "execute", "trading", "--local", "--json", "--command", PROBE],
            cwd=str(project), env=wrangler_env(home, {"WRANGLER_LOG": "log"}), stdout=handle, stderr=subprocess.PIPE, text=True, timeout=300,
        )
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text(encoding="utf-8"))[0]["results"]


def sqlite_rows(sql_file: Path, conn=None):
    conn = conn or sqlite_support.connect()
    if not conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
        conn.execute(DDL)
    conn.executescript(read_sql(sql_file))
    cur = conn.execute(PROBE)
    names = [d[0] for d in cur.description]
    return conn, [dict(zip(names, r)) for r in cur.fetchall()]


def assert_same_rows(got: list[dict], want: list[dict]) -> None:
    assert [r["id"] for r in got] == [r["id"] for r in want]
    for g, w in zip(got, want):
        diff = {k: (g.get(k), w.get(k)) for k in w if g.get(k) != w.get(k)}
        assert not diff, (g["id"], {k: (str(a)[:80], str(b)[:80]) for k, (a, b) in diff.items()})


def run_file(project: Path, home: Path, sql_file: Path) -> None:
    result = run_wrangler(["d1", "execute", "trading", "--local", "--file", str(sql_file), "-y"], project, home, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    wrangler_bin()
    (tmp_path / "wrangler.toml").write_text(
        'name = "backfill-test"\ncompatibility_date = "2024-09-23"\n\n[[d1_databases]]\nbinding = "DB"\n'
        'database_name = "trading"\ndatabase_id = "00000000-0000-4000-8000-000000000001"\n'
    )
    (tmp_path / "ddl.sql").write_text(DDL + "\n")
    run_file(tmp_path, tmp_path / "home", tmp_path / "ddl.sql")
    return tmp_path


@pytest.mark.timeout(600)
def test_generated_file_runs_in_wrangler_local_and_reads_back_equal(project, monkeypatch):
    home = project / "home"
    # the schema as `wrangler d1 export --no-data` prints it is what --schema reads
    exported = run_wrangler(["d1", "export", "trading", "--local", "--no-data", "--output", "schema.sql"], project, home)
    assert exported.returncode == 0, exported.stderr
    write_export(project, documents(1))
    (project / "rollback.json").write_text(json.dumps({
        "mongo": {"source": "export:.", "database": "bot"},
        "d1": {"database": "trading", "table": "trading_trades", "schema": "schema.sql"},
    }))
    monkeypatch.chdir(project)
    assert main(["backfill-d1", "--config", "rollback.json", "-q"]) == 0
    sql_file = project / "backfill-d1.sql"
    text = sql_file.read_text(encoding="utf-8")
    assert "UPDATE" in text  # the big rows were appended in pieces
    assert all(len(s.encode("utf-8")) <= 100_000 for s in text.split(";\n"))

    run_file(project, home, sql_file)
    got = wrangler_rows(project, home)
    conn, want = sqlite_rows(sql_file)
    assert len(got) == len(TRICKY) + 2
    assert_same_rows(got, want)

    # spot checks against the documents themselves, not only against SQLite
    by_id = {r["id"]: r for r in got}
    for i, text_value in enumerate(TRICKY):
        stored = bytes.fromhex(by_id[1 + i]["h_symbol"]).decode("utf-8", "surrogateescape")
        assert stored == text_value
    big = [r for r in got if bytes.fromhex(r["h_user_id"]) == b"big"][0]
    assert bytes.fromhex(big["h_note"]).decode("utf-8").endswith("é" * 40_000 + "v1")
    assert by_id[5]["r_qty"] == 1.4351356404045017e-95 and by_id[3]["r_qty"] == 5e-324
    assert bytes.fromhex(by_id[1]["h_amount"]) == str(2**62).encode()

    # rerun: nothing changes
    run_file(project, home, sql_file)
    assert wrangler_rows(project, home) == got

    # Mongo changed: a rerun applies the updates, ids stay put
    write_export(project, documents(2))
    assert main(["backfill-d1", "--config", "rollback.json", "-q"]) == 0
    run_file(project, home, sql_file)
    again = wrangler_rows(project, home)
    _, want2 = sqlite_rows(sql_file, conn)
    assert_same_rows(again, want2)
    assert [r["id"] for r in again] == [r["id"] for r in got]
    assert bytes.fromhex({r["id"]: r for r in again}[1]["h_note"]).decode() == "it's v2"


@pytest.mark.timeout(600)
def test_full_statements_of_small_rows_run_in_wrangler(project, monkeypatch):
    # Many short rows per statement: workerd's SQLite runs out of memory near 7,000 VALUES
    # rows even under 100 kB, so statements are capped at 1,000 rows.
    home = project / "home"
    narrow = "CREATE TABLE small_trades (id INTEGER PRIMARY KEY, u TEXT);"
    (project / "narrow.sql").write_text(narrow + "\n")
    run_file(project, home, project / "narrow.sql")
    (project / "schema.sql").write_text(narrow + "\n")
    (project / "small_trades.json").write_text("\n".join(
        json.dumps({"_id": {"$oid": oid(10_000 + i).hex}, "legacy_id": i + 1, "u": "u"}) for i in range(9000)) + "\n")
    (project / "rollback.json").write_text(json.dumps({
        "mongo": {"source": "export:.", "database": "bot"},
        "d1": {"database": "trading", "table": "small_trades", "schema": "schema.sql"},
    }))
    monkeypatch.chdir(project)
    assert main(["backfill-d1", "--config", "rollback.json", "-q"]) == 0
    run_file(project, home, project / "backfill-d1.sql")
    out = project / "count.json"
    with open(out, "w", encoding="utf-8") as handle:
        subprocess.run([wrangler_bin(), "d1", "execute", "trading", "--local", "--json", "--command",
                        "SELECT count(*) AS n, max(id) AS m FROM small_trades"],
                       cwd=str(project), env=wrangler_env(home, {"WRANGLER_LOG": "log"}), stdout=handle, timeout=300,
                       check=True)
    assert json.loads(out.read_text())[0]["results"] == [{"n": 9000, "m": 9000}]


def users_by_id(rows: list[dict]) -> dict:
    return {r["id"]: bytes.fromhex(r["h_user_id"]).decode() for r in rows}


@pytest.mark.timeout(600)
def test_ids_never_move_or_collide_and_any_value_lands_in_wrangler(project, monkeypatch):
    # Issue 16: the file is written air-gapped, D1 gains a row before it is applied, a
    # document is deleted in Mongo before the rerun; a note full of "BEGIN TRANSACTION".
    home = project / "home"
    (project / "schema.sql").write_text(DDL + "\n")
    (project / "rollback.json").write_text(json.dumps({
        "mongo": {"source": "export:.", "database": "bot"},
        "d1": {"database": "trading", "table": "trading_trades", "schema": "schema.sql"},
    }))
    phrases = "BEGIN TRANSACTION" * 100
    long_phrases = "BEGIN TRANSACTION;\nCOMMIT;\n" * 4000  # > 100 kB as hex: appended in pieces
    docs = [
        {"_id": oid(200), "legacy_id": 1, "userId": "legacy"},
        {"_id": oid(201), "userId": "alice"},
        {"_id": oid(202), "userId": "bob", "note": phrases},
        {"_id": oid(203), "userId": "carol", "note": long_phrases, "meta": {"n": phrases}},
    ]
    write_export(project, docs)
    monkeypatch.chdir(project)
    assert main(["backfill-d1", "--config", "rollback.json", "-q"]) == 0
    sql_file = project / "backfill-d1.sql"
    late = project / "late.sql"
    late.write_text("INSERT INTO trading_trades (id, user_id) VALUES (2, 'late');\n")
    run_file(project, home, late)  # D1 took a write after the file was made

    run_file(project, home, sql_file)
    first = wrangler_rows(project, home)
    ids = users_by_id(first)
    assert ids == {1: "legacy", 2: "late", 3: "alice", 4: "bob", 5: "carol"}
    by_id = {r["id"]: r for r in first}
    assert bytes.fromhex(by_id[4]["h_note"]).decode() == phrases
    assert bytes.fromhex(by_id[5]["h_note"]).decode() == long_phrases
    assert bytes.fromhex(by_id[5]["h_meta"]).decode() == json.dumps({"n": phrases}, separators=(",", ":"))

    # alice is deleted in Mongo, bob changes: the rerun moves nobody
    docs[2]["note"] = "bob v2"
    write_export(project, [d for d in docs if d["userId"] != "alice"])
    assert main(["backfill-d1", "--config", "rollback.json", "-q"]) == 0
    run_file(project, home, sql_file)
    again = wrangler_rows(project, home)
    assert users_by_id(again) == ids
    assert bytes.fromhex({r["id"]: r for r in again}[4]["h_note"]).decode() == "bob v2"
