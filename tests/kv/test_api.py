"""Bulk and per-key sinks against the local Cloudflare KV fake: exact state, retries, limits."""
from __future__ import annotations

import dataclasses
import json
import time
from typing import Any, List

import pytest

from cutover.core.http import HttpClient
from cutover.core.ratelimit import RateLimiter, padded_window
from cutover.errors import CutoverError
from cutover.kv.api import BulkSink, PutSink, bulk_chunks, bulk_pair
from cutover.kv.record import KVRecord
from tests.kv.conftest import NAMESPACE
from tests.support.cf_kv import KVState
from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare
from tests.support.httpserver import Fault


def client_for(cf: FakeCloudflare, limiter: RateLimiter, token: str = TOKEN) -> HttpClient:
    return HttpClient(cf.api_base, headers={"Authorization": f"Bearer {token}"}, timeout=10, retries=4,
                      backoff_base=0.01, backoff_max=0.05, max_retry_after=60, pace=limiter)


def records(n: int, ttl_s: int | None = 3600, meta: bool = False) -> List[KVRecord]:
    now = int(time.time() * 1000)
    out = []
    for i in range(n):
        exp = None if ttl_s is None or i % 3 == 0 else now + ttl_s * 1000 + i
        value = f"value-{i}".encode() if i % 5 else bytes([0xFF, i % 256, 0xFE])  # some non-UTF-8
        out.append(KVRecord(f"key/{i} é?%", value, exp, f'{{"i":{i}}}' if meta else None, i))
    return out


def assert_exact(kv: KVState, expected: List[KVRecord]) -> None:
    live = kv.live(NAMESPACE)
    assert set(live) == {r.key for r in expected}
    for r in expected:
        entry = live[r.key]
        assert entry.value == r.value
        if r.expires_at_ms is None:
            assert entry.expiration is None
        else:
            # ceil(seconds left) counted from send time: within a second (plus this test's own run time)
            assert abs(entry.expiration - r.expires_at_ms / 1000) <= 2
        assert entry.metadata == (None if r.metadata is None else json.loads(r.metadata))


def test_bulk_writes_exact_state(cf: FakeCloudflare) -> None:
    client = client_for(cf, RateLimiter(None, 1000, 300))
    sink = BulkSink(client, ACCOUNT_ID, NAMESPACE, max_pairs=7)
    recs = records(50, meta=True)
    result = sink.write(recs)
    assert (result.written, result.expired, result.failed) == (50, 0, [])
    assert result.requests == 8  # ceil(50 / 7)
    assert cf.kv.bulk_requests == 8  # type: ignore[attr-defined]
    assert_exact(cf.kv, recs)  # type: ignore[attr-defined]


def test_bulk_chunks_respect_byte_limit() -> None:
    recs = [KVRecord(f"k{i}", b"x" * 1000, None, None, i) for i in range(10)]
    chunks = list(bulk_chunks(recs, 0, max_pairs=100, max_bytes=3100))
    assert [len(c.records) for c, _ in chunks] == [3, 3, 3, 1]
    assert all(len(c.body(0)) <= 3100 for c, _ in chunks)
    assert [r.key for c, _ in chunks for r in c.records] == [r.key for r in recs]


def test_bulk_retries_unsuccessful_keys(cf: FakeCloudflare) -> None:
    recs = records(30)
    cf.kv.unsuccessful_once.update({recs[3].key, recs[17].key, recs[29].key})  # type: ignore[attr-defined]
    client = client_for(cf, RateLimiter(None, 1000, 300))
    sink = BulkSink(client, ACCOUNT_ID, NAMESPACE, sleep=lambda s: None)
    result = sink.write(recs)
    assert (result.written, result.failed) == (30, [])
    assert result.requests == 2
    assert_exact(cf.kv, recs)  # type: ignore[attr-defined]


def test_bulk_partial_random_unsuccessful(cf: FakeCloudflare) -> None:
    cf.kv.unsuccessful_rate = 0.3  # type: ignore[attr-defined]
    recs = records(200)
    client = client_for(cf, RateLimiter(None, 1000, 300))
    result = BulkSink(client, ACCOUNT_ID, NAMESPACE, sleep=lambda s: None, key_retries=20).write(recs)
    assert (result.written, result.failed) == (200, [])
    assert_exact(cf.kv, recs)  # type: ignore[attr-defined]


def test_bulk_keys_that_never_succeed_are_reported(cf: FakeCloudflare) -> None:
    cf.kv.unsuccessful_rate = 1.0  # type: ignore[attr-defined]
    recs = records(5)
    client = client_for(cf, RateLimiter(None, 1000, 300))
    result = BulkSink(client, ACCOUNT_ID, NAMESPACE, sleep=lambda s: None, key_retries=2).write(recs)
    assert result.written == 0
    assert sorted(f.key for f in result.failed) == sorted(r.key for r in recs)
    assert result.requests == 3


