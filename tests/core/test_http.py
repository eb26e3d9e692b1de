from __future__ import annotations

import random

import pytest

from cutover.core import redact
from cutover.core.http import Attempt, HttpClient, HttpError, parse_retry_after
from tests.support.httpserver import FakeServer, Fault, Reply

SECRET = "tok-9f8e7d6c5b4a-secret"


@pytest.fixture
def server():
    fake = FakeServer()
    fake.route("GET", "/ok", lambda req: Reply.json({"ok": True, "q": req.query}))
    fake.route("POST", "/echo", lambda req: Reply.json(req.json()))
    fake.route("GET", "/teapot", lambda req: Reply.json({"error": "short and stout"}, 418))
    with fake:
        yield fake


def client(server: FakeServer, **kw) -> tuple[HttpClient, list[float]]:
    slept: list[float] = []
    kw.setdefault("retries", 4)
    c = HttpClient(server.base_url, sleep=slept.append, rng=random.Random(1), **kw)
    return c, slept


def test_json_round_trip(server):
    c, _ = client(server)
    assert c.post_json("/echo", {"a": [1, "é"]}) == {"a": [1, "é"]}
    assert c.get_json("/ok", params={"x": "1", "skip": None})["q"] == {"x": "1"}


def test_retry_after_seconds_on_429_is_honoured(server):
    server.inject(Fault("status", "/ok", count=2, status=429, headers={"Retry-After": "7"}))
    c, slept = client(server)
    assert c.get_json("/ok")["ok"] is True
    assert slept == [7.0, 7.0]
    assert c.stats.throttled == 2 and c.stats.retries == 2 and c.stats.requests == 3


def test_retry_after_on_503_and_backoff_on_500(server):
    server.inject(Fault("status", "/ok", count=1, status=503, headers={"Retry-After": "3"}))
    server.inject(Fault("status", "/ok", count=1, status=500))
    c, slept = client(server, backoff_base=1.0)
    assert c.get_json("/ok")["ok"] is True
    assert slept[0] == 3.0
    # second retry: exponential backoff with jitter in [cap/2, cap] for cap = 1.0 * 2**1
    assert 1.0 <= slept[1] <= 2.0


def test_backoff_grows_exponentially_and_is_capped():
    c = HttpClient("http://127.0.0.1:9", backoff_base=0.5, backoff_max=4.0, rng=random.Random(7))
    caps = [min(4.0, 0.5 * 2 ** (n - 1)) for n in range(1, 8)]
    for n, cap in enumerate(caps, start=1):
        assert cap / 2 <= c.backoff_delay(n) <= cap


def test_connection_reset_is_retried(server):
    server.inject(Fault("reset", "/ok", count=2))
    c, slept = client(server)
    assert c.get_json("/ok")["ok"] is True
    assert len(slept) == 2


def test_retries_exhausted_raises_one_line(server):
    server.inject(Fault("status", "/ok", count=10, status=502))
    c, slept = client(server, retries=3)
    with pytest.raises(HttpError) as info:
        c.get_json("/ok")
    assert info.value.status == 502 and len(slept) == 3
    assert "\n" not in str(info.value)


def test_non_retryable_status_raises_immediately_or_is_returned(server):
    c, slept = client(server)
    with pytest.raises(HttpError) as info:
        c.get_json("/teapot")
    assert info.value.status == 418 and slept == []
    assert "short and stout" in str(info.value)
    assert c.request("GET", "/teapot", check=False).status == 418


def test_retry_after_longer_than_allowed_fails_clearly(server):
    server.inject(Fault("status", "/ok", count=1, status=429, headers={"Retry-After": "3600"}))
    c, slept = client(server, max_retry_after=330)
    with pytest.raises(HttpError, match="3600s"):
        c.get_json("/ok")
    assert slept == []


def test_pace_hook_runs_before_every_attempt(server):
    server.inject(Fault("status", "/ok", count=2, status=500))
    calls: list[int] = []
    c, _ = client(server, pace=lambda: calls.append(1))
    c.get_json("/ok")
    assert len(calls) == 3


def test_connection_refused_is_error_after_retries():
    slept: list[float] = []
    c = HttpClient("http://127.0.0.1:9", retries=2, sleep=slept.append, timeout=2)
    with pytest.raises(HttpError, match="127.0.0.1:9"):
        c.get_json("/x")
    assert len(slept) == 2


