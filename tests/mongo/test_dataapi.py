"""`dataapi:` source against a local server speaking the Data API v1 protocol."""
from __future__ import annotations

import json
import random
from typing import Iterator

import pytest

from cutover.core.http import HttpClient
from cutover.errors import ConfigError, CutoverError
from cutover.mongo import ejson, open_source
from cutover.mongo.base import ScanOptions, SourceIncomplete
from cutover.mongo.dataapi import DataApiSource, after_filter
from cutover.mongo.values import DateTime, Int64, ObjectId
from tests.support.dataapi_server import FakeDataApi
from tests.support.ejson_oracle import comparable, to_pymongo
from tests.support.httpserver import Fault

KEY = "test-data-api-key-0123456789"
ENV = {"MONGODB_DATA_API_KEY": KEY}
DS, DB = "Cluster0", "bot"


def oid(i: int) -> ObjectId:
    return ObjectId((0x65000000 + i).to_bytes(4, "big") + (i * 7919).to_bytes(8, "big"))


def session(i: int) -> dict:
    return {"_id": oid(i), "key": f"chat:{i}", "value": {"n": Int64(i)}, "updatedAt": DateTime(1_700_000_000_000 + i)}


@pytest.fixture()
def server() -> Iterator[FakeDataApi]:
    with FakeDataApi(api_keys=(KEY,), tokens=("access-token-abcdef",)) as fake:
        yield fake


def load(server: FakeDataApi, collection: str, docs: list) -> None:
    server.insert(DS, DB, collection, [to_pymongo(d) for d in docs])


def source(server: FakeDataApi, page_size: int = 1000, env: dict = ENV, **client) -> DataApiSource:
    if client:
        return DataApiSource(server.endpoint, database=DB, data_source=DS, page_size=page_size, environ=env,
                             client=HttpClient(server.endpoint, sleep=lambda s: None, **client))
    return open_source(f"dataapi:{server.endpoint}", database=DB, data_source=DS, page_size=page_size, environ=env)  # type: ignore[return-value]


def finds(server: FakeDataApi) -> list:
    return [r.json() for r in server.log if r.path.endswith("/action/find")]


def test_pages_by_id_range_across_several_pages(server: FakeDataApi) -> None:
    docs = [session(i) for i in range(2500)]
    load(server, "kv_sessions", list(reversed(docs)))  # stored out of order: the sort does the work
    src = source(server)
    batches = list(src.scan("kv_sessions"))
    assert [len(b) for b in batches] == [1000, 1000, 500]
    assert [d for b in batches for d in b] == docs
    bodies = finds(server)
    assert len(bodies) == 4  # only an empty page ends a scan (a short one may be a gateway's cap)
    for body in bodies:
        assert body["sort"] == {"_id": 1} and body["limit"] == 1000 and "skip" not in body
        assert (body["dataSource"], body["database"], body["collection"]) == (DS, DB, "kv_sessions")
    assert bodies[0]["filter"] == {}
    assert bodies[1]["filter"]["$or"][0] == {"_id": {"$gt": {"$oid": docs[999]["_id"].hex}}}
    request = [r for r in server.log if r.path.endswith("/action/find")][0]
    assert request.headers["apikey"] == KEY
    assert request.headers["accept"] == "application/ejson"
    assert request.headers["content-type"] == "application/ejson"


def test_exact_multiple_of_the_page_ends_on_an_empty_page(server: FakeDataApi) -> None:
    load(server, "c", [session(i) for i in range(6)])
    assert [len(b) for b in source(server, page_size=3).scan("c")] == [3, 3]
    assert len(finds(server)) == 3


def test_resume_after_an_id(server: FakeDataApi) -> None:
    docs = [session(i) for i in range(30)]
    load(server, "c", docs)
    src = source(server, page_size=7)
    first = next(iter(src.scan("c")))
    rest = [d for b in src.scan("c", ScanOptions(after_id=first[-1]["_id"])) for d in b]
    assert first + rest == docs
    assert src.count("c", ScanOptions(after_id=first[-1]["_id"])) == 23


def test_mixed_id_types_are_all_read_in_mongodb_order(server: FakeDataApi) -> None:
    ids = [3, Int64(1), 2.5, "b", "a", oid(1), oid(0), DateTime(5), True, "c", 10]
    load(server, "c", [{"_id": i, "x": 1} for i in ids])
    got = [d["_id"] for b in source(server, page_size=2).scan("c") for d in b]
    assert comparable(got) == comparable([Int64(1), 2.5, 3, 10, "a", "b", "c", oid(0), oid(1), True, DateTime(5)])


def test_since_filter_and_projection_are_sent_to_the_server(server: FakeDataApi) -> None:
    docs = [session(i) for i in range(20)] + [{"_id": oid(99), "updatedAt": "2030-01-01"}]
    load(server, "c", docs)
    src = source(server, page_size=4)
    since = DateTime(1_700_000_000_000 + 15)
    got = [d for b in src.scan("c", ScanOptions(since=since)) for d in b]
    assert got == docs[15:20]
    assert finds(server)[0]["filter"] == {"updatedAt": {"$gte": {"$date": since.iso()}}}
    assert src.count("c", ScanOptions(since=since)) == 5
    slim = [d for b in src.scan("c", ScanOptions(since=since, projection={"_id": 0, "key": 1})) for d in b]
    assert slim == [{"key": f"chat:{i}"} for i in range(15, 20)]


