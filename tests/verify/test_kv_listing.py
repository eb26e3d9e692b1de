"""Every KV lister is paged to the end: the REST API by its cursor, `wrangler kv key list
--local` (1,000 keys at most, no cursor) completed from wrangler's local state."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from cutover import cli
from cutover.core.http import HttpClient
from cutover.verify.kv_targets import RestKV
from tests.support import cf_kv
from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare
from tests.support.kvdata import NAMESPACE, write_config, write_export
from tests.support.tools import run_wrangler, wrangler_bin, wrangler_env


def test_rest_listing_follows_the_cursor_past_1000_keys():
    fake = FakeCloudflare()
    kv = cf_kv.install(fake)
    space = kv.create_namespace(NAMESPACE)
    for i in range(2345):
        space[f"k{i:05d}"] = cf_kv.Entry(f"v{i}".encode(), None)
    with fake:
        client = HttpClient(fake.api_base, headers={"Authorization": f"Bearer {TOKEN}"})
        state = RestKV(client, ACCOUNT_ID).read(NAMESPACE)
    assert len(state) == 2345 and state["k02344"].value == "v2344"
    assert sum(1 for r in fake.log if r.path.endswith("/keys")) == 3


def test_verify_local_reads_more_than_1000_keys_written_by_real_wrangler(tmp_path: Path, monkeypatch, capsys):
    wrangler = wrangler_bin()
    expected = write_export(tmp_path / "dump", 1100, int(time.time() * 1000), with_invalid=False, short_lived=False)
    config = write_config(tmp_path / "rollback.json", tmp_path / "dump")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["backfill-kv", "--config", str(config), "--emit", "kv.json", "-q"]) == 0
    pairs = json.loads((tmp_path / "kv.json").read_text())
    pairs.append({"key": "zzz:not-in-mongo", "value": "stray"})  # sorts after the first 1,000
    (tmp_path / "kv.json").write_text(json.dumps(pairs))
    home, state = tmp_path / "wrangler-home", "wrangler-state"
    put = run_wrangler(["kv", "bulk", "put", "kv.json", "--namespace-id", NAMESPACE, "--local", "--persist-to", state],
                       cwd=tmp_path, home=home, timeout=300)
    assert put.returncode == 0, put.stderr
    for name, value in wrangler_env(home, {"WRANGLER_LOG": "log"}).items():
        if os.environ.get(name) != value:
            monkeypatch.setenv(name, value)
    capsys.readouterr()
    code = cli.main(["verify", "--config", str(config), "--local", "--wrangler", wrangler, "--wrangler-dir", str(tmp_path),
                     "--persist-to", state, "--json", "-", "-q"])
    module = json.loads(capsys.readouterr().out)["modules"]["sessions"]
    assert (module["equal"], module["missing"], module["extra"], module["different"]) == (len(expected), 0, 1, 0)
    assert any("zzz:not-in-mongo" in line for line in module["examples"])
    assert code == 4


def test_a_full_local_page_without_local_state_is_one_clear_line(tmp_path: Path):
    from cutover.errors import CutoverError
    from cutover.verify.kv_targets import local_state_keys

    with pytest.raises(CutoverError, match="--persist-to DIR") as info:
        local_state_keys(str(tmp_path / "nowhere"), NAMESPACE)
    assert "\n" not in str(info.value)
