"""backfill-d1 --mode api stopped half-way, the export replaced by a newer one, then --resume:
nothing is skipped, duplicated or moved, and the operator is told what changed and what to do.
Real parts: the D1 REST fake on sqlite3, the export files, verify through the same API."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from cutover import cli
from tests.support import cf_d1

DDL = "CREATE TABLE trading_trades (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, note TEXT);"
UUID = "5d0b7e4c-1111-4222-8333-944455556666"
ARGV = ["backfill-d1", "--config", "rollback.json", "--mode", "api", "--max-statement-bytes", "4000", "-q"]
CHECKPOINT = "backfill-d1.sql.checkpoint.json"
LEGACY = 60
NEW = [0x1000 + k for k in range(8)]  # ObjectIds of documents without a legacy id


def _doc(oid: int, legacy: int | None, note: str) -> Dict[str, object]:
    doc: Dict[str, object] = {"_id": {"$oid": f"{oid:024x}"}}
    if legacy is not None:
        doc["legacy_id"] = legacy
    doc.update({"userId": f"u{oid}", "note": note})
    return doc


def first_export() -> List[Dict[str, object]]:
    # ~3 kB notes: one row per statement, so the run takes several requests
    return [_doc(i, i, f"v1-{i}-" + "n" * 3000) for i in range(1, LEGACY + 1)] + [_doc(o, None, f"v1-new-{o}") for o in NEW]


def newer_export() -> List[Dict[str, object]]:
    """Documents removed (a legacy one, a new one), one changed, one added whose _id sorts before
    every other new document (it must not take their ids), and the file order reversed."""
    docs = [d for d in first_export() if d.get("legacy_id") != 5 and d["_id"] != {"$oid": f"{NEW[3]:024x}"}]
    for d in docs:
        if d.get("legacy_id") == 10:
            d["note"] = "v2 changed"
    docs.append(_doc(0x0FFF, None, "v2-added"))
    return list(reversed(docs))


def write_export(path: Path, docs: List[Dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))


@pytest.fixture()
def d1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Tuple[cf_d1.D1Store, cf_d1.FakeD1Database]]:
    lines = [json.dumps(d) for d in first_export()]
    with cf_d1.serving_export(tmp_path, monkeypatch, DDL, UUID, lines) as (_fake, store, db):
        monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)
        yield store, db


def _stopped_half_way(store: cf_d1.D1Store, db: cf_d1.FakeD1Database, capsys: pytest.CaptureFixture[str]) -> None:
    store.fail_at_query = 1  # the first request (the id map and the first rows) lands, the second fails
    assert cli.main(ARGV) == 1
    assert "run the same command with --resume" in capsys.readouterr().err
    assert json.loads(Path(CHECKPOINT).read_text())["state"]["done"] > 0
    assert 0 < db.rows("SELECT count(*) FROM trading_trades")[0][0] < LEGACY + len(NEW)


def _map(db: cf_d1.FakeD1Database) -> Dict[str, int]:
    return {key: id_ for key, id_ in db.rows("SELECT mongo_id, id FROM cutover_id_map")}


def test_resume_after_the_export_was_replaced_is_refused_at_once_and_says_what_changed(
        d1: Tuple[cf_d1.D1Store, cf_d1.FakeD1Database], capsys: pytest.CaptureFixture[str]) -> None:
    store, db = d1
    _stopped_half_way(store, db, capsys)
    sql_then = Path("backfill-d1.sql").read_bytes()
    queries_then = len(db.queries)
    write_export(Path("trading_trades.json"), newer_export())

    assert cli.main([*ARGV, "--resume"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    line = err[0]
    assert "trading_trades.json" in line and "bytes then" in line, line  # what changed, in words
    assert "without --resume" in line and "original export" in line, line  # what to do
    assert "{" not in line, line
    assert len(db.queries) == queries_then  # nothing sent
    assert Path("backfill-d1.sql").read_bytes() == sql_then  # the SQL of the stopped run is kept as it was
    assert Path(CHECKPOINT).exists()  # still there: with the original export the run can go on


def test_starting_over_on_the_newer_export_keeps_every_id_and_verify_names_the_left_over_row(
        d1: Tuple[cf_d1.D1Store, cf_d1.FakeD1Database], capsys: pytest.CaptureFixture[str]) -> None:
    store, db = d1
    _stopped_half_way(store, db, capsys)
    ids_then = _map(db)
    assert len(ids_then) == LEGACY + len(NEW)  # every document got its id in the first request
    write_export(Path("trading_trades.json"), newer_export())
    assert cli.main([*ARGV, "--resume"]) == 1
    capsys.readouterr()
    os.unlink(CHECKPOINT)  # what the refusal says to do
    assert cli.main(ARGV) == 0, capsys.readouterr().err

    ids_now = _map(db)
    assert {k: ids_now[k] for k in ids_then} == ids_then  # no id moved, the removed documents' included
    rows = {id_: (user, note) for id_, user, note in db.rows("SELECT id, user_id, note FROM trading_trades")}
    for doc in newer_export():
        key = doc["_id"]["$oid"]  # type: ignore[index]
        id_ = ids_now[key]
        if doc.get("legacy_id") is not None:
            assert id_ == doc["legacy_id"]
        assert rows[id_] == (doc["userId"], doc["note"]), key  # written, with the newer content
    added = ids_now[f"{0x0FFF:024x}"]
    assert added > max(ids_then.values())  # never an id D1 already gave
    assert len(set(ids_now.values())) == len(ids_now)
    # the row of the document removed between the exports was written by the first run: verify names it
    capsys.readouterr()
    assert cli.main(["verify", "--config", "rollback.json", "--d1", "--json", "-", "-q"]) == 4
    report = json.loads(capsys.readouterr().out)["d1"]
    assert (report["extra"], report["missing"], report["different"]) == (1, 0, 0), report


def test_resume_with_the_original_export_goes_on(
        d1: Tuple[cf_d1.D1Store, cf_d1.FakeD1Database], capsys: pytest.CaptureFixture[str]) -> None:
    store, db = d1
    _stopped_half_way(store, db, capsys)
    assert cli.main([*ARGV, "--resume"]) == 0, capsys.readouterr().err
    assert db.rows("SELECT count(*), min(id), max(id) FROM trading_trades")[0] == (LEGACY + len(NEW), 1, LEGACY + len(NEW))
    assert not Path(CHECKPOINT).exists()