@pytest.mark.parametrize("fault", [
    Fault("status", path="/bulk", count=3, status=503),
    Fault("status", path="/bulk", count=2, status=502),
    Fault("reset", path="/bulk", count=3),
    Fault("slow", path="/bulk", count=2, delay=0.3),
    Fault("status", path="/bulk", count=1, status=429, headers={"Retry-After": "1"}),
])
def test_bulk_survives_faults(cf: FakeCloudflare, fault: Fault) -> None:
    cf.inject(fault)
    recs = records(40)
    client = client_for(cf, RateLimiter(None, 1000, 300))
    result = BulkSink(client, ACCOUNT_ID, NAMESPACE, max_pairs=15).write(recs)
    assert (result.written, result.failed) == (40, [])
    assert_exact(cf.kv, recs)  # type: ignore[attr-defined]


def test_expired_between_read_and_send_is_not_written(cf: FakeCloudflare) -> None:
    now = int(time.time() * 1000)
    recs = [KVRecord("dies", b"x", now + 1000, None, 1), KVRecord("lives", b"y", now + 120_000, None, 2)]
    client = client_for(cf, RateLimiter(None, 1000, 300))
    later = lambda: now + 5000  # noqa: E731 - the send happens 5 s after reading
    result = BulkSink(client, ACCOUNT_ID, NAMESPACE, clock_ms=later).write(recs)
    assert (result.written, result.expired) == (1, 1)
    assert set(cf.kv.live(NAMESPACE)) == {"lives"}  # type: ignore[attr-defined]
    result = PutSink(client, ACCOUNT_ID, NAMESPACE, clock_ms=later).write(recs)
    assert (result.written, result.expired) == (1, 1)


def test_put_sink_exact_state_with_metadata_and_odd_keys(cf: FakeCloudflare) -> None:
    client = client_for(cf, RateLimiter(200, 1000, 300))
    recs = records(40, meta=True) + [KVRecord("a b/c?d#e%f+g", b"odd", None, None, "x")]
    sink = PutSink(client, ACCOUNT_ID, NAMESPACE, workers=4)
    try:
        result = sink.write(recs)
    finally:
        sink.close()
    assert (result.written, result.failed, result.requests) == (41, [], 41)
    assert_exact(cf.kv, recs)  # type: ignore[attr-defined]
    multipart = [r for r in cf.log if r.method == "PUT" and r.headers.get("content-type", "").startswith("multipart/")]
    assert len(multipart) == 40
    by_path = {r.path.rsplit("/", 1)[1]: r for r in cf.log if "/values/" in r.path}
    assert "expiration_ttl" not in by_path["key%2F0%20%C3%A9%3F%25"].query  # no expiresAt -> no expiry
    assert 3590 <= int(by_path["key%2F1%20%C3%A9%3F%25"].query["expiration_ttl"]) <= 3601
    assert "a%20b%2Fc%3Fd%23e%25f%2Bg" in by_path


def test_put_sink_faults_and_failed_key(cf: FakeCloudflare) -> None:
    cf.inject(Fault("status", path="/values/", count=3, status=500))
    cf.inject(Fault("reset", path="/values/", count=2))
    recs = records(20)
    client = client_for(cf, RateLimiter(100, 1000, 300))
    sink = PutSink(client, ACCOUNT_ID, NAMESPACE, workers=3)
    bad = KVRecord("x" * 600, b"v", None, None, "too-long")  # the fake refuses it (414): reported, not fatal
    result = sink.write(recs + [bad])
    sink.close()
    assert result.written == 20
    assert [f.key for f in result.failed] == [bad.key]
    assert_exact(cf.kv, recs)  # type: ignore[attr-defined]


@pytest.mark.parametrize("token, namespace", [("wrong-token-xyz", NAMESPACE), (TOKEN, "unknown-namespace")])
def test_unusable_target_stops_the_run(cf: FakeCloudflare, token: str, namespace: str) -> None:
    client = client_for(cf, RateLimiter(None, 1000, 300), token=token)
    with pytest.raises(CutoverError) as err:
        BulkSink(client, ACCOUNT_ID, namespace).write(records(3))
    assert "wrong-token-xyz" not in str(err.value)
    with pytest.raises(CutoverError):
        PutSink(client, ACCOUNT_ID, namespace).write(records(3))


