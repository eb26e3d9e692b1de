"""backfill-kv and verify through a `dataapi:` gateway that misbehaves (pages capped short, a
page lost): nothing is silently dropped, and verify does not share the scan's blind spot."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator, Tuple

import pytest
from bson.int64 import Int64

from cutover import cli
from tests.support import cf_kv
from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare
from tests.support.dataapi_server import FakeDataApi

KEY = "gateway-test-data-api-key"
NAMESPACE = "ab0123456789abcdef0123456789abcd"
N = 1000


def _doc(i: int) -> dict:
    return {"_id": f"chat:{i:05d}", "value": {"n": Int64(i), "admin": i % 3 == 0}}


@pytest.fixture()
def peers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tuple[FakeDataApi, cf_kv.KVState, Path]]:
    cf = FakeCloudflare()
    kv = cf_kv.install(cf)
    kv.create_namespace(NAMESPACE)
    with cf, FakeDataApi(api_keys=(KEY,)) as gateway:
        gateway.insert("Cluster0", "bot", "kv_sessions", [_doc(i) for i in range(N)])
        config = tmp_path / "rollback.json"
        config.write_text(json.dumps({
            "mongo": {"source": f"dataapi:{gateway.endpoint}", "database": "bot", "data_source": "Cluster0"},
            "cloudflare": {"account_id": ACCOUNT_ID},
            "kv_modules": {"sessions": {"collection": "kv_sessions", "namespace_id": NAMESPACE, "expires_field": None}},
        }))
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("MONGODB_DATA_API_KEY", KEY)
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", cf.api_base)
        monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)
        yield gateway, kv, config
    os.environ.pop("MONGODB_DATA_API_KEY", None)


def test_pages_capped_at_100_still_restore_every_key(peers, capsys) -> None:
    gateway, kv, config = peers
    gateway.page_cap = 100  # the gateway serves 100 whatever `limit` (1,000) asks
    assert cli.main(["backfill-kv", "--config", str(config), "-q"]) == 0
    assert len(kv.live(NAMESPACE)) == N
    assert json.loads(kv.live(NAMESPACE)["chat:00003"].value) == {"n": 3, "admin": True}
    capsys.readouterr()
    assert cli.main(["verify", "--config", str(config), "--json", "-", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["modules"]["sessions"]["equal"] == N


def test_a_lost_page_fails_the_backfill_and_verify_through_the_same_gateway(peers, capsys) -> None:
    gateway, kv, config = peers
    gateway.lost_ids = [f"chat:{i:05d}" for i in range(300, 400)]  # find leaves them out, aggregate counts them
    assert cli.main(["backfill-kv", "--config", str(config), "-q"]) == 1
    err = capsys.readouterr().err
    assert "aggregate counts 1000" in err and "returned 900" in err
    assert len(kv.live(NAMESPACE)) == 900  # what was read was written
    # KV equals what the lossy gateway shows; verify must still see the gap
    assert cli.main(["verify", "--config", str(config), "--json", "-", "-q"]) == 4
    module = json.loads(capsys.readouterr().out)["modules"]["sessions"]
    assert module["unread_in_mongo"] == 100 and module["equal"] == 900


# -- the collection changing under a scan, and between a stopped run and its --resume ------

LATE = {"_id": "chat:00000-late", "value": {"n": Int64(-1), "admin": False}}  # sorts before every other _id


def _checkpoint() -> dict:
    return json.loads(Path("backfill-kv.checkpoint.json").read_text())["state"]["modules"]


def test_a_document_added_behind_the_scan_leaves_no_position_a_resume_would_trust(peers, capsys) -> None:
    gateway, kv, config = peers
    gateway.page_cap = 100  # short pages: the scan must not take one for the end
    gateway.after_find[3] = lambda: gateway.insert("Cluster0", "bot", "kv_sessions", [LATE])
    assert cli.main(["backfill-kv", "--config", str(config), "--batch-size", "100", "-q"]) == 1
    err = capsys.readouterr().err
    assert "aggregate counts 1001" in err and "returned 1000" in err, err
    assert "--resume reads module sessions again from the start" in err, err
    assert "sessions" not in _checkpoint()  # no position after the gap is kept
    assert len(kv.live(NAMESPACE)) == N and LATE["_id"] not in kv.live(NAMESPACE)
    assert cli.main(["backfill-kv", "--config", str(config), "--resume", "-q"]) == 0, capsys.readouterr().err
    assert len(kv.live(NAMESPACE)) == N + 1  # the late document too
    capsys.readouterr()
    assert cli.main(["verify", "--config", str(config), "--json", "-", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["modules"]["sessions"]["equal"] == N + 1


def _stopped_at_900(kv: cf_kv.KVState, config: Path, capsys) -> None:
    """A run with a failed key: the checkpoint holds a position past chat:00008, before the end."""
    kv.unsuccessful_always.add("chat:00950")
    assert cli.main(["backfill-kv", "--config", str(config), "--batch-size", "100", "-q"]) == 1
    kv.unsuccessful_always.clear()
    assert "chat:00008" < json.loads(_checkpoint()["sessions"]["after_id"]) < "chat:00950"
    capsys.readouterr()


def test_a_document_added_behind_the_position_between_runs_is_caught_by_the_resume(peers, capsys) -> None:
    gateway, kv, config = peers
    _stopped_at_900(kv, config, capsys)
    gateway.insert("Cluster0", "bot", "kv_sessions", [LATE])
    assert cli.main(["backfill-kv", "--config", str(config), "--resume", "-q"]) == 1
    err = capsys.readouterr().err
    assert "cannot be fingerprinted" in err and "one added there is not read" in err, err  # the risk, named
    assert "aggregate counts 1001" in err and "returned 1000" in err, err  # this run's + the earlier runs'
    assert "sessions" not in _checkpoint()
    assert cli.main(["backfill-kv", "--config", str(config), "--resume", "-q"]) == 0, capsys.readouterr().err
    assert len(kv.live(NAMESPACE)) == N + 1


def test_a_document_changed_behind_the_position_between_runs_is_named_and_verify_catches_it(peers, capsys) -> None:
    gateway, kv, config = peers
    _stopped_at_900(kv, config, capsys)
    stored = gateway.collections[("Cluster0", "bot", "kv_sessions")]
    stored[7] = {"_id": "chat:00007", "value": {"n": Int64(7), "admin": False, "changed": True}}
    del stored[8]  # deleted in Mongo since: its key stays in KV
    assert cli.main(["backfill-kv", "--config", str(config), "--resume", "-q"]) == 0
    err = capsys.readouterr().err
    assert "keeps the value read then" in err and "one deleted stays in KV" in err and "verify" in err, err
    # a count cannot see a change or a deletion; verify compares every value and both key sets
    assert cli.main(["verify", "--config", str(config), "--json", "-", "-q"]) == 4
    module = json.loads(capsys.readouterr().out)["modules"]["sessions"]
    assert (module["different"], module["extra"], module["missing"]) == (1, 1, 0), module
