"""A command blocked by Cloudflare says so and shows progress, even with -v and off a terminal
(issue 19 item 3: the fifth verify in a row printed nothing for 302 s)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from cutover.cli import main
from tests.support import cf_kv
from tests.support.cfapi import TOKEN, FakeCloudflare
from tests.support.httpserver import Reply, Request
from tests.support.kvdata import NAMESPACE, write_config, write_export


def block_at_first_request(fake: FakeCloudflare, seconds: float) -> None:
    """Another client on this token crosses the limit just as the next request arrives: that
    request meets a block of exactly `seconds` however long the command took to send it (a block
    set before the command started shrank to 1 s, or ended, when a loaded machine started slowly)."""
    plain_before = fake.before
    armed = [True]

    def before(request: Request) -> Reply | None:
        if armed[0] and request.path.startswith("/client/v4/"):
            armed[0] = False
            with fake.lock:
                fake.blocked_until = fake.clock() + seconds
        return plain_before(request)

    fake.before = before  # type: ignore[method-assign]


def test_verify_blocked_by_a_429_says_it_is_waiting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeCloudflare(block_seconds=2.0)
    cf_kv.install(fake).create_namespace(NAMESPACE)
    with fake:
        monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
        monkeypatch.setenv("CLOUDFLARE_API_BASE_URL", fake.api_base)
        monkeypatch.setenv("TMPDIR", str(tmp_path))
        monkeypatch.setattr("tempfile.tempdir", None)
        monkeypatch.chdir(tmp_path)
        write_export(tmp_path / "dump", 30, int(time.time() * 1000), with_invalid=False, short_lived=False)
        cfg = write_config(tmp_path / "rollback.json", tmp_path / "dump")
        assert main(["backfill-kv", "--config", str(cfg), "-q"]) == 0
        capsys.readouterr()
        block_at_first_request(fake, 2.0)
        assert main(["verify", "--config", str(cfg), "-v", "--json", "-"]) == 0
        out = capsys.readouterr()
    assert json.loads(out.out)["ok"] is True
    assert fake.rate_limited >= 1
    first = [line for line in out.err.splitlines() if line.startswith("429: waiting")]
    assert first and first[0].startswith("429: waiting 2s") and "retry 1 of 5" in first[0], out.err