def test_paced_run_never_hits_the_limit() -> None:
    from tests.support import cf_kv

    fake = FakeCloudflare(window_limit=20, window_seconds=2.0, block_seconds=2.0)
    cf_kv.install(fake).create_namespace(NAMESPACE)
    with fake:
        # budget 18 per 2 s (10% headroom), as the command derives it; rate alone would allow 100/s
        limiter = RateLimiter(100, 18, padded_window(2.0))
        client = client_for(fake, limiter)
        recs = records(60)
        sink = PutSink(client, ACCOUNT_ID, NAMESPACE, workers=4)
        result = sink.write(recs)
        sink.close()
        assert (result.written, result.failed) == (60, [])
        assert fake.rate_limited == 0
        assert limiter.waited["window"] > 0  # the budget, not the rate, was the limit
        assert_exact(fake.kv, recs)  # type: ignore[attr-defined]


def test_unpaced_client_gets_blocked_then_waits_and_resends() -> None:
    from tests.support import cf_kv

    fake = FakeCloudflare(window_limit=5, window_seconds=1.0, block_seconds=1.0)
    cf_kv.install(fake).create_namespace(NAMESPACE)
    with fake:
        client = client_for(fake, RateLimiter(None, None, 1.0))
        sink = BulkSink(client, ACCOUNT_ID, NAMESPACE, max_pairs=2)
        recs = records(16)
        result = sink.write(recs)
        assert (result.written, result.failed) == (16, [])
        assert fake.rate_limited > 0  # proves this fake does enforce the limit the paced test stays under
        assert_exact(fake.kv, recs)  # type: ignore[attr-defined]


@pytest.mark.parametrize("sink_class", [BulkSink, PutSink])
def test_duplicate_keys_last_document_wins(cf: FakeCloudflare, sink_class: type) -> None:
    recs = [KVRecord("dup", f"v{i}".encode(), None, None, i) for i in range(30)] + [KVRecord("other", b"o", None, None, 99)]
    client = client_for(cf, RateLimiter(None, 1000, 300))
    sink = sink_class(client, ACCOUNT_ID, NAMESPACE)
    result = sink.write(recs)
    sink.close()
    assert (result.written, result.superseded) == (2, 29)
    assert cf.kv.live(NAMESPACE)["dup"].value == b"v29"  # type: ignore[attr-defined]


def test_put_sink_stops_when_the_network_is_gone(cf: FakeCloudflare) -> None:
    cf.inject(Fault("reset", path="/values/", count=1000))
    client = client_for(cf, RateLimiter(None, 1000, 300))
    sink = PutSink(client, ACCOUNT_ID, NAMESPACE, workers=2)
    with pytest.raises(CutoverError, match="failed"):
        sink.write(records(50))
    sink.close()
    assert len([r for r in cf.log if "/values/" in r.path]) < 50 * 5  # it did not grind through every key


class FakeClock:
    """Wall time that moves only when something sleeps: the client's retry waits, the limiter's."""

    def __init__(self) -> None:
        self.t = float(int(time.time()))

    def time(self) -> float:
        return self.t

    def ms(self) -> int:
        return int(self.t * 1000)

    def sleep(self, seconds: float) -> None:
        self.t += seconds


def clocked_peer(clock: FakeClock) -> FakeCloudflare:
    from tests.support import cf_kv

    fake = FakeCloudflare()
    cf_kv.install(fake, KVState(clock=clock.time)).create_namespace(NAMESPACE)
    return fake


@pytest.mark.parametrize("sink_class", [BulkSink, PutSink])
@pytest.mark.parametrize("fault", [
    Fault("status", count=1, status=429, headers={"Retry-After": "40"}),
    Fault("status", count=3, status=503, headers={"Retry-After": "15"}),
    Fault("reset", count=2),
    Fault("status", count=2, status=429, headers={"Retry-After": "300"}),  # Cloudflare's 5-minute block, twice
])
def test_every_attempt_carries_ttls_valid_when_it_is_sent(sink_class: type, fault: Fault) -> None:
    """The client's own retries and block waits resend: each attempt must be rebuilt with the TTLs
    of its moment (a TTL computed before a 5-minute block would outlive Mongo's expiry by 5 minutes)."""
    clock = FakeClock()
    fake = clocked_peer(clock)
    fake.inject(dataclasses.replace(fault, path="/bulk" if sink_class is BulkSink else "/values/"))
    now = clock.ms()
    recs = [KVRecord("dies-while-waiting", b"d", now + 10_000, None, 1),
            KVRecord("lives-an-hour", b"h", now + 3_600_000, None, 2),
            KVRecord("no-expiry", b"n", None, None, 3)]
    with fake:
        limiter = RateLimiter(None, 1000, 300, clock=clock.time, sleep=clock.sleep)
        client = HttpClient(fake.api_base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10, retries=4,
                            backoff_base=30, backoff_max=30, max_retry_after=60, pace=limiter, sleep=clock.sleep,
                            block_waits=3)
        extra = {"workers": 1} if sink_class is PutSink else {}
        sink = sink_class(client, ACCOUNT_ID, NAMESPACE, clock_ms=clock.ms, sleep=clock.sleep, **extra)
        if sink_class is PutSink:
            recs = recs[1:] + recs[:1]  # the retried PUT is the hour-long key's
        result = sink.write(recs)
        sink.close()
    assert clock.t * 1000 - now >= 15_000  # the faults did make it wait
    assert client.stats.blocks == (fault.count if fault.headers.get("Retry-After") == "300" else 0)
    assert (result.written, result.expired, result.failed) == (2, 1, [])
    live = fake.kv.live(NAMESPACE)  # type: ignore[attr-defined]
    assert "dies-while-waiting" not in fake.kv.ever_written  # type: ignore[attr-defined]
    assert live["no-expiry"].expiration is None
    # exact whatever the delay: never before Mongo's expiry, never a second after
    assert (now + 3_600_000) / 1000 <= live["lives-an-hour"].expiration <= (now + 3_600_000) / 1000 + 1


