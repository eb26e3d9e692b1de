"""What KV should hold according to Mongo: keys and expiries by the mapping backfill-kv writes
with; JSON values and metadata also as plain values built here from the document, so a
type the writer got wrong (`true` written as `1`) is not repeated by the check."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable

from cutover.kv import record as kvrecord
from cutover.mongo import jsvalue
from cutover.mongo import values as v
from cutover.mongo.base import SourceIncomplete
from cutover.verify.compare import NOT_JSON, KVEntry

_JS_DATE_LIMIT_MS = 8_640_000_000_000_000


def plain_value(raw: Any) -> Any:
    """A Mongo value as the plain JSON value a Worker would JSON.parse from KV (the mapping in
    docs/commands/backfill-kv.md: dates -> ISO strings, ObjectId -> hex, Int64 -> number, Decimal128 -> string)."""
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, v.Symbol):
        return str(raw)
    if isinstance(raw, str):
        return raw
    if isinstance(raw, int):
        return int(raw)
    if isinstance(raw, float):
        return raw if math.isfinite(raw) else None
    if isinstance(raw, dict) and not isinstance(raw, v.DBRef):
        return {str(k): plain_value(item) for k, item in raw.items()}
    if isinstance(raw, (list, tuple)):
        return [plain_value(item) for item in raw]
    if isinstance(raw, v.ObjectId):
        return raw.hex
    if isinstance(raw, v.DateTime):
        return raw.iso() if abs(raw.millis) <= _JS_DATE_LIMIT_MS else None
    if isinstance(raw, v.Decimal128):
        return raw.value
    # BSON types with no JSON of their own take the documented forms of cutover.mongo.jsvalue
    return jsvalue.to_plain(raw)


def _expected_json(raw: Any) -> Any:
    """`as_json` for a value field: strings and raw binaries are stored as-is, not as JSON."""
    if isinstance(raw, str) or (isinstance(raw, v.Binary) and raw.as_uuid() is None):
        return NOT_JSON
    return plain_value(raw)


@dataclass
class ExpectedKV:
    entries: Dict[str, KVEntry] = field(default_factory=dict)
    expired: Dict[str, float] = field(default_factory=dict)  # key -> when its document expired
    invalid: int = 0
    documents: int = 0
    unread: int = 0  # documents the source's own count says the scan did not return
    unread_detail: str = ""


def _stored_value(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def expected_kv(documents: Iterable[v.Document], spec: kvrecord.ModuleSpec, now_ms: int) -> ExpectedKV:
    out = ExpectedKV()
    try:
        _collect(out, documents, spec, now_ms)
    except SourceIncomplete as exc:  # what was read still counts; the gap is a difference of its own
        out.unread = max(1, exc.counted - exc.scanned)
        out.unread_detail = str(exc)
    return out


def _collect(out: ExpectedKV, documents: Iterable[v.Document], spec: kvrecord.ModuleSpec, now_ms: int) -> None:
    for doc in documents:
        out.documents += 1
        mapped = kvrecord.map_document(doc, spec, now_ms)
        if isinstance(mapped, kvrecord.KVRecord):
            expiration = mapped.expires_at_ms / 1000.0 if mapped.expires_at_ms is not None else None
            metadata = None
            if mapped.metadata is not None and spec.metadata_field:
                metadata = plain_value(kvrecord.get_field(doc, spec.metadata_field))
            as_json = _expected_json(kvrecord.get_field(doc, spec.value_field))
            out.entries[mapped.key] = KVEntry(_stored_value(mapped.value), expiration, metadata, as_json)
        elif isinstance(mapped, kvrecord.Expired):
            raw = kvrecord.get_field(doc, spec.expires_field) if spec.expires_field else None
            out.expired[mapped.key] = raw.millis / 1000.0 if isinstance(raw, v.DateTime) else now_ms / 1000.0
        else:
            out.invalid += 1
