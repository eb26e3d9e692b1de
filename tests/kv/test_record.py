"""Document -> KV record: TTL at send time, expiry, key/value/metadata limits."""
from __future__ import annotations

from typing import Any

import pytest

from cutover.kv.record import (
    EXPIRED,
    MAX_VALUE_BYTES,
    Expired,
    Invalid,
    KVRecord,
    ModuleSpec,
    expiration_ttl_at_send,
    map_document,
)
from cutover.mongo import values as v

NOW = 1_800_000_000_000
SPEC = ModuleSpec("sessions", "kv_sessions", "ns", metadata_field="meta")


@pytest.mark.parametrize(
    "expires_at_ms, expected",
    [
        (None, None),
        (NOW, EXPIRED),  # expiring exactly now is dead
        (NOW - 1, EXPIRED),
        (NOW - 86_400_000, EXPIRED),
        (NOW + 1, 60),  # raised to KV's minimum
        (NOW + 59_999, 60),
        (NOW + 60_000, 60),
        (NOW + 60_001, 61),  # rounded up: never expire before Mongo does
        (NOW + 3_600_000, 3600),
        (NOW + 3_600_000 + 999, 3601),
    ],
)
def test_expiration_ttl_at_send(expires_at_ms: int | None, expected: int | None) -> None:
    assert expiration_ttl_at_send(expires_at_ms, NOW) == expected


def doc(**fields: Any) -> dict:
    return {"_id": v.ObjectId(b"\x01" * 12), **fields}


@pytest.mark.parametrize(
    "document, expected",
    [
        (doc(value="plain text"), KVRecord("010101010101010101010101", b"plain text", None, None, v.ObjectId(b"\x01" * 12))),
        ({"_id": "user:1", "value": {"n": 1.0, "at": v.DateTime(0)}}, KVRecord("user:1", b'{"n":1,"at":"1970-01-01T00:00:00.000Z"}', None, None, "user:1")),
        ({"_id": 7, "value": [1, None], "expiresAt": v.DateTime(NOW + 5000)}, KVRecord("7", b"[1,null]", NOW + 5000, None, 7)),
        ({"_id": "k", "value": None}, KVRecord("k", b"null", None, None, "k")),
        ({"_id": "k", "value": v.Binary(b"\xff\x00", 0)}, KVRecord("k", b"\xff\x00", None, None, "k")),
        ({"_id": "k", "value": "x", "meta": {"v": 2}}, KVRecord("k", b"x", None, '{"v":2}', "k")),
        ({"_id": "k", "value": "lone \ud800"}, KVRecord("k", "lone \ufffd".encode(), None, None, "k")),
        ({"_id": "k", "value": "x", "expiresAt": v.DateTime(NOW)}, Expired("k", "k")),
        ({"_id": "k", "value": "x", "expiresAt": v.DateTime(NOW - 1)}, Expired("k", "k")),
    ],
)
def test_map_document(document: dict, expected: Any) -> None:
    assert map_document(document, SPEC, NOW) == expected


@pytest.mark.parametrize(
    "document, reason",
    [
        ({"value": "x"}, "key_missing"),
        ({"_id": None, "value": "x"}, "key_missing"),
        ({"_id": {"a": 1}, "value": "x"}, "key_type"),
        ({"_id": "", "value": "x"}, "key_empty"),
        ({"_id": ".", "value": "x"}, "key_dot"),
        ({"_id": "..", "value": "x"}, "key_dot"),
        ({"_id": "é" * 257, "value": "x"}, "key_too_long"),  # 514 bytes
        ({"_id": "bad\udc00", "value": "x"}, "key_encoding"),
        ({"_id": "k"}, "value_missing"),
        ({"_id": "k", "value": "x" * (MAX_VALUE_BYTES + 1)}, "value_too_large"),
        ({"_id": "k", "value": "x", "meta": {"m": "y" * 1020}}, "metadata_too_large"),
        ({"_id": "k", "value": "x", "expiresAt": "2030-01-01"}, "expires_type"),
    ],
)
def test_invalid_documents(document: dict, reason: str) -> None:
    mapped = map_document(document, SPEC, NOW)
    assert isinstance(mapped, Invalid)
    assert mapped.reason == reason


def test_limits_are_inclusive() -> None:
    assert isinstance(map_document({"_id": "k" * 512, "value": "x" * MAX_VALUE_BYTES}, SPEC, NOW), KVRecord)
    meta = {"m": "y" * (1024 - len('{"m":""}'))}
    assert isinstance(map_document({"_id": "k", "value": "x", "meta": meta}, SPEC, NOW), KVRecord)


def test_dotted_fields_and_surrogate_pair_keys() -> None:
    spec = ModuleSpec("m", "c", "ns", key_field="k.id", value_field="body.v", expires_field="body.exp")
    mapped = map_document({"_id": 1, "k": {"id": "\ud83d\ude00"}, "body": {"v": 2, "exp": v.DateTime(NOW + 61_000)}}, spec, NOW)
    assert mapped == KVRecord("\U0001f600", b"2", NOW + 61_000, None, 1)