def test_pair_too_big_for_bulk_goes_by_single_put() -> None:
    """Control characters escape to six bytes each: a value well within KV's 25 MiB can make a
    bulk pair bigger than a bulk request may be. It must go by single-key PUT, not sink the run."""
    from tests.support import cf_kv

    fake = FakeCloudflare()
    kv = cf_kv.install(fake, KVState(max_bulk_bytes=40_000))
    kv.create_namespace(NAMESPACE)
    big = KVRecord("control-chars", b"\x01" * 10_000, None, '{"m":1}', 1)  # 60 KB as a JSON pair
    small = records(30)
    with fake:
        client = client_for(fake, RateLimiter(None, 1000, 300))
        sink = BulkSink(client, ACCOUNT_ID, NAMESPACE, max_bytes=38_000)
        result = sink.write(small[:10] + [big] + small[10:])
    assert (result.written, result.failed) == (31, [])
    assert kv.put_requests == 1 and kv.bulk_requests == 1
    assert_exact(kv, small + [big])


def test_real_size_control_character_value_is_written() -> None:
    """The issue's case at real scale: 20 MiB of control characters (a 126 MB bulk pair)."""
    from tests.support import cf_kv

    fake = FakeCloudflare()
    kv = cf_kv.install(fake)
    kv.create_namespace(NAMESPACE)
    big = KVRecord("huge", b"\x02" * (20 * 1024 * 1024), None, None, 1)
    with fake:
        client = client_for(fake, RateLimiter(None, 1000, 300))
        result = BulkSink(client, ACCOUNT_ID, NAMESPACE).write([big, *records(3)])
    assert (result.written, result.failed) == (4, [])
    assert kv.live(NAMESPACE)["huge"].value == big.value
    assert all(len(r.body) <= cf_kv.MAX_BULK_BYTES for r in fake.log)


def test_bulk_chunks_set_aside_pairs_too_big_for_any_request() -> None:
    recs = [KVRecord("a", b"x", None, None, 1), KVRecord("b", b"\x00" * 200, None, None, 2), KVRecord("c", b"y", None, None, 3)]
    chunks = list(bulk_chunks(recs, 0, max_pairs=100, max_bytes=500))
    assert [[r.key for r in c.records] for c, _ in chunks] == [["a", "c"]]
    assert [r.key for c, _ in chunks for r in c.single] == ["b"]


@pytest.mark.parametrize("key, value", [
    ("plain", b"v"), ('q"uo\\te', b'"\\\x00\x1f\x7f'), ("é😀\u2028", "line\u2029sep é😀".encode()), ("bin", b"\xff\xfe\x00"),
])
@pytest.mark.parametrize("ttl, metadata", [(None, None), (60, '{"m":[1,"x"]}'), (86_400, None)])
def test_bulk_pair_is_the_json_the_api_takes(key: str, value: bytes, ttl: Any, metadata: Any) -> None:
    import base64

    pair = json.loads(bulk_pair(KVRecord(key, value, None, metadata, 1), ttl))
    assert pair["key"] == key
    stored = base64.b64decode(pair["value"]) if pair.get("base64") else pair["value"].encode("utf-8")
    assert stored == value
    assert pair.get("expiration_ttl") == ttl and ("expiration_ttl" in pair) == (ttl is not None)
    assert pair.get("metadata") == (None if metadata is None else json.loads(metadata))
    if ttl is None:  # the request body holds the same pair
        (chunk, _), = bulk_chunks([KVRecord(key, value, None, metadata, 1)], 0)
        assert json.loads(chunk.body(0)) == [pair]