def test_secrets_never_appear_in_error_text(server):
    server.inject(Fault("status", "/ok", count=10, status=500, body=f'{{"echo":"Bearer {SECRET}"}}'.encode()))
    c, _ = client(server, retries=1, headers={"Authorization": f"Bearer {SECRET}"})
    with pytest.raises(HttpError) as info:
        c.get_json("/ok", params={"api_key": SECRET, "token": SECRET, "page": "2"})
    text = str(info.value)
    assert SECRET not in text
    assert "page=2" in text and "api_key=***" in text
    # and a response that carries the secret in a non-secret place is scrubbed too
    c2, _ = client(server, retries=0)
    redact.register_secret(SECRET)
    server.inject(Fault("status", "/ok", count=1, status=400, body=f"bad key {SECRET}".encode()))
    with pytest.raises(HttpError) as info2:
        c2.get_json("/ok")
    assert SECRET not in str(info2.value)


# -- 429 blocks (Cloudflare: over the token's budget, every call answers 429 for 5 minutes) -----

class Budget:
    """A pace hook with `blocked`, as the shared budget has: what the client told it."""

    def __init__(self) -> None:
        self.paced = 0
        self.blocks: list[float] = []

    def __call__(self) -> None:
        self.paced += 1

    def blocked(self, seconds: float) -> None:
        self.blocks.append(seconds)


def blocking(server, **kw) -> tuple[HttpClient, list[float], Budget, list[float]]:
    budget, told = Budget(), []
    kw = {"max_retry_after": 60, "block_waits": 3, "max_block_wait": 330, **kw}
    c, slept = client(server, pace=budget, on_block=told.append, block_note="the token is blocked", **kw)
    return c, slept, budget, told


def test_a_block_is_waited_out_with_fresh_attempts_and_the_budget_told(server, capsys):
    server.inject(Fault("status", "/echo", count=2, status=429, headers={"Retry-After": "300"}))
    c, slept, budget, told = blocking(server)
    built: list[float] = []

    def prepare():
        built.append(sum(slept))  # seconds waited before this attempt was built
        return Attempt(data=b'{"waited":%d}' % sum(slept))

    answer = c.request("POST", "/echo", data=b"{}", headers={"Content-Type": "application/json"}, prepare=prepare)
    assert answer.json() == {"waited": 600}  # the resend carries what was built after the second wait
    assert built == [0, 300, 600] and sum(slept) == 600
    assert budget.blocks == [300, 300] and told == [300, 300] and budget.paced == 3
    assert (c.stats.blocks, c.stats.throttled, c.stats.retries, c.stats.requests) == (2, 2, 0, 3)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("429: waiting")]
    assert len(lines) == 2 and lines[0].startswith("429: waiting 5m00s: the token is blocked; until ")
    assert lines[0].endswith("Z, then sending again (block wait 1 of 3)") and lines[1].endswith("(block wait 2 of 3)")


def test_threads_that_hit_the_same_block_tell_it_once(server, capsys):
    """8 put-mode workers share a client: one block event is one on_block call (one warning)."""
    import threading

    workers = 8
    server.inject(Fault("status", "/ok", count=workers, status=429, headers={"Retry-After": "300"}))
    together = threading.Barrier(workers, timeout=30)
    first_sleep: set = set()

    def sleep(seconds: float) -> None:  # every thread is inside its block wait before any goes on
        if threading.get_ident() not in first_sleep:
            first_sleep.add(threading.get_ident())
            together.wait()

    budget, told = Budget(), []
    c = HttpClient(server.base_url, sleep=sleep, rng=random.Random(1), pace=budget, on_block=told.append,
                   max_retry_after=60, block_waits=3, block_note="the token is blocked")
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(c.get_json("/ok"))) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == workers and c.stats.blocks == workers  # each request waited the block out
    assert told == [300]  # ... and the block was told once
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("429: waiting")]
    assert len(lines) == 1


def test_more_blocks_than_allowed_end_with_one_line_that_says_what_to_do(server):
    server.inject(Fault("status", "/ok", count=10, status=429, headers={"Retry-After": "300"}))
    c, slept, budget, told = blocking(server)
    with pytest.raises(HttpError) as info:
        c.get_json("/ok")
    text = str(info.value)
    assert info.value.status == 429 and "\n" not in text
    assert "the token is blocked, still blocked after 3 waits" in text and "try again after" in text
    assert sum(slept) == 900 and told == [300] * 3 and c.stats.requests == 4
    assert budget.blocks == [300] * 4  # the last block is told too: the next run waits for it


def test_a_retry_after_far_beyond_a_block_fails_without_waiting(server):
    server.inject(Fault("status", "/ok", count=1, status=429, headers={"Retry-After": "3600"}))
    c, slept, budget, told = blocking(server)
    with pytest.raises(HttpError, match=r"asks to wait 3600s, longer than a block lasts \(330s\): try again after"):
        c.get_json("/ok")
    assert slept == [] and told == [] and c.stats.requests == 1