def test_count_uses_aggregate(server: FakeDataApi) -> None:
    load(server, "c", [session(i) for i in range(12)])
    src = source(server)
    assert src.count("c") == 12
    assert src.count("empty") == 0


def test_bearer_token_from_the_same_variable(server: FakeDataApi) -> None:
    load(server, "c", [session(0)])
    src = source(server, env={"MONGODB_DATA_API_KEY": "Bearer access-token-abcdef"})
    assert [d for b in src.scan("c") for d in b] == [session(0)]
    request = server.log[-1]
    assert request.headers["authorization"] == "Bearer access-token-abcdef" and "apikey" not in request.headers


def test_wrong_key_is_one_clear_line_without_the_key(server: FakeDataApi) -> None:
    src = source(server, env={"MONGODB_DATA_API_KEY": "wrong-key-9876543210"})
    with pytest.raises(CutoverError) as info:
        list(src.scan("c"))
    message = str(info.value)
    assert "HTTP 401 InvalidSession: invalid session: error finding user for endpoint" in message
    assert "check MONGODB_DATA_API_KEY" in message
    assert "wrong-key-9876543210" not in message and "\n" not in message


def test_missing_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="MONGODB_DATA_API_KEY is not set"):
        open_source("dataapi:https://data.example.com/app/x/endpoint/data/v1", database=DB, data_source=DS, environ={})


def test_server_side_error_body_is_surfaced(server: FakeDataApi) -> None:
    load(server, "c", [session(0)])
    src = source(server)
    with pytest.raises(CutoverError, match=r"HTTP 400 InvalidParameter: limit must be a number between 0 and 50000 \(log: https://"):
        src.call("find", "c", {"filter": {}, "limit": 60000})
    with pytest.raises(CutoverError, match="HTTP 400 InvalidParameter: unknown operator: \\$where"):
        src.call("find", "c", {"filter": {"a": {"$where": "1"}}})


def test_page_size_limits(server: FakeDataApi) -> None:
    for bad in (0, 50_001):
        with pytest.raises(ConfigError, match="outside 1..50000"):
            source(server, page_size=bad)
    load(server, "c", [session(i) for i in range(3)])
    assert [len(b) for b in source(server, page_size=50_000).scan("c")] == [3]
    assert finds(server)[0]["limit"] == 50_000


def test_429_is_retried_with_retry_after(server: FakeDataApi) -> None:
    load(server, "c", [session(i) for i in range(5)])
    server.inject(Fault("status", path="/action/find", count=2, status=429, headers={"Retry-After": "0"},
                        body=b'{"error":"rate limit exceeded","error_code":"TooManyRequests"}'))
    src = source(server, page_size=2, retries=3)
    assert [d for b in src.scan("c") for d in b] == [session(i) for i in range(5)]
    assert src.client.stats.throttled == 2


def test_persistent_5xx_ends_with_one_line(server: FakeDataApi) -> None:
    server.inject(Fault("status", path="/action/find", count=10, status=503, headers={"Retry-After": "0"},
                        body=b'{"error":"service unavailable","error_code":"InternalServerError"}'))
    src = source(server, retries=2)
    with pytest.raises(CutoverError, match="HTTP 503 InternalServerError: service unavailable"):
        list(src.scan("c"))
    assert src.client.stats.requests == 3


def test_connection_reset_is_retried(server: FakeDataApi) -> None:
    load(server, "c", [session(0)])
    server.inject(Fault("reset", path="/action/find", count=1))
    assert [d for b in source(server, retries=2).scan("c") for d in b] == [session(0)]


def test_non_ejson_response_is_reported(server: FakeDataApi) -> None:
    server.inject(Fault("status", path="/action/find", status=200, body=b"<html>maintenance</html>"))
    with pytest.raises(CutoverError, match="response is not Extended JSON.*maintenance"):
        list(source(server).scan("c"))


def test_unsafe_endpoints_are_refused() -> None:
    for spec, message in (
        ("dataapi:http://data.example.com/app/x/endpoint/data/v1", "refusing plain http"),
        ("dataapi:https://user:pw@data.example.com/app/x", "must not carry credentials"),
        ("dataapi:https://data.example.com/app/x?apiKey=1", "must not carry credentials"),
        ("dataapi:ftp://x", "http\\(s\\) URL"),
    ):
        with pytest.raises(ConfigError, match=message):
            open_source(spec, database=DB, data_source=DS, environ=ENV)
    with pytest.raises(ConfigError, match="data_source"):
        open_source("dataapi:https://data.example.com/app/x/endpoint/data/v1", database=DB, environ=ENV)


