"""backfill-kv reading through the native driver gives the same result as from the mongoexport file."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cutover import cli
from cutover.mongo import ejson
from tests.mongo.native.conftest import PASSWORD, uri_for
from tests.support.kvdata import write_config, write_export
from tests.support.mongo_server import MongoTestServer, ScramUser
from tests.support.pymongo_compat import to_pymongo


@pytest.fixture
def kv_setup(tmp_path: Path, certs: dict, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", "test-token-not-used")
    monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", "http://127.0.0.1:9/client/v4")  # nothing may be sent
    write_export(tmp_path / "dump", 300, int(time.time() * 1000))
    lines = (tmp_path / "dump" / "kv_sessions.json").read_text(encoding="utf-8").splitlines()
    docs = [to_pymongo(ejson.loads_document(line)) for line in lines]
    exported = write_config(tmp_path / "export.json", tmp_path / "dump")
    config = json.loads(exported.read_text())
    config["mongo"]["source"] = "mongodb://"  # bare: the URI comes from MONGODB_URI
    native = tmp_path / "native.json"
    native.write_text(json.dumps(config))
    with MongoTestServer(users=[ScramUser.create("reader", PASSWORD)], data={"bot": {"kv_sessions": docs}}, tls=certs["good"]) as server:
        monkeypatch.setenv("MONGODB_URI", uri_for(server, certs["good"][0]))
        yield exported, native, server


def _summary(path: Path) -> dict:
    summary = json.loads(path.read_text())
    summary.pop("elapsed_s", None)
    summary.get("this_run", {}).pop("elapsed_s", None)
    for module in summary["modules"].values():
        module.pop("elapsed_s", None)
    return summary


def test_kv_dry_run_same_through_native_and_export(kv_setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exported, native, server = kv_setup
    assert cli.main(["backfill-kv", "--config", str(exported), "--dry-run", "--json", "a.json"]) == 0
    out_export = capsys.readouterr().out
    assert cli.main(["backfill-kv", "--config", str(native), "--dry-run", "--json", "b.json"]) == 0
    out_native = capsys.readouterr().out
    assert _summary(tmp_path / "a.json") == _summary(tmp_path / "b.json")
    assert _summary(tmp_path / "a.json")["modules"]["sessions"]["documents"] == 300
    assert server.commands("find")  # it really read through the driver
    assert out_export.splitlines()[1:] == out_native.splitlines()[1:]


def test_kv_emit_same_through_native_and_export(kv_setup, tmp_path: Path) -> None:
    exported, native, _server = kv_setup
    started = time.time()
    assert cli.main(["backfill-kv", "--config", str(exported), "--emit", "a-{module}.json", "-q"]) == 0
    assert cli.main(["backfill-kv", "--config", str(native), "--emit", "b-{module}.json", "-q"]) == 0
    apart = time.time() - started  # measured: TLS, SCRAM and a loaded machine make it seconds, not a fixed bound

    def records(name: str) -> dict:
        rows = json.loads((tmp_path / name).read_text())
        return {r["key"]: r for r in rows}

    a, b = records("a-sessions.json"), records("b-sessions.json")
    assert a.keys() == b.keys() and len(a) > 200
    for k in a:
        ttl_a, ttl_b = a[k].pop("expiration_ttl", None), b[k].pop("expiration_ttl", None)
        assert a[k] == b[k]
        # TTLs count from the moment each run computed them: equal within the runs' time apart
        # (plus a second for rounding each up to whole seconds)
        assert (ttl_a is None) == (ttl_b is None) and (ttl_a is None or abs(ttl_a - ttl_b) <= apart + 1)


def test_a_document_the_cursor_lost_fails_the_run_loudly_and_a_rerun_emits_it(
        kv_setup, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exported, native, server = kv_setup
    server.faults.lose_ids = [server.data["bot"]["kv_sessions"][120]["_id"]]  # find leaves it out; aggregate counts it
    args = ["backfill-kv", "--config", str(native), "--emit", "b-{module}.json", "-q"]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "aggregate counts 300 documents in the range read, find returned 299: 1 were lost" in err, err
    assert "read from a mongoexport" in err and err.strip().endswith("run the same command again"), err
    server.faults.lose_ids = []
    assert cli.main(args) == 0, capsys.readouterr().err
    assert cli.main(["backfill-kv", "--config", str(exported), "--emit", "a-{module}.json", "-q"]) == 0
    keys = [{r["key"] for r in json.loads((tmp_path / f"{n}-sessions.json").read_text())} for n in "ab"]
    assert keys[0] == keys[1] and len(keys[1]) > 200


SCHEMA = """CREATE TABLE trading_trades (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL,
  symbol TEXT,
  qty REAL,
  price TEXT,
  created_at INTEGER
);
"""


def _trades(n: int) -> list:
    from bson.datetime_ms import DatetimeMS
    from bson.decimal128 import Decimal128
    from bson.int64 import Int64
    from bson.objectid import ObjectId

    docs = []
    for i in range(n):
        doc = {
            "_id": ObjectId(bytes.fromhex(f"{0x65000000 + (i * 7919) % n:08x}") + i.to_bytes(8, "big")),
            "userId": Int64(5_000_000_000 + i % 17),
            "symbol": ["BTC", "ETH", "TON"][i % 3],
            "qty": i / 4,
            "price": Decimal128(f"{i}.25"),
            "createdAt": DatetimeMS(1_700_000_000_000 + i * 60_000),
        }
        if i % 3:
            doc["legacy_id"] = 1000 + i  # the rest get new ids in ObjectId-time order
        docs.append(doc)
    return docs


def test_d1_sql_same_through_native_and_export(tmp_path: Path, certs: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from bson import json_util

    monkeypatch.chdir(tmp_path)
    docs = _trades(250)
    (tmp_path / "dump").mkdir()
    (tmp_path / "dump" / "trading_trades.json").write_text(
        "".join(json_util.dumps(d, json_options=json_util.CANONICAL_JSON_OPTIONS) + "\n" for d in docs)
    )
    (tmp_path / "schema.sql").write_text(SCHEMA)
    base = {"mongo": {"database": "bot"}, "d1": {"database": "trading", "table": "trading_trades",
                                                  "collection": "trading_trades", "schema": "schema.sql"}}
    for name, source in (("export", f"export:{tmp_path / 'dump'}"), ("native", "mongodb://")):
        config = json.loads(json.dumps(base))
        config["mongo"]["source"] = source
        (tmp_path / f"{name}.json").write_text(json.dumps(config))
    assert cli.main(["backfill-d1", "--config", "export.json", "--output", "a.sql", "-q", "--json", "a.json"]) == 0
    with MongoTestServer(users=[ScramUser.create("reader", PASSWORD)], data={"bot": {"trading_trades": docs}}, tls=certs["good"]) as server:
        monkeypatch.setenv("MONGODB_URI", uri_for(server, certs["good"][0]))
        assert cli.main(["backfill-d1", "--config", "native.json", "--output", "b.sql", "-q", "--json", "b.json"]) == 0
        assert server.commands("find")
    sql_a, sql_b = (tmp_path / "a.sql").read_text(), (tmp_path / "b.sql").read_text()
    assert "INSERT" in sql_a.upper() and sql_a.count("\n") > 5
    assert sql_a == sql_b


def test_wrong_password_through_the_cli_is_one_line_exit_1(kv_setup, monkeypatch: pytest.MonkeyPatch, certs: dict,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    _exported, native, server = kv_setup
    monkeypatch.setenv("MONGODB_URI", uri_for(server, certs["good"][0], password="N0t-the-Passw0rd"))
    assert cli.main(["backfill-kv", "--config", str(native), "--dry-run"]) == 1
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "authentication failed for user 'reader'" in lines[0], captured.err
    assert "N0t-the-Passw0rd" not in captured.err + captured.out
