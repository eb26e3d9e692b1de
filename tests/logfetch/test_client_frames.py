"""The query client and the frame walk against the local Cloudflare fake (documented shapes)."""
from __future__ import annotations

from typing import Any, Dict, List

import pytest

from cutover.core.http import HttpClient
from cutover.core.ratelimit import RateLimiter, padded_window
from cutover.errors import ConfigError, CutoverError
from cutover.logfetch.client import TelemetryClient
from cutover.logfetch.frames import BoundaryDedup, FrameWalker
from cutover.logfetch.query import MAX_LIMIT, script_filter, soak_filter
from tests.support import cf_telemetry
from tests.support.cf_telemetry import make_row
from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare
from tests.support.httpserver import Fault

T0 = 1_795_802_400_000  # 2026-11-27T18:00:00Z


def client_for(fake: FakeCloudflare, limit: int = 10, filters: Any = None, **http_kw: Any) -> TelemetryClient:
    http = HttpClient(fake.api_base, headers={"Authorization": f"Bearer {TOKEN}"}, backoff_base=0.01, **http_kw)
    return TelemetryClient(http, ACCOUNT_ID, filters if filters is not None else [script_filter("bot")], limit)


def timing(ts: int, i: int, cold: bool = False, script: str = "bot") -> Dict[str, Any]:
    src = {"event": "cmd_timing", "cmd": "/start", "durationMs": float(i), "cold": cold}
    return make_row(ts, src, script=script, request_id=f"r{i}", row_id=f"id-{i}")


def walk_all(client: TelemetryClient, a: int, b: int, width: int) -> tuple:
    walker = FrameWalker(client.query, client.limit, width)
    dedup = BoundaryDedup()
    rows: List[Dict[str, Any]] = []
    leaves = []
    for leaf in walker.walk(a, b):
        leaves.append(leaf)
        rows.extend(dedup.fresh(leaf))
    return rows, leaves, walker, dedup


def test_request_body_follows_the_api_reference(cf: FakeCloudflare, store: cf_telemetry.TelemetryStore) -> None:
    store.add([timing(T0 + 5, 1)])
    page = client_for(cf, limit=50).query(T0, T0 + 1000)
    assert [r["$metadata"]["id"] for r in page.rows] == ["id-1"]
    body = store.queries[0]
    assert body["queryId"] and body["view"] == "events" and body["dry"] is True
    assert body["timeframe"] == {"from": T0, "to": T0 + 1000}
    assert body["limit"] == 50 and body["parameters"]["limit"] == 50
    assert body["parameters"]["filters"] == [
        {"key": "$workers.scriptName", "operation": "eq", "type": "string", "value": "bot"}
    ]
    assert "offset" not in body
    request = cf.log[-1]
    assert request.method == "POST"
    assert request.path.endswith(f"/accounts/{ACCOUNT_ID}/workers/observability/telemetry/query")


def test_truncated_page_splits_the_frame_and_nothing_is_dropped(
    cf: FakeCloudflare, store: cf_telemetry.TelemetryStore
) -> None:
    # 95 rows in one minute, pages of 10: the walker must split until every frame fits.
    store.add([timing(T0 + i * 600, i) for i in range(95)])
    store.add([timing(T0 + 10, 900, script="other")])  # another Worker: filtered out by the API
    client = client_for(cf, limit=10)
    rows, leaves, walker, dedup = walk_all(client, T0, T0 + 60_000, 60_000)
    ids = [r["$metadata"]["id"] for r in rows]
    assert sorted(ids) == sorted(f"id-{i}" for i in range(95))
    assert len(ids) == len(set(ids))
    assert walker.stats.splits > 0
    assert all(len(leaf.rows) < 10 and leaf.gap is None for leaf in leaves)
    # written oldest first, frames in time order
    times = [r["timestamp"] for r in rows]
    assert times == sorted(times)


def test_rows_on_a_frame_boundary_are_written_once(cf: FakeCloudflare, store: cf_telemetry.TelemetryStore) -> None:
    # The fake treats both ends as inclusive: a row at exactly the split point comes back twice.
    store.add([timing(T0 + 30_000, i) for i in range(6)] + [timing(T0 + i, 100 + i) for i in range(6)])
    rows, leaves, walker, dedup = walk_all(client_for(cf, limit=8), T0, T0 + 60_000, 30_000)
    ids = [r["$metadata"]["id"] for r in rows]
    assert len(ids) == 12 == len(set(ids))
    assert dedup.skipped >= 6


def test_more_rows_than_the_limit_in_one_millisecond_use_the_cursor(
    cf: FakeCloudflare, store: cf_telemetry.TelemetryStore
) -> None:
    store.add([timing(T0 + 1000, i) for i in range(25)])
    rows, leaves, walker, _ = walk_all(client_for(cf, limit=10), T0, T0 + 4000, 4000)
    assert sorted(r["$metadata"]["id"] for r in rows) == sorted(f"id-{i}" for i in range(25))
    assert walker.stats.cursor_pages >= 2
    cursor_bodies = [q for q in store.queries if "offset" in q]
    assert cursor_bodies and all(q["offsetDirection"] == "next" for q in cursor_bodies)
    assert all(leaf.gap is None for leaf in leaves)