def test_after_filter_covers_later_types() -> None:
    later = after_filter("x")["$or"][1]["_id"]["$type"]
    assert "objectId" in later and "date" in later and "maxKey" in later
    assert "string" not in later and "int" not in later and "null" not in later
    assert after_filter(None)["$or"][1]["_id"]["$type"][:4] == ["int", "long", "double", "decimal"]
    assert json.loads(ejson.dumps(after_filter(oid(1)), relaxed=True))["$or"][0] == {"_id": {"$gt": {"$oid": oid(1).hex}}}


# -- gateways that misbehave: short pages, ignored sort, lost pages --------------------------


@pytest.mark.parametrize(("cap", "total"), [(100, 1000), (7, 60)])
def test_short_pages_do_not_end_the_scan(server: FakeDataApi, cap: int, total: int) -> None:
    docs = [session(i) for i in range(total)]
    load(server, "c", docs)
    server.page_cap = cap  # the gateway serves `cap` documents whatever `limit` says
    got = [d for b in source(server).scan("c") for d in b]
    assert got == docs
    assert finds(server)[-1]["filter"] != {}  # it went on until an empty page


def test_a_gateway_that_ignores_sort_is_refused_in_one_line(server: FakeDataApi) -> None:
    docs = [session(i) for i in range(50)]
    stored = list(docs)
    random.Random(7).shuffle(stored)  # storage order is not _id order
    load(server, "c", stored)
    server.ignore_sort = True
    with pytest.raises(CutoverError) as info:
        list(source(server, page_size=10).scan("c"))
    message = str(info.value)
    assert "\n" not in message and "_id" in message and "sort" in message


def test_a_lost_page_fails_loudly_after_the_scan(server: FakeDataApi) -> None:
    docs = [session(i) for i in range(40)]
    load(server, "c", docs)
    server.lost_ids = [to_pymongo(d["_id"]) for d in docs[10:20]]
    seen = []
    with pytest.raises(CutoverError) as info:
        for batch in source(server, page_size=10).scan("c"):
            seen.extend(batch)
    assert len(seen) == 30  # everything that came was handed on before the failure
    message = str(info.value)
    assert "40" in message and "30" in message and "\n" not in message


def test_count_check_follows_since_and_resume(server: FakeDataApi) -> None:
    docs = [session(i) for i in range(40)]
    load(server, "c", docs)
    src = source(server, page_size=6)
    since = DateTime(1_700_000_000_000 + 5)
    assert len([d for b in src.scan("c", ScanOptions(since=since, after_id=docs[9]["_id"])) for d in b]) == 30
    server.lost_ids = [to_pymongo(docs[30]["_id"])]
    with pytest.raises(CutoverError, match="29"):
        list(src.scan("c", ScanOptions(since=since, after_id=docs[9]["_id"])))


def test_ignored_sort_in_runs_that_look_sorted_is_still_caught_by_the_count(server: FakeDataApi) -> None:
    docs = [session(i) for i in range(50)]
    load(server, "c", docs[25:] + docs[:25])  # each page looks sorted; the first 25 are never reached
    server.ignore_sort = True
    with pytest.raises(CutoverError, match="counts 50 .* returned 25"):
        list(source(server, page_size=10).scan("c"))


def test_a_live_source_has_no_fingerprint_so_a_resume_cannot_rest_on_one(server: FakeDataApi) -> None:
    load(server, "c", [session(i) for i in range(3)])
    assert source(server).fingerprint("c") is None


def test_a_resume_that_knows_what_earlier_runs_read_counts_from_the_start(server: FakeDataApi) -> None:
    docs = [session(i) for i in range(40)]
    load(server, "c", docs[1:])  # docs[0] sorts first: it is added behind the position later
    src = source(server, page_size=7)
    position = ScanOptions(after_id=docs[20]["_id"], read_before=20)  # docs[1..20] read by the run before
    assert len([d for b in src.scan("c", position) for d in b]) == 19
    load(server, "c", docs[:1])
    with pytest.raises(SourceIncomplete, match=r"counts 40 .* returned 39 \(20 of them in the runs before") as info:
        list(src.scan("c", position))
    assert (info.value.counted, info.value.scanned) == (40, 39)
    # without what the earlier runs read, only this run's range is counted: the addition goes unseen
    assert len([d for b in src.scan("c", ScanOptions(after_id=docs[20]["_id"])) for d in b]) == 19
    # nothing left after the position: the count still covers the start
    with pytest.raises(SourceIncomplete, match="counts 40"):
        list(src.scan("c", ScanOptions(after_id=docs[39]["_id"], read_before=39)))


def test_a_document_added_behind_the_scan_between_two_pages_is_found_missing(server: FakeDataApi) -> None:
    docs = [session(i) for i in range(30)]
    load(server, "c", docs[1:])
    server.page_cap = 4  # a gateway that pages short
    server.after_find[2] = lambda: load(server, "c", docs[:1])
    with pytest.raises(SourceIncomplete, match="counts 30 .* returned 29"):
        list(source(server, page_size=10).scan("c"))
