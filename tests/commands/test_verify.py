"""verify against a local Cloudflare API (KV list/bulk-get, D1 query), a SQLite file and a bulk
file: clean on an exact restore, and each kind of difference caught (exit 4)."""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from cutover.cli import main
from cutover.drill.workspace import D1_DATABASE_ID, KV_MODULES, materialize
from tests.support import cf_d1, cf_kv
from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare

SESSIONS_NS = KV_MODULES["sessions"]["namespace_id"]


def _restore(tmp_path, monkeypatch, capsys, d1_before: str = ""):
    """The sample rollback written to a fake Cloudflare by the real backfill commands
    (`d1_before`: SQL run on D1 first, e.g. rows it already holds)."""
    ws = materialize(str(tmp_path / "ws"), time.time())
    fake = FakeCloudflare().start()
    kv = cf_kv.install(fake)
    for spec in KV_MODULES.values():
        kv.create_namespace(spec["namespace_id"])
    d1 = cf_d1.install(fake)
    db = d1.create(D1_DATABASE_ID, "trading", Path(ws.schema).read_text() + d1_before)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", fake.api_base)
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT_ID)
    monkeypatch.chdir(tmp_path)
    assert main(["backfill-kv", "--config", ws.config, "-q"]) == 0
    assert main(["backfill-d1", "--config", ws.config, "--mode", "api", "--output", str(tmp_path / "b.sql"), "-q"]) == 0
    capsys.readouterr()
    return ws, kv, db, tmp_path, fake


@pytest.fixture
def restored(tmp_path, monkeypatch, capsys):
    ws, kv, db, path, fake = _restore(tmp_path, monkeypatch, capsys)
    yield ws, kv, db, path
    fake.stop()


def verify(ws, *extra):
    return main(["verify", "--config", ws.config, "--json", "-", "-q", *extra])


def result(capsys):
    return json.loads(capsys.readouterr().out)


def test_exact_restore_is_clean(restored, capsys):
    ws, kv, db, _ = restored
    assert verify(ws) == 0
    out = result(capsys)
    assert out["ok"] is True
    assert out["modules"]["sessions"]["equal"] == 5 and out["d1"]["equal"] == 6
    assert all(m["missing"] == m["extra"] == m["different"] == m["resurrected"] == 0 for m in out["modules"].values())


def _mutate_kv(kv, what):
    space = kv.namespaces[SESSIONS_NS]
    if what == "missing":
        del space["session:1001"]
    elif what == "extra":
        space["session:9999"] = cf_kv.Entry(b"{}", None)
    elif what == "different":
        space["session:1004"] = cf_kv.Entry(b"changed", None)
    elif what == "ttl_drift":
        entry = space["session:1001"]
        space["session:1001"] = cf_kv.Entry(entry.value, entry.expiration + 3600, entry.metadata)
    elif what == "resurrected":
        space["session:1002"] = cf_kv.Entry(b'{"step":"idle","chat":1002}', None)


@pytest.mark.parametrize(
    ("what", "counter"),
    [("missing", "missing"), ("extra", "extra"), ("different", "different"), ("ttl_drift", "different"),
     ("resurrected", "resurrected")],
)
def test_each_kv_difference_is_caught(restored, capsys, what, counter):
    ws, kv, _, _ = restored
    _mutate_kv(kv, what)
    assert verify(ws, "--module", "sessions") == 4
    out = result(capsys)
    assert out["ok"] is False and out["modules"]["sessions"][counter] == 1
    assert "d1" not in out  # --module alone checks only that module


def test_changed_d1_field_is_caught_and_named(restored, capsys):
    ws, _, db, _ = restored
    db.conn.execute("UPDATE trading_trades SET note = 'tampered' WHERE id = 102")
    assert verify(ws, "--d1") == 4
    out = result(capsys)
    assert out["d1"]["different"] == 1 and out["modules"] == {}
    assert any("note" in line and "tampered" in line for line in out["d1"]["examples"])


def test_missing_and_extra_d1_rows(restored, capsys):
    ws, _, db, _ = restored
    db.conn.execute("DELETE FROM trading_trades WHERE id = 101")
    db.conn.execute("INSERT INTO trading_trades (id, user_id, symbol, side, qty, created_at) VALUES (5000, 'x', 'X', 'buy', 1, 'now')")
    assert verify(ws, "--d1") == 4
    d1 = result(capsys)["d1"]
    assert (d1["equal"], d1["missing"], d1["extra"], d1["different"]) == (5, 1, 1, 0)


