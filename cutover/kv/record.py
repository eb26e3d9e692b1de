"""Mongo document -> KV record `(key, value, ttl, metadata)`: pure functions, Cloudflare's limits.

TTLs are not fixed here: a record keeps its absolute expiry and the sink turns it into
`expiration_ttl` at the moment the write is sent (`expiration_ttl_at_send`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple, Union

from cutover.mongo import jsvalue
from cutover.mongo import values as v

MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 25 * 1024 * 1024
MAX_METADATA_BYTES = 1024
MIN_TTL_SECONDS = 60
EXPIRED = -1  # expiration_ttl_at_send's answer for "already dead: do not write"

# Why a document was not turned into a record; the summary counts each.
INVALID_REASONS = (
    "key_missing",
    "key_type",
    "key_empty",
    "key_dot",
    "key_too_long",
    "key_encoding",
    "value_missing",
    "value_too_large",
    "metadata_too_large",
    "expires_type",
)

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class ModuleSpec:
    """One `kv_modules` entry of the config: where documents come from and where they go."""

    name: str
    collection: str
    namespace_id: str
    key_field: str = "_id"
    value_field: str = "value"
    expires_field: str | None = "expiresAt"
    metadata_field: str | None = None


class KVRecord(NamedTuple):
    """A validated write. `value` is the exact bytes KV will hold; `metadata` is JSON text."""

    key: str
    value: bytes
    expires_at_ms: int | None
    metadata: str | None
    doc_id: Any


class Expired(NamedTuple):
    doc_id: Any
    key: str


class Invalid(NamedTuple):
    doc_id: Any
    reason: str  # one of INVALID_REASONS
    detail: str


Mapped = Union[KVRecord, Expired, Invalid]


def expiration_ttl_at_send(expires_at_ms: int | None, now_ms: int) -> int | None:
    """`expiration_ttl` for a write sent at `now_ms`: None = no expiry, EXPIRED = skip it.

    Seconds left are rounded up (never expire before Mongo does) and raised to KV's 60 s minimum.
    """
    if expires_at_ms is None:
        return None
    left_ms = expires_at_ms - now_ms
    if left_ms <= 0:
        return EXPIRED
    return max(MIN_TTL_SECONDS, -(-left_ms // 1000))


def get_field(doc: v.Document, path: str) -> Any:
    """`doc[path]` with dotted paths into sub-documents; `_MISSING` when absent."""
    if "." not in path:
        return doc.get(path, _MISSING)
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def key_text(raw: Any) -> str | None:
    """The KV key a field value names (strings as-is, ObjectId hex, numbers as JS prints them)."""
    if isinstance(raw, str):
        return jsvalue.combine_surrogate_pairs(str(raw))
    if isinstance(raw, v.ObjectId):
        return raw.hex
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(int(raw))
    if isinstance(raw, float):
        return jsvalue.js_number(raw)
    return None


def key_problem(key: str) -> Invalid | None:
    """Why KV would refuse this key, or None."""
    if key == "":
        return Invalid(None, "key_empty", "empty key")
    if key in (".", ".."):
        return Invalid(None, "key_dot", f"key {key!r} is not allowed")
    if _LONE_SURROGATE.search(jsvalue.combine_surrogate_pairs(key)):
        return Invalid(None, "key_encoding", "key is not valid Unicode (lone surrogate)")
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        return Invalid(None, "key_too_long", f"key is {size} bytes (max {MAX_KEY_BYTES})")
    return None


def utf8_like_js(text: str) -> bytes:
    """UTF-8 as a Worker's TextEncoder writes it: lone surrogates become U+FFFD."""
    if _LONE_SURROGATE.search(text):
        text = _LONE_SURROGATE.sub("\ufffd", jsvalue.combine_surrogate_pairs(text))
    return text.encode("utf-8")


def value_bytes(raw: Any) -> bytes:
    """Strings as-is, a top-level Binary as its raw bytes, anything else as JSON.stringify text."""
    if isinstance(raw, str):
        return utf8_like_js(raw)
    if isinstance(raw, v.Binary) and raw.as_uuid() is None:
        return raw.data
    return utf8_like_js(jsvalue.stringify(raw))


def map_document(doc: v.Document, spec: ModuleSpec, now_ms: int) -> Mapped:
    """One document -> a record to write, an expired skip, or an invalid report."""
    doc_id = doc.get("_id")
    raw_key = get_field(doc, spec.key_field)
    if raw_key is _MISSING or raw_key is None:
        return Invalid(doc_id, "key_missing", f"no {spec.key_field!r} field")
    key = key_text(raw_key)
    if key is None:
        return Invalid(doc_id, "key_type", f"{spec.key_field!r} is a {type(raw_key).__name__}, not a string")
    problem = key_problem(key)
    if problem is not None:
        return problem._replace(doc_id=doc_id)

    expires_at_ms: int | None = None
    if spec.expires_field:
        raw_exp = get_field(doc, spec.expires_field)
        if isinstance(raw_exp, v.DateTime):
            expires_at_ms = raw_exp.millis
        elif raw_exp is not _MISSING and raw_exp is not None:
            return Invalid(doc_id, "expires_type", f"{spec.expires_field!r} is a {type(raw_exp).__name__}, not a date")
    if expiration_ttl_at_send(expires_at_ms, now_ms) == EXPIRED:
        return Expired(doc_id, key)

    raw_value = get_field(doc, spec.value_field)
    if raw_value is _MISSING:
        return Invalid(doc_id, "value_missing", f"no {spec.value_field!r} field")
    value = value_bytes(raw_value)
    if len(value) > MAX_VALUE_BYTES:
        return Invalid(doc_id, "value_too_large", f"value is {len(value)} bytes (max {MAX_VALUE_BYTES})")

    metadata: str | None = None
    if spec.metadata_field:
        raw_meta = get_field(doc, spec.metadata_field)
        if raw_meta is not _MISSING and raw_meta is not None:
            metadata = jsvalue.stringify(raw_meta)
            size = len(utf8_like_js(metadata))
            if size > MAX_METADATA_BYTES:
                return Invalid(doc_id, "metadata_too_large", f"metadata is {size} bytes (max {MAX_METADATA_BYTES})")
    return KVRecord(key, value, expires_at_ms, metadata, doc_id)
