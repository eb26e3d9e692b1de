"""The D1 REST sink against a local D1 API (sqlite3 behind the documented endpoints)."""
from __future__ import annotations

import pytest

from cutover.core.checkpoint import Checkpoint
from cutover.core.http import HttpClient
from cutover.d1.api import D1Api, D1ApiError, apply_statements, group_batches
from tests.support import cf_d1
from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare

DB = "0f0e0d0c-0000-4000-8000-00000000abcd"


@pytest.fixture
def d1():
    fake = FakeCloudflare()
    store = cf_d1.install(fake)
    with fake:
        db = store.create(DB, "trading", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);")
        client = HttpClient(fake.api_base, headers={"Authorization": f"Bearer {TOKEN}"}, sleep=lambda s: None)
        yield D1Api(client, ACCOUNT_ID, DB), store, db, fake


def test_group_batches_keeps_units_whole_and_limits():
    statements = ["x" * 10] * 10
    units = [(0, 1), (1, 3), (4, 1), (5, 1), (6, 4)]
    assert group_batches(statements, units, max_statements=4) == [(0, 4), (4, 2), (6, 4)]
    assert group_batches(statements, units, max_bytes=25) == [(0, 1), (1, 3), (4, 2), (6, 4)]
    assert group_batches(statements, units, start=5, max_statements=4) == [(5, 1), (6, 4)]
    # a unit bigger than the limits still goes, alone
    assert group_batches(statements, [(0, 10)], max_statements=2) == [(0, 10)]


def test_info_and_query(d1):
    api, store, db, fake = d1
    info = api.info()
    assert info["uuid"] == DB and info["name"] == "trading" and info["num_tables"] == 1
    results = api.query_batch(["INSERT INTO t VALUES (1, 'a;b')", "SELECT v FROM t"])
    assert results[1]["results"] == [{"v": "a;b"}] and results[0]["meta"]["changes"] == 1


def test_sql_errors_carry_d1s_message_and_roll_back_the_batch(d1):
    api, store, db, fake = d1
    with pytest.raises(D1ApiError, match="no such table: nope"):
        api.query_batch(["INSERT INTO t VALUES (1, 'kept?')", "INSERT INTO nope VALUES (1)"])
    assert db.rows("SELECT count(*) FROM t") == [(0,)]
    with pytest.raises(D1ApiError, match="SQLITE_AUTH"):
        api.query_batch(["BEGIN TRANSACTION"])


def test_unknown_database_is_an_error(d1):
    api, store, db, fake = d1
    other = D1Api(api.client, ACCOUNT_ID, "no-such-db")
    with pytest.raises(D1ApiError, match="could not be found"):
        other.info()


def test_apply_statements_checkpoints_each_batch_and_resumes(d1, tmp_path):
    api, store, db, fake = d1
    statements = [f"INSERT INTO t VALUES ({i}, 'v{i}') ON CONFLICT(id) DO UPDATE SET v = excluded.v" for i in range(10)]
    units = [(i, 1) for i in range(10)]
    checkpoint = Checkpoint(str(tmp_path / "cp.json"), {"job": 1})
    store.fail_at_query = 2
    with pytest.raises(D1ApiError, match="injected"):
        apply_statements(api, statements, units, checkpoint, max_statements=3)
    assert checkpoint.state["done"] == 6
    resumed = Checkpoint(str(tmp_path / "cp.json"), {"job": 1})
    assert resumed.load()
    result = apply_statements(api, statements, units, resumed, max_statements=3)
    assert result.resumed_from == 6 and result.statements == 4
    assert db.rows("SELECT count(*) FROM t") == [(10,)]
    assert [len(q) for q in db.queries] == [3, 3, 3, 1]


def test_retries_transient_failures(d1):
    from tests.support.httpserver import Fault

    api, store, db, fake = d1
    fake.inject(Fault("status", path="/query$", status=503, count=2, headers={"Retry-After": "0"}))
    api.query_batch(["INSERT INTO t VALUES (5, 'x')"])
    assert db.rows("SELECT v FROM t WHERE id = 5") == [("x",)]
    assert api.client.stats.retries == 2