def test_sqlite_file_and_bulk_file_targets(restored, capsys, tmp_path):
    ws, kv, db, _ = restored
    sqlite_path = tmp_path / "copy.sqlite"
    dst = sqlite3.connect(sqlite_path)
    db.conn.backup(dst)
    dst.close()
    assert main(["backfill-kv", "--config", ws.config, "--module", "sessions", "--emit", str(tmp_path / "s.json"), "-q"]) == 0
    capsys.readouterr()
    assert verify(ws, "--module", "sessions", "--d1", "--kv-file", str(tmp_path / "s.json"), "--d1-sqlite", str(sqlite_path)) == 0
    out = result(capsys)
    assert out["ok"] and out["modules"]["sessions"]["equal"] == 5 and out["d1"]["equal"] == 6


def test_verify_is_read_only(restored, capsys):
    ws, kv, db, _ = restored
    writes_before, queries_before = kv.writes, [q for q in db.queries]
    assert verify(ws) == 0
    assert kv.writes == writes_before
    new = db.queries[len(queries_before):]
    assert new and all(s.lstrip().upper().startswith("SELECT") for q in new for s in q)


PREFS_NS = KV_MODULES["prefs"]["namespace_id"]


@pytest.mark.parametrize(("key", "stored"), [
    ("prefs:42", '{"currency":"EUR","alerts":1,"threshold":1.5,"watch":["BTC","ETH"]}'),
    ("prefs:43", '{"currency":"USD","alerts":0,"threshold":10,"tz":"Europe/Berlin"}'),
])
def test_bool_stored_as_number_is_a_difference(restored, capsys, key, stored):
    ws, kv, _, _ = restored
    space = kv.namespaces[PREFS_NS]
    space[key] = cf_kv.Entry(stored.encode(), space[key].expiration, space[key].metadata)
    assert verify(ws, "--module", "prefs") == 4
    out = result(capsys)["modules"]["prefs"]
    assert out["different"] == 1 and any(key in line and "value" in line for line in out["examples"])


def test_number_spelled_differently_is_equal(restored, capsys):
    ws, kv, _, _ = restored
    space = kv.namespaces[PREFS_NS]
    space["prefs:43"] = cf_kv.Entry(b'{"tz":"Europe/Berlin","threshold":10.0,"alerts":false,"currency":"USD"}', None)
    assert verify(ws, "--module", "prefs") == 0


def test_a_key_that_expires_while_verify_runs_is_not_missing(restored, capsys, monkeypatch):
    """session:1003 lives 30 s more in Mongo; KV is read after a (simulated) 100 s wait."""
    ws, kv, _, _ = restored
    start = time.time()
    clock = [start]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    kv.clock = lambda: clock[0]
    real_live = kv.live

    def live_after_a_wait(namespace_id):
        clock[0] = start + 100  # e.g. waited out a 429 block between reading Mongo and KV
        return real_live(namespace_id)

    kv.live = live_after_a_wait
    assert verify(ws, "--module", "sessions") == 0
    out = result(capsys)["modules"]["sessions"]
    assert out["missing"] == 0 and out["equal"] == 4 and out["expiring"] == 1


def test_an_expired_key_present_in_kv_is_resurrected(restored, capsys):
    ws, kv, _, _ = restored
    space = kv.namespaces[SESSIONS_NS]
    # session:1002 expired an hour ago in Mongo; KV holds it with a fresh day of life
    space["session:1002"] = cf_kv.Entry(b'{"step":"idle","chat":1002}', int(time.time()) + 86400)
    assert verify(ws, "--module", "sessions") == 4
    out = result(capsys)["modules"]["sessions"]
    assert out["resurrected"] == 1 and any("session:1002" in line for line in out["examples"])


def _without_d1_database_id(ws, tmp_path):
    cfg = json.loads(Path(ws.config).read_text())
    del cfg["d1"]["database_id"]
    config = tmp_path / "no-d1-id.json"
    config.write_text(json.dumps(cfg))
    return config


def test_an_unreadable_d1_does_not_throw_away_kv_results(restored, capsys, tmp_path):
    """The README's config without d1.database_id, and no wrangler on PATH."""
    ws, kv, _, _ = restored
    config = _without_d1_database_id(ws, tmp_path)
    _mutate_kv(kv, "missing")
    code = main(["verify", "--config", str(config), "--wrangler", str(tmp_path / "no-such-wrangler"), "-q"])
    out = capsys.readouterr()
    assert code == 4  # a difference found in KV is the verdict; the D1 error is reported beside it
    assert "KV sessions" in out.out and "1 missing" in out.out and "KV prefs" in out.out
    d1_lines = [line for line in out.out.splitlines() + out.err.splitlines() if "D1" in line and "d1.database_id" in line]
    assert len(d1_lines) == 1 and "--wrangler" in d1_lines[0]


