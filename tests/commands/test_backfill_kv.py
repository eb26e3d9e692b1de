"""backfill-kv end to end: mongoexport files -> the local Cloudflare KV fake (or a wrangler file),
checked key by key; kill -9 of a real process at random points, then --resume."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from cutover import cli
from tests.support import cf_kv
from tests.support.cfapi import TOKEN, FakeCloudflare, point_cutover_at
from tests.support.kvdata import NAMESPACE, assert_kv_matches, write_config, write_export
from tests.support.tools import REPO, run_wrangler, wrangler_bin, wrangler_env


@pytest.fixture()
def cf() -> Iterator[FakeCloudflare]:
    with cf_kv.serving_namespace(NAMESPACE) as fake:
        yield fake


@pytest.fixture()
def env(cf: FakeCloudflare, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Dict[str, str]:
    monkeypatch.chdir(tmp_path)
    point_cutover_at(cf, monkeypatch, account=False)
    return dict(os.environ)


def setup_data(tmp_path: Path, n: int, **kw: object) -> tuple:
    # "now" per test: some keys expire within the minute, so an import-time clock would go stale
    expected = write_export(tmp_path / "dump", n, int(time.time() * 1000), **kw)  # type: ignore[arg-type]
    return expected, write_config(tmp_path / "rollback.json", tmp_path / "dump")


def run(*argv: str) -> int:
    return cli.main(["backfill-kv", *argv])


def test_bulk_run_restores_exact_state(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected, cfg = setup_data(tmp_path, 500)
    assert run("--config", str(cfg), "--json", "summary.json", "--batch-size", "100") == 0
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]
    summary = json.loads((tmp_path / "summary.json").read_text())
    mod = summary["modules"]["sessions"]
    dead = sum(1 for i in range(500) if i % 6 == 2 and i % 97 != 50)
    assert mod["documents"] == 500
    assert mod["written"] == len(expected)
    assert mod["expired"] == dead
    assert mod["invalid_by_reason"] == {"key_too_long": 5}
    assert (mod["failed"], summary["ok"], summary["throttled"]) == (0, True, 0)
    assert mod["requests"] == cf.kv.bulk_requests == 5  # type: ignore[attr-defined]
    assert not (tmp_path / "backfill-kv.checkpoint.json").exists()  # finished: nothing to resume
    invalid = [json.loads(x) for x in (tmp_path / "backfill-kv.failed.ndjson").read_text().splitlines()]
    assert [x["reason"].split(":")[0] for x in invalid] == ["key_too_long"] * 5
    out = capsys.readouterr()
    assert out.out.startswith(f"backfill-kv OK: {len(expected)} keys written")
    assert TOKEN not in out.out + out.err


def test_quiet_drops_per_document_warnings_but_keeps_the_counts(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """issue 19 item 9: -q printed a warning line for every invalid key."""
    _, cfg = setup_data(tmp_path, 500)
    assert run("--config", str(cfg), "-q") == 0
    out = capsys.readouterr()
    assert "not written" not in out.err
    assert "invalid 5 (key_too_long 5)" in out.out  # the summary still counts them
    assert "5 invalid document(s) listed in backfill-kv.failed.ndjson" in out.err
    assert run("--config", str(cfg)) == 0  # without -q they are named (up to ten)
    assert capsys.readouterr().err.count("not written") == 5


def test_put_mode_paced_by_the_budget_never_hits_the_limit(env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeCloudflare(window_limit=30, window_seconds=2.0, block_seconds=60.0)
    cf_kv.install(fake).create_namespace(NAMESPACE)
    with fake:
        os.environ["CLOUDFLARE_API_BASE_URL"] = fake.api_base
        expected, cfg = setup_data(tmp_path, 90, with_invalid=False)
        assert run("--config", str(cfg), "--mode", "put", "--rate", "500", "--api-limit", "30/2", "--json", "-") == 0
        assert fake.rate_limited == 0
        assert fake.kv.put_requests == len(expected)  # type: ignore[attr-defined]
        assert_kv_matches(fake.kv, expected, time.time())  # type: ignore[attr-defined]
    err = capsys.readouterr().err
    assert "the API budget (27 requests per 2s), not --rate, is what limits" in err


def test_dry_run_sends_and_writes_nothing(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected, cfg = setup_data(tmp_path, 300)
    before = sorted(os.listdir(tmp_path))
    assert run("--config", str(cfg), "--dry-run", "--mode", "put", "--api-limit", "100/300") == 0
    assert cf.log == []
    assert sorted(os.listdir(tmp_path)) == before
    out = capsys.readouterr().out
    assert f"would write {len(expected)}" in out
    assert "invalid 3 (key_too_long 3)" in out
    # 247 PUTs at 90 per 5 minutes: two full windows of waiting
    assert f"would send {len(expected):,} PUT(s), >= 10m00s" in out


def test_failed_keys_exit_1_then_resume_retries_them(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected, cfg = setup_data(tmp_path, 120, with_invalid=False)
    doomed = {k for i, k in enumerate(expected) if i % 10 == 3}
    cf.kv.unsuccessful_always.update(doomed)  # type: ignore[attr-defined]
    assert run("--config", str(cfg), "--batch-size", "120") == 1
    err = capsys.readouterr().err
    assert f"{len(doomed)} key(s) failed after retries" in err and "--resume" in err
    failed = [json.loads(x) for x in (tmp_path / "backfill-kv.failed.ndjson").read_text().splitlines()]
    assert {x["key"] for x in failed} == doomed
    assert (tmp_path / "backfill-kv.checkpoint.json").exists()
    # a plain rerun must not silently start over
    assert run("--config", str(cfg)) == 1
    assert "--resume" in capsys.readouterr().err
    cf.kv.unsuccessful_always.clear()  # type: ignore[attr-defined]
    assert run("--config", str(cfg), "--resume") == 0
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]


def test_since_only_recent_documents(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path) -> None:
    expected, cfg = setup_data(tmp_path, 200, with_invalid=False)
    since_ms = int(time.time() * 1000) - 10 * 3_600_000
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since_ms / 1000)) + f".{since_ms % 1000:03d}Z"
    assert run("--config", str(cfg), "--since", since) == 0
    docs = [json.loads(x) for x in (tmp_path / "dump" / "kv_sessions.json").read_text().splitlines()]
    keep = {d["key"] for d in docs if int(d["updatedAt"]["$date"]["$numberLong"]) >= since_ms}
    recent = {k: e for k, e in expected.items() if k in keep}
    assert 0 < len(recent) < len(expected)
    assert_kv_matches(cf.kv, recent, time.time())  # type: ignore[attr-defined]


@pytest.mark.parametrize("form", ["relative", "date", "epoch_ms", "offset"])
def test_since_takes_every_form_of_the_one_time_grammar(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, form: str) -> None:
    """issue 19 item 9: `--since 24h` and a bare date were refused here while analyze-soak took them."""
    expected, cfg = setup_data(tmp_path, 200, with_invalid=False)
    now = int(time.time() * 1000)
    if form == "relative":
        # half an hour off every document's age (whole hours): the run resolves "630m" (10.5 h) a moment
        # after `now`, and no document can lie within that moment (with "10h" the 10 h old ones did)
        since_ms, text = now - 630 * 60_000, "630m"
    elif form == "date":
        # documents are 0..47 h old; midnight of the day 20 h ago is 20..44 h back at any time of day
        since_ms = (now - 20 * 3_600_000) // 86_400_000 * 86_400_000
        text = time.strftime("%Y-%m-%d", time.gmtime(since_ms / 1000))
    elif form == "epoch_ms":
        since_ms = now - 5 * 3_600_000
        text = str(since_ms)
    else:
        since_ms = (now - 7 * 3_600_000) // 1000 * 1000
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since_ms / 1000 + 2 * 3600)) + "+0200"
    assert run("--config", str(cfg), "--since", text) == 0
    docs = [json.loads(x) for x in (tmp_path / "dump" / "kv_sessions.json").read_text().splitlines()]
    keep = {d["key"] for d in docs if int(d["updatedAt"]["$date"]["$numberLong"]) >= since_ms}
    recent = {k: e for k, e in expected.items() if k in keep}
    assert 0 < len(recent) < len(expected)
    assert_kv_matches(cf.kv, recent, time.time())  # type: ignore[attr-defined]


def test_resume_keeps_the_first_runs_since_instant(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path) -> None:
    """`--since 24h` resolved again on --resume would move the window and skip documents."""
    from cutover.core.checkpoint import Checkpoint
    from cutover.core.console import Console
    from cutover.kv.backfill import Backfill
    from cutover.kv.options import BackfillKVOptions, resolve

    _, cfg = setup_data(tmp_path, 60, with_invalid=False)
    job_path = tmp_path / "backfill-kv.checkpoint.json"
    first = int(time.time() * 1000) - 48 * 3_600_000
    # The checkpoint an interrupted `--since 48h` run left an hour ago, before any batch.

    settings = resolve(BackfillKVOptions(config=str(cfg), since="48h"))
    cp = Checkpoint(str(job_path), Backfill(settings, Console(True, False))._job())
    cp.state = {"modules": {}, "since_ms": first - 3_600_000}
    cp.save()
    settings = resolve(BackfillKVOptions(config=str(cfg), since="48h", resume=True))
    backfill = Backfill(settings, Console(True, False))
    backfill._open_checkpoint({})
    assert settings.since_ms == first - 3_600_000


def test_usage_and_target_errors(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, cfg = setup_data(tmp_path, 10)
    assert run("--config", str(cfg), "--module", "nope") == 2
    assert run("--config", str(cfg), "--emit", "x.json", "--mode", "put") == 2
    with pytest.raises(SystemExit) as usage:  # argparse's own exit 2 (the flag's type checks it now)
        run("--config", str(cfg), "--budget-headroom", "120%")
    assert usage.value.code == 2
    os.environ["CLOUDFLARE_API_TOKEN"] = "not-the-right-token-123"
    assert run("--config", str(cfg)) == 1
    err = capsys.readouterr().err
    assert "check CLOUDFLARE_API_TOKEN" in err
    assert "not-the-right-token-123" not in err
    # refused at its first request: nothing written, so no checkpoint to refuse the corrected rerun
    assert not (tmp_path / "backfill-kv.checkpoint.json").exists()
    del os.environ["CLOUDFLARE_API_TOKEN"]
    assert run("--config", str(cfg)) == 1
    assert "CLOUDFLARE_API_TOKEN is not set" in capsys.readouterr().err
    assert not (tmp_path / "backfill-kv.checkpoint.json").exists()  # could not start: nothing to resume


@pytest.mark.parametrize("mode", ["bulk", "put"])
def test_kill_9_at_random_points_then_resume_is_exact(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, mode: str) -> None:
    expected, cfg = setup_data(tmp_path, 400)
    rng = random.Random(f"kill-{mode}")
    cmd = [sys.executable, "-m", "cutover", "backfill-kv", "--config", str(cfg), "--mode", mode, "--rate", "150",
           "--batch-size", "15", "-q", "--json", "summary.json"]
    env = {**env, "PYTHONPATH": str(REPO)}
    kills = 0
    for attempt in range(12):
        proc = subprocess.Popen(cmd + (["--resume"] if attempt else []), cwd=str(tmp_path), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        target = len(cf.log) + rng.randrange(1, 25 if mode == "put" else 5)
        deadline = time.monotonic() + 60
        while proc.poll() is None and len(cf.log) < target and time.monotonic() < deadline:
            time.sleep(0.002)
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
            break
        time.sleep(rng.random() * 0.02)  # somewhere inside the batch, or in the checkpoint write
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()
        kills += 1
    else:
        final = subprocess.run(cmd + ["--resume"], cwd=str(tmp_path), env=env, capture_output=True, timeout=120)
        assert final.returncode == 0, final.stderr.decode()
    assert kills >= 3
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]
    assert not (tmp_path / "backfill-kv.checkpoint.json").exists()
    # counters carried through the checkpoints: every document counted exactly once
    mod = json.loads((tmp_path / "summary.json").read_text())["modules"]["sessions"]
    assert mod["documents"] == 400
    assert mod["written"] + mod["expired"] + mod["invalid"] == 400
    assert mod["invalid"] == 4


def test_emit_file_loads_into_real_wrangler(env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected, cfg = setup_data(tmp_path, 60)
    emit_started = time.time()
    assert run("--config", str(cfg), "--emit", "kv-{module}.json") == 0
    out = capsys.readouterr().out
    assert "wrangler kv bulk put kv-sessions.json --namespace-id " + NAMESPACE in out
    emitted = json.loads((tmp_path / "kv-sessions.json").read_text())
    assert {p["key"] for p in emitted} == set(expected)
    home, state = tmp_path / "wrangler-home", tmp_path / "wrangler-state"
    local = ["--namespace-id", NAMESPACE, "--local", "--persist-to", str(state)]
    put = run_wrangler(["kv", "bulk", "put", "kv-sessions.json", *local], cwd=tmp_path, home=home)
    put_done = time.time()
    assert put.returncode == 0, put.stderr
    listed = wrangler_read(["kv", "key", "list", *local], tmp_path, home)
    assert listed.returncode == 0, listed.stderr
    keys = {k["name"]: k for k in json.loads(listed.stdout)}
    assert set(keys) == set(expected)
    for name, item in keys.items():
        want = expected[name]
        assert item.get("metadata") == want.metadata
        if want.expires_at_ms is None:
            assert "expiration" not in item
        else:
            # TTLs count from when the file was written (60 s at least), wrangler applied them
            # later: expiry moves by that delay, measured rather than assumed short (a slow wrangler
            # start), plus a second for each of the two roundings to whole seconds
            exp_s = want.expires_at_ms / 1000
            assert exp_s - 1 < item["expiration"] <= max(exp_s, emit_started + 60) + (put_done - emit_started) + 2
    samples: List[str] = [k for i, k in enumerate(sorted(expected)) if i % 20 == 0]
    for key in samples:
        got = wrangler_read(["kv", "key", "get", key, "--text", *local], tmp_path, home)
        assert got.returncode == 0, got.stderr
        assert got.stdout.rstrip("\n").encode("utf-8") == expected[key].value


def wrangler_read(args: List[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    # `kv key list/get` print through wrangler's logger, which WRANGLER_LOG=warn silences.
    return subprocess.run([wrangler_bin(), *args], cwd=str(cwd), env=wrangler_env(home, {"WRANGLER_LOG": "log"}),
                          capture_output=True, text=True, timeout=120)


def test_ctrl_c_exits_130_and_resume_finishes(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path) -> None:
    expected, cfg = setup_data(tmp_path, 300)
    cmd = [sys.executable, "-m", "cutover", "backfill-kv", "--config", str(cfg), "--mode", "put", "--rate", "100", "-q"]
    env = {**env, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(cf.log) < 30 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"interrupted" in err and b"Traceback" not in err
    assert (tmp_path / "backfill-kv.checkpoint.json").exists()
    done = subprocess.run(cmd + ["--resume"], cwd=str(tmp_path), env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]


def test_modules_selection_and_namespace_override(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = int(time.time() * 1000)
    sessions = write_export(tmp_path / "dump", 40, now, collection="kv_sessions", with_invalid=False)
    carts = write_export(tmp_path / "dump", 30, now, seed=2, collection="kv_carts", with_invalid=False)
    other_ns = "othernamespace000000000000000000"
    cf.kv.create_namespace(other_ns)  # type: ignore[attr-defined]
    module = {"key_field": "key", "value_field": "value", "expires_field": "expiresAt", "metadata_field": "meta"}
    cfg = tmp_path / "two.json"
    cfg.write_text(json.dumps({
        "mongo": {"source": f"export:{tmp_path / 'dump'}", "database": "bot"},
        "cloudflare": {"account_id": cf_kv.ACCOUNT_ID},
        "kv_modules": {"sessions": {"collection": "kv_sessions", "namespace_id": NAMESPACE, **module},
                       "carts": {"collection": "kv_carts", "namespace_id": NAMESPACE, **module}},
    }))
    assert run("--config", str(cfg), "--namespace-id", other_ns) == 2  # which module's namespace?
    assert run("--config", str(cfg), "--module", "carts", "--namespace-id", other_ns) == 0
    assert_kv_matches(cf.kv, carts, time.time(), namespace=other_ns)  # type: ignore[attr-defined]
    assert cf.kv.live(NAMESPACE) == {}  # type: ignore[attr-defined]
    assert run("--config", str(cfg), "--emit", "kv.json") == 0
    assert {p["key"] for p in json.loads((tmp_path / "kv.sessions.json").read_text())} == set(sessions)
    assert {p["key"] for p in json.loads((tmp_path / "kv.carts.json").read_text())} == set(carts)


def _id_config(tmp_path: Path, key_field: str) -> Path:
    cfg = tmp_path / "ids.json"
    cfg.write_text(json.dumps({
        "mongo": {"source": f"export:{tmp_path / 'dump'}", "database": "bot"},
        "cloudflare": {"account_id": cf_kv.ACCOUNT_ID},
        "kv_modules": {"sessions": {"collection": "kv_sessions", "namespace_id": NAMESPACE, "key_field": key_field,
                                    "value_field": "value", "expires_field": "expiresAt"}},
    }))
    return cfg


def _write_lines(path: Path, lines: List[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="ascii")


def test_lone_surrogate_id_as_key_is_reported_and_the_rest_written(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # \ud800 alone is valid JSON text but not Unicode: no UTF-8 file or KV key can hold it
    _write_lines(tmp_path / "dump" / "kv_sessions.json", [
        '{"_id": "a", "value": "1"}', '{"_id": "bad-\\ud800", "value": "2"}', '{"_id": "c", "value": "3"}'])
    cfg = _id_config(tmp_path, "_id")
    assert run("--config", str(cfg), "--batch-size", "1") == 0
    assert {k: e.value for k, e in cf.kv.live(NAMESPACE).items()} == {"a": b"1", "c": b"3"}  # type: ignore[attr-defined]
    reported = [json.loads(x) for x in (tmp_path / "backfill-kv.failed.ndjson").read_text(encoding="utf-8").splitlines()]
    assert [(r["kind"], r["_id"], r["reason"].split(":")[0]) for r in reported] == [("invalid", "bad-\ud800", "key_encoding")]
    assert "key_encoding 1" in capsys.readouterr().out


def test_lone_surrogate_ids_survive_checkpoint_and_resume(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path) -> None:
    lines = [json.dumps({"_id": f"\ud800-{i}", "key": f"k{i}", "value": f"v{i}"}) for i in range(12)]
    _write_lines(tmp_path / "dump" / "kv_sessions.json", lines)
    cfg = _id_config(tmp_path, "key")
    cf.kv.unsuccessful_always.add("k9")  # type: ignore[attr-defined]
    assert run("--config", str(cfg), "--batch-size", "4") == 1
    saved = json.loads((tmp_path / "backfill-kv.checkpoint.json").read_text(encoding="utf-8"))
    assert saved["state"]["modules"]["sessions"]["after_id"] == json.dumps("\ud800-7", ensure_ascii=False)
    cf.kv.unsuccessful_always.clear()  # type: ignore[attr-defined]
    before = cf.kv.writes  # type: ignore[attr-defined]
    assert run("--config", str(cfg), "--resume") == 0
    assert cf.kv.writes - before == 4  # type: ignore[attr-defined]  # only the batch after the checkpoint
    assert set(cf.kv.live(NAMESPACE)) == {f"k{i}" for i in range(12)}  # type: ignore[attr-defined]


def _control_char_export(tmp_path: Path) -> Path:
    import gzip

    (tmp_path / "dump").mkdir()
    value = "\x01" * (20 * 1024 * 1024)  # 20 MiB in KV; 126 MB as an escaped JSON pair
    docs = [{"_id": "small-1", "key": "small-1", "value": "s1"}, {"_id": "huge", "key": "huge", "value": value},
            {"_id": "small-2", "key": "small-2", "value": "s2"}]
    with gzip.open(tmp_path / "dump" / "kv_sessions.json.gz", "wt", encoding="utf-8", compresslevel=1) as out:
        for doc in docs:
            out.write(json.dumps(doc) + "\n")
    return _id_config(tmp_path, "key")


def test_value_too_big_for_a_bulk_request_goes_by_single_put(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _control_char_export(tmp_path)
    assert run("--config", str(cfg), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "would write 3" in out and "1 too big for a bulk request" in out and "single-key PUT" in out
    assert cf.log == []
    assert run("--config", str(cfg)) == 0
    live = cf.kv.live(NAMESPACE)  # type: ignore[attr-defined]
    assert live["huge"].value == b"\x01" * (20 * 1024 * 1024)
    assert {live["small-1"].value, live["small-2"].value} == {b"s1", b"s2"}
    assert all(len(r.body) <= cf_kv.MAX_BULK_BYTES for r in cf.log)
    assert (cf.kv.bulk_requests, cf.kv.put_requests) == (1, 1)  # type: ignore[attr-defined]


def test_resume_against_a_changed_export_is_refused(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected, cfg = setup_data(tmp_path, 60, with_invalid=False)
    export = tmp_path / "dump" / "kv_sessions.json"
    doomed = sorted(expected)[-1]
    cf.kv.unsuccessful_always.add(doomed)  # type: ignore[attr-defined]
    assert run("--config", str(cfg), "--batch-size", "10") == 1
    cf.kv.unsuccessful_always.clear()  # type: ignore[attr-defined]
    capsys.readouterr()
    # the operator re-exports: same documents and order, one value changed before the checkpoint,
    # the file the same size (the check must not rest on the size alone)
    lines = export.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[1])
    old = first["value"]
    first["value"] = old.upper() if isinstance(old, str) else {**old, "state": "MENU"}
    lines[1] = json.dumps(first, ensure_ascii=False)
    export.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert run("--config", str(cfg), "--resume") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "changed since the checkpoint" in err[0] and "without --resume" in err[0], err
    # unchanged file, same flags: resumes
    (tmp_path / "backfill-kv.checkpoint.json").unlink()
    assert run("--config", str(cfg), "--batch-size", "10") == 0


def test_put_mode_checkpoints_every_couple_of_seconds_of_work(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path) -> None:
    """At --rate 5 a batch of 200 keys is 40 s of work: a kill at 3 s must not lose all of it."""
    expected, cfg = setup_data(tmp_path, 40, with_invalid=False, short_lived=False)
    cmd = [sys.executable, "-m", "cutover", "backfill-kv", "--config", str(cfg), "--mode", "put", "--rate", "5", "-q"]
    env = {**env, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, cwd=str(tmp_path), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while proc.poll() is None and cf.kv.put_requests < 16 and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    acked = cf.kv.put_requests  # type: ignore[attr-defined]
    saved = json.loads((tmp_path / "backfill-kv.checkpoint.json").read_text(encoding="utf-8"))
    recorded = saved["state"]["modules"].get("sessions", {}).get("stats", {}).get("written", 0)
    assert recorded >= acked - 2 * 5, (recorded, acked)  # at most ~2 s of work at --rate 5 unrecorded
    done = subprocess.run(cmd + ["--resume", "--rate", "200"], cwd=str(tmp_path), env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]
    assert cf.kv.put_requests < acked + len(expected)  # type: ignore[attr-defined]  # the resume did not redo it all


@pytest.mark.parametrize("flag, where", [
    ("--failed-keys", "a-directory"), ("--failed-keys", "missing/failed.ndjson"),
    ("--checkpoint", "missing/cp.json"), ("--json", "a-directory"), ("--emit", "missing/kv.json"),
])
def test_unwritable_output_paths_stop_before_the_first_write(cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, where: str) -> None:
    _, cfg = setup_data(tmp_path, 60)  # with an invalid document: the failed-keys file is needed
    (tmp_path / "a-directory").mkdir()
    assert run("--config", str(cfg), flag, str(tmp_path / where)) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"cutover backfill-kv: {flag}: cannot write ") and "unexpected" not in err[0], err
    assert cf.log == []  # nothing sent
    assert not (tmp_path / "backfill-kv.checkpoint.json").exists()


def test_old_flag_spellings_still_mean_the_same() -> None:
    """--database is the hidden old spelling of --mongo-database; --budget-headroom takes 25% or 0.25."""
    from cutover.cli import build_parser

    parser = build_parser()
    old = parser.parse_args(["backfill-kv", "--config", "c.json", "--database", "app", "--budget-headroom", "25%"])
    new = parser.parse_args(["backfill-kv", "--config", "c.json", "--mongo-database", "app", "--budget-headroom", "0.25"])
    assert (old.mongo_database, old.budget_headroom) == (new.mongo_database, new.budget_headroom) == ("app", 0.25)
    plain = parser.parse_args(["backfill-kv", "--config", "c.json"])
    assert (plain.mongo_database, plain.budget_headroom, plain.api_limit, plain.page_size) == (None, 0.1, None, None)
    sub = next(a for a in parser._actions if a.dest == "_subcommand").choices["backfill-kv"]  # type: ignore[attr-defined]
    shown = sub.format_help()
    assert "--mongo-database" in shown and "--database" not in shown.replace("--mongo-database", "")


def test_skip_bad_lines_writes_every_other_document_and_names_the_damaged_line(
        cf: FakeCloudflare, env: Dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected, cfg = setup_data(tmp_path, 40, with_invalid=False, short_lived=False)
    export = tmp_path / "dump" / "kv_sessions.json"
    lines = export.read_text().splitlines(keepends=True)
    at = next(i for i in range(5, 40) if json.loads(lines[i])["key"] in expected)  # a live document mid-file
    lost = json.loads(lines[at])["key"]
    lines[at] = lines[at][: len(lines[at]) // 2] + "\n"  # cut short in the middle of the file
    export.write_text("".join(lines))
    assert run("--config", str(cfg)) == 1  # by default a damaged line stops the run
    assert f"kv_sessions.json:{at + 1}" in capsys.readouterr().err
    assert run("--config", str(cfg), "--skip-bad-lines", "-q") == 0
    err = capsys.readouterr().err
    assert "sessions: 1 damaged line(s) in the export were skipped (--skip-bad-lines)" in err  # even with -q
    assert f"kv_sessions.json:{at + 1}" in err
    del expected[lost]
    assert_kv_matches(cf.kv, expected, time.time())  # type: ignore[attr-defined]  every other live key, exactly
