"""One wave against a local threaded Telegram webhook: distinct updates, the secret header on
every request, a simultaneous release, and failures reported per request instead of raised."""
from __future__ import annotations

import json
import socket
import ssl
import sys

import pytest

from cutover.burst.runner import prepare_wave, request_headers
from cutover.burst.target import parse_target
from cutover.burst.updates import UpdateFactory, is_synthetic_user_id
from cutover.burst.wire import fire_wave
from tests.support.httpserver import Fault
from tests.support.telegram_webhook import TelegramWebhook, self_signed_cert

SECRET = "s3cr3t-Token_for-tests"


def skew_bound_seconds(n: int) -> float:
    """Why this bound holds on 2 cores: after the barrier trips every thread only stamps the time
    and flushes one pre-built buffer (the send syscall releases the GIL). The last sender waits at
    most for the other N-1 to take the GIL in turn; CPython forces a hand-over every switch
    interval (5 ms), so N x interval is a worst case (100 ms at N=20) before any real contention;
    doubled for a busy CI machine, never under 250 ms."""
    return max(0.25, 2 * n * sys.getswitchinterval())


@pytest.fixture
def webhook():
    with TelegramWebhook(secret=SECRET) as server:
        yield server


def _wave(url: str, n: int, timeout: float = 20.0, secret: str | None = SECRET, offset: int = 7):
    factory = UpdateFactory("/ping", run_offset=offset)
    return fire_wave(parse_target(url), prepare_wave(factory, 0, n), request_headers(secret), timeout)


def test_twenty_distinct_updates_released_together(webhook: TelegramWebhook) -> None:
    wave = _wave(webhook.url, 20)
    assert [o.status for o in wave.outcomes] == [200] * 20
    assert all(o.error is None for o in wave.outcomes)
    assert len(webhook.arrivals) == 20 and not webhook.rejected
    assert {a.secret for a in webhook.arrivals} == {SECRET}, "the secret header on every request"
    assert len({a.update["update_id"] for a in webhook.arrivals}) == 20
    assert len({a.cache_token for a in webhook.arrivals}) == 20 and None not in {a.cache_token for a in webhook.arrivals}
    assert {a.update["update_id"] for a in webhook.arrivals} == {o.update_id for o in wave.outcomes}
    for arrival in webhook.arrivals:
        msg = arrival.update["message"]
        assert is_synthetic_user_id(msg["from"]["id"]) and msg["entities"][0]["type"] == "bot_command"
    # Barrier: no request left before every connection was open.
    assert max(o.connected_at for o in wave.outcomes) <= min(o.sent_at for o in wave.outcomes)  # type: ignore[type-var]
    assert wave.release_skew_ms is not None and wave.release_skew_ms / 1000.0 < skew_bound_seconds(20)
    assert all(o.latency_ms is not None and o.latency_ms >= 0 for o in wave.outcomes)


def test_wrong_secret_is_a_reported_401(webhook: TelegramWebhook) -> None:
    wave = _wave(webhook.url, 3, secret="not-the-secret")
    assert [o.status for o in wave.outcomes] == [401, 401, 401]
    assert len(webhook.rejected) == 3 and not webhook.arrivals


def test_non_2xx_reported_not_fatal(webhook: TelegramWebhook) -> None:
    webhook.inject(Fault("status", path="/webhook", count=3, status=502))
    wave = _wave(webhook.url, 10)
    statuses = sorted(o.status for o in wave.outcomes)  # type: ignore[type-var]
    assert statuses == [200] * 7 + [502] * 3


def test_timeouts_and_resets_reported_not_fatal(webhook: TelegramWebhook) -> None:
    webhook.inject(Fault("slow", path="/webhook", count=2, delay=8.0))
    webhook.inject(Fault("reset", path="/webhook", count=1))
    # the deadline far from both sides: the 5 quick answers have seconds to spare on a loaded
    # machine, and the 2 slow ones still answer seconds after it
    wave = _wave(webhook.url, 8, timeout=4.0)
    errors = sorted(o.error for o in wave.outcomes if o.error)  # type: ignore[type-var]
    assert errors[:1] in (["connection closed"], ["connection reset"])
    assert errors[1:] == ["timeout", "timeout"]
    assert sum(1 for o in wave.outcomes if o.status == 200) == 5
    for o in wave.outcomes:
        assert (o.status is None) == (o.error is not None)


def test_nothing_listening_is_reported_per_request() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    wave = _wave(f"http://127.0.0.1:{port}/webhook", 4)
    assert [o.error for o in wave.outcomes] == ["connection refused"] * 4
    assert wave.release_skew_ms is None


def test_body_is_the_update_json(webhook: TelegramWebhook) -> None:
    factory = UpdateFactory("/start 😀", run_offset=3)
    prepared = prepare_wave(factory, 2, 2)
    assert [p.seq for p in prepared] == [4, 5], "sequence numbers continue across waves"
    fire_wave(parse_target(webhook.url), prepared, request_headers(SECRET), 10.0)
    got = sorted((a.update for a in webhook.arrivals), key=lambda u: u["update_id"])
    assert got == [json.loads(p.body) for p in prepared]
    assert got[0]["message"]["text"] == "/start 😀"


def test_https_with_pre_opened_tls_connections(tmp_path) -> None:
    cert, key = self_signed_cert(tmp_path)
    with TelegramWebhook(secret=SECRET, tls=(cert, key)) as server:
        factory = UpdateFactory("/ping", run_offset=11)
        trusted = ssl.create_default_context(cafile=cert)
        wave = fire_wave(parse_target(server.url), prepare_wave(factory, 0, 10), request_headers(SECRET), 20.0, trusted)
        assert [o.status for o in wave.outcomes] == [200] * 10
        assert len({a.update["update_id"] for a in server.arrivals}) == 10
        # The same server with the system trust store: a certificate error per request, not a crash.
        untrusted = fire_wave(parse_target(server.url), prepare_wave(factory, 1, 2), request_headers(SECRET), 20.0)
    assert [o.error for o in untrusted.outcomes] == ["tls error", "tls error"]
    assert "CERTIFICATE_VERIFY_FAILED" in (untrusted.outcomes[0].error_detail or "")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="relies on Linux dropping SYNs to a full accept queue")
def test_a_wave_not_released_by_the_deadline_sends_nothing() -> None:
    """A listener that never accepts, with a full accept queue: the first connections complete,
    the rest hang in connect. At the deadline the barrier breaks: nothing is sent, the connected
    ones say they were not released, every request is a timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        wave = _wave(f"http://127.0.0.1:{port}/webhook", 6, timeout=1.5)
    assert [o.error for o in wave.outcomes] == ["timeout"] * 6
    assert all(o.status is None and o.sent_at is None for o in wave.outcomes)
    connected = [o for o in wave.outcomes if o.connect_ms is not None]
    assert 0 < len(connected) < 6
    assert all(o.error_detail == "not released: the wave deadline passed while connecting" for o in connected)
    assert wave.release_skew_ms is None and wave.release_lag_ms is None
