"""The native source and the export source yield identical documents for the same data,
and the native BSON decoder agrees with the EJSON decoder on every bson-corpus vector."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from bson import json_util
from bson.binary import Binary
from bson.datetime_ms import DatetimeMS
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

from cutover.mongo import ejson, open_source
from cutover.mongo.base import ScanOptions
from cutover.mongo.native import bson as native_bson
from tests.mongo.native.conftest import PASSWORD, uri_for
from tests.support.mongo_server import MongoTestServer, ScramUser
from tests.support.pymongo_compat import OPTIONS, key
from tests.support.tools import shared_testdata


def _varied_documents() -> list[dict]:
    docs = []
    for i in range(30):
        docs.append(
            {
                "_id": ObjectId(bytes.fromhex(f"{0x66000000 + i:08x}") + bytes(8)),
                "chatId": Int64(10_000_000_000 + i),
                "count": i,
                "ratio": i / 7,
                "price": Decimal128(f"{i}.10"),
                "expiresAt": DatetimeMS(1_900_000_000_000 + i),
                "tags": ["a", {"deep": [i, None, True]}],
                "blob": Binary(bytes([i]) * 3, 0),
                "uuid": Binary(bytes(range(16)), 4),
                "pattern": Regex("^x", "i"),
                "ts": Timestamp(1_700_000_000, i),
                "text": "héllo \u2603 \U0001f600",
            }
        )
    docs.append({"_id": "kv:key", "value": {"nested": "string _id"}})
    return docs


@pytest.mark.parametrize("mode", ["canonical", "relaxed"])
def test_native_scan_equals_export_scan(tmp_path: Path, certs: dict, mode: str) -> None:
    docs = _varied_documents()
    users = [ScramUser.create("reader", PASSWORD)]
    with MongoTestServer(users=users, data={"bot": {"kv_sessions": docs}}, tls=certs["good"]) as server:
        options = json_util.CANONICAL_JSON_OPTIONS if mode == "canonical" else json_util.RELAXED_JSON_OPTIONS
        # mongoexport writes in natural order; write it in _id order as the server sorts, string before ObjectId.
        ordered = [docs[-1], *docs[:-1]]
        (tmp_path / "kv_sessions.json").write_text("".join(json_util.dumps(d, json_options=options) + "\n" for d in ordered))
        env = {"MONGODB_URI": uri_for(server, certs["good"][0])}
        with open_source("mongodb://", database="bot", environ=env) as native, open_source(
            f"export:{tmp_path}", database="bot"
        ) as export:
            from_native = list(native.documents("kv_sessions", ScanOptions(batch_size=7)))
            from_export = list(export.documents("kv_sessions"))
    assert len(from_native) == 31
    if mode == "relaxed":
        # Relaxed Extended JSON writes an int64 that fits in a double as a plain number (mongoexport
        # --jsonFormat=relaxed does the same), so only the numeric type may differ.
        from_native = _int64_as_int(from_native)
    assert key(from_native) == key(from_export)


def _int64_as_int(value):
    from cutover.mongo.values import Int64 as OurInt64

    if isinstance(value, OurInt64):
        return int(value)
    if isinstance(value, dict):
        return {k: _int64_as_int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_int64_as_int(v) for v in value]
    return value


def _valid_cases():
    root = shared_testdata("bson-corpus")
    for path in sorted(root.glob("*.json")):
        spec = json.loads(path.read_text())
        for case in spec.get("valid", []):
            yield path.stem, case


def test_native_bson_and_ejson_decoders_agree_on_the_corpus() -> None:
    differences = []
    checked = 0
    for name, case in _valid_cases():
        if case.get("lossy"):
            continue
        from_bson = native_bson.decode(bytes.fromhex(case["canonical_bson"]))
        try:
            from_json = ejson.loads_document(case["canonical_extjson"])
        except Exception as exc:  # a decoder difference to report, not to hide
            differences.append(f"{name}: {case['description']}: ejson raised {exc}")
            continue
        checked += 1
        if key(from_bson) != key(from_json):
            differences.append(f"{name}: {case['description']}: {from_bson!r} != {from_json!r}")
    assert checked > 600
    assert differences == []


def test_pymongo_view_of_the_server_matches_native(certs: dict) -> None:
    # The documents the server holds, decoded by pymongo's own reader, equal what our driver yields.
    import bson

    docs = _varied_documents()
    with MongoTestServer(data={"bot": {"c": docs}}, tls=certs["good"]) as server:
        uri = f"mongodb://{server.address}/bot?tls=true&tlsCAFile={certs['good'][0]}"
        with open_source(uri, database="bot") as native:
            got = list(native.documents("c"))
    from tests.support.pymongo_compat import from_pymongo

    expected = [from_pymongo(bson.decode(bson.encode(d), OPTIONS)) for d in [docs[-1], *docs[:-1]]]
    assert key(got) == key(expected)