def test_an_empty_time_frame_gives_no_rows(cf: FakeCloudflare, store: cf_telemetry.TelemetryStore) -> None:
    client = client_for(cf)
    assert client.query(T0, T0 + 60_000).rows == []
    store.omit_empty_events = True  # a result without any `events` object is an empty frame too
    rows, leaves, walker, _ = walk_all(client, T0, T0 + 3_600_000, 600_000)
    assert rows == [] and leaves and walker.stats.splits == 0


def test_sparse_frames_widen_and_dense_frames_narrow(cf: FakeCloudflare, store: cf_telemetry.TelemetryStore) -> None:
    store.add([timing(T0 + 7_000_000 + i, i) for i in range(40)])
    client = client_for(cf, limit=10)
    rows, leaves, walker, _ = walk_all(client, T0, T0 + 8 * 3_600_000, 600_000)
    assert len(rows) == 40
    widths = {(q["timeframe"]["from"], q["timeframe"]["to"] - q["timeframe"]["from"]) for q in store.queries}
    assert (T0 + 7_200_000, 300_000) in widths  # narrower right after the dense frame
    assert (T0 + 7_500_000, 600_000) in widths  # and wide again once rows are sparse


def test_429_is_retried_after_retry_after(cf: FakeCloudflare, store: cf_telemetry.TelemetryStore) -> None:
    store.add([timing(T0 + 1, 1)])
    cf.inject(Fault("status", path="telemetry/query", status=429, headers={"Retry-After": "0"}, count=2))
    client = client_for(cf)
    assert len(client.query(T0, T0 + 10).rows) == 1
    assert client.http.stats.throttled == 2


def test_global_rate_limit_block_is_waited_out() -> None:
    fake = FakeCloudflare(window_limit=3, window_seconds=1.0, block_seconds=1.0).start()
    try:
        store = cf_telemetry.install(fake)
        store.add([timing(T0 + i * 1000, i) for i in range(5)])
        client = client_for(fake, limit=100)
        for i in range(5):
            assert len(client.query(T0 + i * 1000, T0 + i * 1000).rows) == 1
        assert fake.rate_limited >= 1 and client.http.stats.throttled >= 1
    finally:
        fake.stop()


def test_shared_limiter_keeps_under_the_budget() -> None:
    fake = FakeCloudflare(window_limit=3, window_seconds=1.0, block_seconds=5.0).start()
    try:
        cf_telemetry.install(fake)
        # the limiter takes a slot a moment before the server counts the request: pad the window as
        # the commands do (1 s; 0.3 s was less than a request can be delayed on a loaded machine)
        limiter = RateLimiter(window_limit=3, window_seconds=padded_window(1.0))
        client = client_for(fake, pace=limiter)
        for i in range(7):
            client.query(T0 + i, T0 + i)
        assert fake.rate_limited == 0
        assert limiter.waited["window"] > 0
    finally:
        fake.stop()


def test_bad_token_names_the_permission(cf: FakeCloudflare, store: cf_telemetry.TelemetryStore) -> None:
    http = HttpClient(cf.api_base, headers={"Authorization": "Bearer wrong-token-123"})
    client = TelemetryClient(http, ACCOUNT_ID, [script_filter("bot")], 10)
    with pytest.raises(ConfigError, match="Workers Observability Read") as info:
        client.query(T0, T0 + 1)
    assert "wrong-token-123" not in str(info.value)


def test_refused_query_shows_cloudflare_errors(cf: FakeCloudflare, store: cf_telemetry.TelemetryStore) -> None:
    client = client_for(cf, limit=MAX_LIMIT + 1)
    with pytest.raises(CutoverError, match="HTTP 400.*limit must be"):
        client.query(T0, T0 + 1)


def test_soak_filter_selects_what_analyze_soak_counts(cf: FakeCloudflare, store: cf_telemetry.TelemetryStore) -> None:
    store.add([
        timing(T0 + 1, 1),
        make_row(T0 + 2, {"event": "dual_write_secondary_failure", "store": "kv"}, row_id="dw"),
        make_row(T0 + 3, "MongoServerSelectionError: connection timed out", row_id="mongo"),
        make_row(T0 + 4, "dual-write to KV failed: 500", row_id="dwtext"),
        make_row(T0 + 5, "handled update 42", row_id="noise"),
        make_row(T0 + 6, {"event": "other"}, row_id="noise2"),
        make_row(T0 + 7, "ran", row_id="cpu", outcome="exceededCpu"),
    ])
    client = client_for(cf, limit=100, filters=[script_filter("bot"), soak_filter()])
    ids = {r["$metadata"]["id"] for r in client.query(T0, T0 + 10).rows}
    assert ids == {"id-1", "dw", "mongo", "dwtext", "cpu"}


def test_event_filter_matches_objects_and_json_strings(cf: FakeCloudflare, store: cf_telemetry.TelemetryStore) -> None:
    from cutover.logfetch.query import events_filter

    store.add([
        timing(T0 + 1, 1),
        make_row(T0 + 2, '{"event": "cmd_timing", "cmd": "/help", "durationMs": 3}', row_id="as-text"),
        make_row(T0 + 3, '{"event":"cmd_timing_other"}', row_id="other-name"),
        make_row(T0 + 4, {"event": "request"}, row_id="req"),
    ])
    client = client_for(cf, limit=100, filters=[script_filter("bot"), events_filter(["cmd_timing"])])
    assert {r["$metadata"]["id"] for r in client.query(T0, T0 + 10).rows} == {"id-1", "as-text"}
