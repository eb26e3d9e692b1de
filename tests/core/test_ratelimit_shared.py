"""The per-token ledger that shares Cloudflare's budget between processes (issue 19 item 4)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest

from cutover.core import ratelimit
from cutover.core.ratelimit import RateLimiter, SharedLedger, cloudflare_limiter, ledger_path


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.sleeps: List[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def two_limiters(path: str, clock: FakeClock, limit: int = 10, window: float = 60.0) -> List[RateLimiter]:
    limiters = []
    for pid in (1001, 1002):  # two "processes": same file, their own ids
        ledger = SharedLedger(path)
        ledger.pid = pid
        limiters.append(RateLimiter(window_limit=limit, window_seconds=window, clock=clock, sleep=clock.sleep,
                                    store=ledger))
    return limiters


def test_two_users_of_one_ledger_share_one_budget(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    a, b = two_limiters(str(tmp_path / "l"), clock)
    stamps = []
    for i in range(40):
        (a if i % 3 else b).acquire()
        stamps.append(clock.now)
    j = 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - 60:
            j += 1
        assert i - j + 1 <= 10  # together, never more than the one budget in a window
    assert a.in_window() == b.in_window() <= 10
    err = capsys.readouterr().err
    assert "API budget: shared with cutover process 1001" in err  # said once by b about a
    assert "API budget: shared with cutover process 1002" in err
    assert "by cutover process" in err  # the wait says who else is using it


def test_a_block_seen_by_one_holds_the_other(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    a, b = two_limiters(str(tmp_path / "l"), clock)
    a.acquire()
    a.blocked(200)
    b.acquire()
    assert sum(clock.sleeps) == pytest.approx(200)
    assert "429: waiting 3m20s: Cloudflare blocks this token (seen by cutover process 1001)" in capsys.readouterr().err


def test_a_clock_stepped_back_or_a_torn_line_does_not_hold_the_budget(tmp_path: Path) -> None:
    path = tmp_path / "l"
    clock = FakeClock()
    future = clock.now + 3600
    path.write_text("".join(f"r {future + i} 77\n" for i in range(50)) + "r 12\nnonsense\nb 99999999999 5\n")
    (limiter,) = two_limiters(str(path), clock)[:1]
    limiter.acquire()
    assert clock.sleeps == [] and limiter.in_window() == 1


def test_the_ledger_is_in_the_temp_dir_and_named_by_a_hash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    token = "secret-token-abc123"
    path = ledger_path(token, "https://api.cloudflare.com/client/v4/")
    assert os.path.dirname(path) == str(tmp_path) and token not in path
    assert path == ledger_path(token, "https://api.cloudflare.com/client/v4")
    assert path != ledger_path(token + "x", "https://api.cloudflare.com/client/v4")
    assert path != ledger_path(token, "http://127.0.0.1:8787/client/v4")  # another API is another budget
    limiter = cloudflare_limiter(token, "https://api.cloudflare.com/client/v4", api_limit=(100, 10))
    limiter.acquire()
    assert limiter.window_limit == 90 and limiter.window_seconds == 11.0  # headroom 10 %, window padded
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert token not in Path(path).read_text()


@pytest.mark.parametrize("problem", ["no_fcntl", "symlink", "foreign_owner"])
def test_without_a_usable_ledger_it_says_so_and_counts_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str], problem: str) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    path = ledger_path("tok-123456", "https://x.test")
    if problem == "no_fcntl":
        monkeypatch.setattr(ratelimit, "fcntl", None)
    elif problem == "symlink":
        os.symlink(tmp_path / "elsewhere", path)
    else:
        if not hasattr(os, "getuid") or os.getuid() != 0:
            pytest.skip("chown to another user needs root")
        Path(path).write_text("")
        os.chown(path, 65534, 65534)
    limiter = cloudflare_limiter("tok-123456", "https://x.test", api_limit=(5, 60))
    for _ in range(4):
        limiter.acquire()
    assert limiter.in_window() == 4
    assert "API budget: not shared with other processes" in capsys.readouterr().err
    assert not (tmp_path / "elsewhere").exists()


def test_the_test_knob_scales_every_cloudflare_caller(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    monkeypatch.setenv(ratelimit.API_LIMIT_ENV, "40/2")
    limiter = cloudflare_limiter("tok-123456", "https://x.test")
    assert (limiter.window_limit, limiter.window_seconds) == (36, 3.0)
    monkeypatch.setenv(ratelimit.API_LIMIT_ENV, "forty")
    with pytest.raises(ratelimit.UsageError, match=ratelimit.API_LIMIT_ENV):
        cloudflare_limiter("tok-123456", "https://x.test")


def test_the_ledger_appends_and_compacts_what_no_longer_counts(tmp_path: Path) -> None:
    path = tmp_path / "l"
    clock = FakeClock()
    path.write_text("".join(f"r {clock.now - 500 - i:.3f} 77\n" for i in range(300)) + "r 18000")  # torn by a crash
    (limiter,) = two_limiters(str(path), clock)[:1]
    limiter.acquire()
    assert path.read_text().splitlines() == [f"r {clock.now:.3f} 1001"]  # compacted: old and torn lines gone
    clock.now += 1
    limiter.acquire()
    assert len(path.read_text().splitlines()) == 2  # then one line appended per request
