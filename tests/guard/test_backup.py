"""--max-backup-age parsing and the backup check (real files, clock passed in)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from cutover.errors import CutoverError, UsageError
from cutover.guard.backup import (
    check_backup,
    judge_d1_backup,
    judge_kv_backup,
    parse_age,
    read_d1_backup,
    read_kv_backup,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("24h", 86400), ("24", 86400), ("90m", 5400), ("3600s", 3600), ("2d", 172800), ("0.5h", 1800), (" 1h ", 3600)],
)
def test_parse_age(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-1h", "1w", "h", "1 day", "soon"])
def test_parse_age_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_age(text)


def test_check_backup(tmp_path: Path) -> None:
    backup = tmp_path / "d1.sql"
    backup.write_bytes(b"x" * 2048)
    os.utime(backup, (1_000_000, 1_000_000))
    assert check_backup(str(backup), 3600, now=1_000_000 + 600) == f"{backup} (2,048 bytes, 10m old)"
    with pytest.raises(CutoverError, match="is 60m old, more than --max-backup-age 30m"):
        check_backup(str(backup), 1800, now=1_000_000 + 3600)
    with pytest.raises(CutoverError, match="does not exist"):
        check_backup(str(tmp_path / "none.sql"), 3600)
    with pytest.raises(CutoverError, match="not a regular file"):
        check_backup(str(tmp_path), 3600)


# -- content: a D1 export is judged by what SQLite loads from it, a KV backup by its keys ---------

def test_real_wrangler_d1_export_is_read_table_by_table(tmp_path: Path) -> None:
    # Input we did not write: the export of a local D1 database by wrangler itself, with
    # values that stress a statement splitter (quotes, semicolons, newlines, blobs, NULL).
    from tests.support.tools import run_wrangler, wrangler_bin

    wrangler_bin()
    home = tmp_path / "home"
    (tmp_path / "wrangler.toml").write_text(
        'name = "guard-test"\ncompatibility_date = "2024-09-23"\n\n[[d1_databases]]\nbinding = "DB"\n'
        'database_name = "trading"\ndatabase_id = "00000000-0000-4000-8000-000000000002"\n')
    rows = ",".join(f"({i}, 'it''s; row {i}\n-- not a comment', X'00ff{i:02x}', NULL)" for i in range(40))
    (tmp_path / "seed.sql").write_text(
        "CREATE TABLE trades (id INTEGER PRIMARY KEY, note TEXT, raw BLOB, extra TEXT);\n"
        f"INSERT INTO trades VALUES {rows};\n"
        'CREATE TABLE "odd ""name""; x" (k TEXT);\nINSERT INTO "odd ""name""; x" VALUES (\'é;\');\n'
        "CREATE TABLE empty_one (x);\n")
    seeded = run_wrangler(["d1", "execute", "trading", "--local", "--file", "seed.sql", "-y"], tmp_path, home, timeout=300)
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    exported = run_wrangler(["d1", "export", "trading", "--local", "--output", "export.sql"], tmp_path, home, timeout=300)
    assert exported.returncode == 0, exported.stderr[-2000:]
    backup = read_d1_backup(str(tmp_path / "export.sql"))
    assert backup.tables == {"trades": 40, 'odd "name"; x': 1, "empty_one": 0}
    assert judge_d1_backup("export.sql", backup, {"trades": 40, 'odd "name"; x': 1, "empty_one": 0}).startswith("3 tables, 41 rows")
    with pytest.raises(CutoverError, match=r"fewer rows than the live database \(trades: 40 of 41\)"):
        judge_d1_backup("export.sql", backup, {"trades": 41, 'odd "name"; x': 1, "empty_one": 0})


@pytest.mark.parametrize(("live", "ok"), [(None, True), ({"t": 2}, True), ({"t": 1}, True), ({"t": 3}, False),
                                          ({"t": 2, "u": 0}, False)])
def test_judge_d1_backup_table(tmp_path: Path, live, ok: bool) -> None:
    path = tmp_path / "b.sql"
    path.write_text("BEGIN TRANSACTION;\nCREATE TABLE t(x);\nINSERT INTO t VALUES(1);\nINSERT INTO t VALUES(2);\nCOMMIT;\n")
    backup = read_d1_backup(str(path))
    assert backup.tables == {"t": 2}
    if ok:
        judge_d1_backup(str(path), backup, live)
    else:
        with pytest.raises(CutoverError, match="nothing deleted"):
            judge_d1_backup(str(path), backup, live)


def test_schema_only_export_passes_only_against_an_empty_live_database(tmp_path: Path) -> None:
    path = tmp_path / "b.sql"
    path.write_text("CREATE TABLE t(x);\n")
    backup = read_d1_backup(str(path))
    assert judge_d1_backup(str(path), backup, {"t": 0})
    for live in (None, {"t": 5}):
        with pytest.raises(CutoverError, match="nothing deleted"):
            judge_d1_backup(str(path), backup, live)


@pytest.mark.parametrize(("doc", "keys"), [
    ([{"key": "a", "value": "1"}, {"key": "b", "value": "{}", "expiration_ttl": 60}], {"a", "b"}),
    ({"a": "1", "b": "2"}, {"a", "b"}),
    ([], set()),
])
def test_read_kv_backup(tmp_path: Path, doc, keys) -> None:
    path = tmp_path / "kv.json"
    path.write_text(json.dumps(doc))
    assert read_kv_backup(str(path)) == keys


@pytest.mark.parametrize("text", ['[{"name": "a"}, {"name": "b"}]', "not json", '"a string"', "[1, 2]"])
def test_read_kv_backup_refuses_what_holds_no_values(tmp_path: Path, text: str) -> None:
    path = tmp_path / "kv.json"
    path.write_text(text)
    with pytest.raises(CutoverError, match="nothing deleted"):
        read_kv_backup(str(path))


def test_judge_kv_backup() -> None:
    assert judge_kv_backup("f", {"a", "b"}, {"a"}) == "2 keys: every live key"
    assert judge_kv_backup("f", set(), set()) == "0 keys: every live key"
    assert "not compared" in judge_kv_backup("f", {"a"}, None)
    with pytest.raises(CutoverError, match=r"lacks 1 of the 2 live keys \('c'\)"):
        judge_kv_backup("f", {"a", "b"}, {"a", "c"})
    with pytest.raises(CutoverError, match="holds no keys"):
        judge_kv_backup("f", set(), None)