def test_an_unreadable_target_alone_is_exit_1_with_everything_else_reported(restored, capsys, tmp_path):
    ws, _, _, _ = restored
    config = _without_d1_database_id(ws, tmp_path)
    code = main(["verify", "--config", str(config), "--wrangler", str(tmp_path / "no-such-wrangler"), "--json", "-", "-q"])
    assert code == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["modules"]["sessions"]["equal"] == 5
    assert "d1.database_id" in out["d1"]["error"]


# -- D1 rows are matched by Mongo _id through D1's id map (issue 16) --------------------------

MAP = "cutover_id_map"
NEW_DOCS = ["6560000000000000000000a1", "6560000000000000000000a2", "6560000000000000000000a3"]


def _map_id(db, hex_id: str) -> int:
    return db.rows(f"SELECT id FROM {MAP} WHERE tbl = 'trading_trades' AND mongo_id = ?", (hex_id,))[0][0]


def test_rows_are_matched_through_d1s_id_map_not_the_planners_numbering(tmp_path, monkeypatch, capsys):
    # D1 held a row above the legacy ids when the SQL was applied, so the new documents got
    # ids after it; the operator then removed that stray row. Verify must still find them.
    ws, _, db, _, fake = _restore(tmp_path, monkeypatch, capsys, d1_before=(
        "\nINSERT INTO trading_trades (id, user_id, symbol, side, qty, created_at) VALUES (300, 'x', 'X', 'buy', 1, 'now');"))
    try:
        assert sorted(_map_id(db, h) for h in NEW_DOCS) == [301, 302, 303]
        db.conn.execute("DELETE FROM trading_trades WHERE id = 300")
        assert verify(ws, "--d1") == 0
        d1 = result(capsys)["d1"]
        assert (d1["equal"], d1["missing"], d1["extra"], d1["different"]) == (6, 0, 0, 0)
    finally:
        fake.stop()


def test_a_row_overwritten_by_another_document_is_caught(restored, capsys):
    ws, _, db, _ = restored
    bob, carol = _map_id(db, NEW_DOCS[1]), _map_id(db, NEW_DOCS[2])
    cols = "user_id, symbol, side, qty, price, note, created_at, closed, meta"
    db.conn.execute(f"UPDATE trading_trades SET ({cols}) = (SELECT {cols} FROM trading_trades WHERE id = {carol}) WHERE id = {bob}")
    assert verify(ws, "--d1") == 4
    d1 = result(capsys)["d1"]
    assert d1["different"] == 1 and d1["equal"] == 5
    assert any(NEW_DOCS[1] in line for line in d1["examples"])


def test_two_documents_mapped_to_one_row_are_caught(restored, capsys):
    ws, _, db, _ = restored
    carol = _map_id(db, NEW_DOCS[2])
    db.conn.execute(f"UPDATE {MAP} SET id = {carol} WHERE mongo_id = '{NEW_DOCS[1]}'")
    assert verify(ws, "--d1") == 4
    d1 = result(capsys)["d1"]
    assert d1["different"] >= 1 and d1["extra"] == 1  # bob's own row is now claimed by no document
    assert any("share" in line for line in d1["examples"])


def test_a_legacy_document_mapped_away_from_its_legacy_id_is_caught(restored, capsys):
    ws, _, db, _ = restored
    db.conn.execute(f"UPDATE {MAP} SET id = 999 WHERE id = 101")
    db.conn.execute("UPDATE trading_trades SET id = 999 WHERE id = 101")
    assert verify(ws, "--d1") == 4
    assert result(capsys)["d1"]["different"] == 1


def test_d1_without_the_id_map_says_so(restored, capsys):
    ws, _, db, _ = restored
    db.conn.execute(f"DROP TABLE {MAP}")
    assert verify(ws, "--d1") == 4
    out = capsys.readouterr()
    d1 = json.loads(out.out)["d1"]
    assert d1["missing"] == 3 and d1["equal"] == 3  # legacy rows still match by their legacy id
    assert MAP in out.err


def test_skip_bad_lines_says_how_many_lines_were_skipped(restored, capsys):
    """--skip-bad-lines promised to count the damaged lines; verify skipped them without a word."""
    ws, _, _, _ = restored
    with open(Path(ws.export_dir) / "kv_sessions.json", "a", encoding="utf-8") as handle:
        handle.write('{"_id": "cut short\n')
    assert verify(ws, "--module", "sessions") == 1  # stops at the damaged line by default
    capsys.readouterr()
    assert verify(ws, "--module", "sessions", "--skip-bad-lines") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["ok"] is True
    assert "1 damaged line(s)" in captured.err and "kv_sessions.json:" in captured.err
