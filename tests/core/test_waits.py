"""Every wait on Cloudflare is said on stderr with its progress (issue 19 item 3): the HTTP
client's 429 Retry-After, the request budget and a block another process saw, on a pipe
and on a real terminal, with -v and -q. Sleeps are injected: nothing here really waits."""
from __future__ import annotations

import os
import random
import select
import sys
from typing import List

import pytest

from cutover.core import waits
from cutover.core.http import HttpClient
from cutover.core.progress import Progress
from cutover.core.ratelimit import RateLimiter
from tests.support.httpserver import FakeServer, Fault, Reply


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: List[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def server():
    fake = FakeServer()
    fake.route("GET", "/ok", lambda req: Reply.json({"ok": True}))
    with fake:
        yield fake


def test_a_429_retry_after_is_said_with_progress_off_a_terminal(server, capsys) -> None:
    server.inject(Fault("status", "/ok", count=1, status=429, headers={"Retry-After": "299"}))
    slept: List[float] = []
    client = HttpClient(server.base_url, sleep=slept.append, rng=random.Random(1), max_retry_after=330)
    assert client.get_json("/ok") == {"ok": True}
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("429: waiting 4m59s") and "retry 1 of 5" in lines[0]
    # a plain line every 30 s until it is over, so a log shows the run is alive
    assert lines[1:] == [f"429: still waiting, {left} left" for left in
                         ("4m29s", "3m59s", "3m29s", "2m59s", "2m29s", "1m59s", "1m29s", "59s", "29s")]
    assert sum(slept) == pytest.approx(299)


def test_verbose_does_not_silence_it_and_quiet_keeps_one_line(server, capsys) -> None:
    for quiet, verbose in ((False, True), (True, False)):
        waits.configure(quiet=quiet, verbose=verbose)
        server.inject(Fault("status", "/ok", count=1, status=429, headers={"Retry-After": "120"}))
        HttpClient(server.base_url, sleep=lambda s: None).get_json("/ok")
        err = capsys.readouterr().err
        assert err.startswith("429: waiting 2m00s")
        assert ("still waiting" in err) is (not quiet)


def test_short_backoffs_stay_silent_unless_verbose(server, capsys) -> None:
    server.inject(Fault("status", "/ok", count=1, status=502))
    HttpClient(server.base_url, sleep=lambda s: None, backoff_base=0.2).get_json("/ok")
    assert capsys.readouterr().err == ""
    waits.configure(verbose=True)
    server.inject(Fault("status", "/ok", count=1, status=502))
    HttpClient(server.base_url, sleep=lambda s: None, backoff_base=0.2).get_json("/ok")
    assert capsys.readouterr().err.startswith("HTTP 502: waiting 0s, then retry 1 of 5")


def test_the_request_budget_wait_is_said(capsys) -> None:
    clock = FakeClock()
    limiter = RateLimiter(window_limit=10, window_seconds=12, clock=clock, sleep=clock.sleep)
    for _ in range(11):
        limiter.acquire()
    err = capsys.readouterr().err
    assert err.startswith("API budget: waiting 12s (10 requests per 12s)")
    assert err.count("API budget: waiting") == 1


def test_a_block_recorded_by_a_429_holds_every_caller_and_is_said(capsys) -> None:
    clock = FakeClock()
    limiter = RateLimiter(window_limit=100, window_seconds=300, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.blocked(250)
    limiter.acquire()
    assert clock.sleeps and sum(clock.sleeps) == pytest.approx(250)
    assert capsys.readouterr().err.startswith("429: waiting 4m10s: Cloudflare blocks this token")


def test_threads_waiting_for_the_same_thing_say_it_once(capsys) -> None:
    import threading

    entered: set = set()
    lock = threading.Lock()
    all_in = threading.Event()

    def sleep(seconds: float) -> None:  # returns once all 8 threads are inside their wait
        with lock:
            entered.add(threading.get_ident())
            if len(entered) == 8:
                all_in.set()
        all_in.wait(10)

    def worker() -> None:
        waits.wait(40, "API budget", sleep)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert capsys.readouterr().err.count("API budget: waiting 40s") == 1


def _drain(fd: int) -> str:
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode("utf-8")


@pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX")
def test_on_a_terminal_a_countdown_under_the_progress_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import pty

    master, slave = pty.openpty()
    tty = os.fdopen(slave, "w", encoding="utf-8")
    monkeypatch.setattr(sys, "stderr", tty)
    waits.configure(verbose=True)  # -v on a tty printed nothing for 302 s before
    try:
        t = [0.0]
        bar = Progress("sessions", total=100, stream=tty, clock=lambda: t[0])
        t[0] = 1.0
        bar.update(10)
        waits.wait(4, "429", lambda s: None)
        bar.update(10)
        bar.close()
        out = _drain(master)
    finally:
        tty.close()
        os.close(master)
    assert "\r\x1b[K429: waiting 4s\r\n" in out  # the progress line cleared, the message on its own line
    assert "\r\x1b[K429: 3s left" in out and "\r\x1b[K429: 1s left" in out
    # and the progress line again (`in`, not endswith: a server thread of another test may write to stderr)
    assert "1s left\r\x1b[K\r\x1b[Ksessions: 20/100 (20%)  20/s  ETA 4s  1s" in out


def test_a_plain_stream_without_isatty_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    class Bare:
        def __init__(self) -> None:
            self.parts: List[str] = []

        def write(self, text: str) -> None:
            self.parts.append(text)

        def flush(self) -> None:
            pass

    bare = Bare()
    monkeypatch.setattr(sys, "stderr", bare)
    waits.wait(65, "429", lambda s: None)
    assert "".join(bare.parts).splitlines() == ["429: waiting 1m05s", "429: still waiting, 35s left",
                                                "429: still waiting, 5s left"]


@pytest.mark.parametrize("seconds", [299.0, 0.5])  # a countdown said on stderr, and a silent pacing wait
def test_an_abandoned_run_ends_waits_when_they_wake_and_says_nothing_more(capsys, seconds: float) -> None:
    waits.configure()
    slept: List[float] = []

    def sleep(chunk: float) -> None:
        slept.append(chunk)
        waits.abandon()  # the main thread was interrupted meanwhile

    try:
        with pytest.raises(waits.WaitAbandoned):
            waits.wait(seconds, "429", sleep)
        assert len(slept) == 1
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == (1 if seconds > 1 else 0) and "left" not in "".join(lines)
    finally:
        waits.configure()  # the next command waits normally again
    waits.wait(0.5, "429", slept.append)
    assert slept[-1] == 0.5