def test_a_429_after_the_retries_is_a_block_and_the_retries_start_again(server):
    # No Retry-After: retried with backoff, then the 5th 429 is waited as a block of the longest
    # a block lasts; after it, a 503 still gets its retries.
    server.inject(Fault("status", "/ok", count=5, status=429))
    server.inject(Fault("status", "/ok", count=4, status=503))
    c, slept, budget, told = blocking(server, retries=4)
    assert c.get_json("/ok")["ok"] is True
    assert told == [330] and c.stats.blocks == 1 and c.stats.retries == 8 and c.stats.requests == 10


def test_a_short_retry_after_is_an_ordinary_retry_not_a_block(server):
    server.inject(Fault("status", "/ok", count=2, status=429, headers={"Retry-After": "7"}))
    c, slept, budget, told = blocking(server)
    assert c.get_json("/ok")["ok"] is True
    assert slept == [7.0, 7.0] and told == [] and c.stats.blocks == 0
    assert budget.blocks == [7.0, 7.0]  # a throttle is shared with the budget all the same


def test_without_block_waits_a_block_fails_as_before(server):
    server.inject(Fault("status", "/ok", count=1, status=429, headers={"Retry-After": "300"}))
    c, slept = client(server, max_retry_after=60, pace=Budget())
    with pytest.raises(HttpError, match=r"wait 300s \(more than 60s\); try again later"):
        c.get_json("/ok")
    server.inject(Fault("status", "/ok", count=10, status=429))
    with pytest.raises(HttpError, match="HTTP 429"):
        c.get_json("/ok")
    assert len(slept) == 4 and c.stats.blocks == 0  # the 4 retries, no block wait


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), ("0", 0.0), (" 5 ", 5.0), ("", None), (None, None), ("soon", None), ("-3", 0.0)],
)
def test_parse_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0


# -- credentials travel only over https (or plain http to loopback) ---------------------------

@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Any name lookup fails the test: the refusal must come before traffic of any kind."""
    lookups: list[tuple[object, ...]] = []

    def refuse(*args: object, **kwargs: object) -> None:
        lookups.append(args)
        raise AssertionError(f"DNS lookup attempted: {args}")

    import socket

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "gethostbyname", refuse)
    return lookups


@pytest.mark.parametrize("header", ["Authorization", "apiKey", "X-Telegram-Bot-Api-Secret-Token"])
def test_client_with_credentials_refuses_plain_http_to_a_remote_host(no_dns, header):
    from cutover.errors import ConfigError

    with pytest.raises(ConfigError, match="plain http"):
        HttpClient("http://api.cloudflare.invalid/client/v4", headers={header: f"Bearer {SECRET}"})
    assert no_dns == []


def test_per_request_credentials_refused_before_any_lookup(no_dns):
    # Atlas adds Authorization per request (Digest/Bearer): the same rule applies there.
    from cutover.errors import ConfigError

    c = HttpClient("http://atlas.invalid", retries=0)
    with pytest.raises(ConfigError, match="plain http") as info:
        c.request("GET", "/api/atlas/v2/groups", headers={"Authorization": f"Bearer {SECRET}"})
    assert SECRET not in str(info.value)
    with pytest.raises(ConfigError, match="plain http"):
        HttpClient("https://ok.invalid", headers={"Authorization": "Bearer x" * 3}).request(
            "GET", "http://elsewhere.invalid/x")
    assert no_dns == [] and c.stats.requests == 0


def test_credentials_to_loopback_over_http_are_fine(server):
    c, _ = client(server, headers={"Authorization": f"Bearer {SECRET}"})
    assert c.get_json("/ok")["ok"] is True


def test_prepare_builds_every_attempt_after_its_wait(server):
    """A retried request is rebuilt after the wait, not resent as built before it."""
    server.inject(Fault("status", "/echo", count=2, status=503, headers={"Retry-After": "5"}))
    c, slept = client(server)
    built: list[int] = []

    def prepare():
        built.append(len(slept))  # how many waits came before this attempt
        return Attempt(data=b'{"attempt":%d}' % len(built), params={"n": len(built)})

    assert c.request("POST", "/echo", data=b"{}", headers={"Content-Type": "application/json"}, prepare=prepare).json() == {"attempt": 3}
    assert built == [0, 1, 2]
    assert [r.query for r in server.log] == [{"n": "1"}, {"n": "2"}, {"n": "3"}]


def test_an_exception_from_prepare_ends_the_request(server):
    class NothingLeft(Exception):
        pass

    server.inject(Fault("status", "/echo", count=1, status=503))
    c, _ = client(server)
    calls: list[int] = []

    def prepare():
        calls.append(1)
        if len(calls) > 1:
            raise NothingLeft
        return Attempt(data=b"{}")

    with pytest.raises(NothingLeft):
        c.request("POST", "/echo", prepare=prepare)
    assert len(server.log) == 1
