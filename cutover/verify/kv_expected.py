"""What KV should hold according to Mongo: the same mapping backfill-kv writes with."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Dict, Iterable

from cutover.sinks import kvrecord
from cutover.sources import values as v
from cutover.verify.compare import KVEntry


@dataclass
class ExpectedKV:
    entries: Dict[str, KVEntry] = field(default_factory=dict)
    expired: Dict[str, float] = field(default_factory=dict)  # key -> when its document expired
    invalid: int = 0
    documents: int = 0


def _stored_value(raw: bytes) -> str | bytes:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def expected_kv(documents: Iterable[v.Document], spec: kvrecord.ModuleSpec, now_ms: int) -> ExpectedKV:
    out = ExpectedKV()
    for doc in documents:
        out.documents += 1
        mapped = kvrecord.map_document(doc, spec, now_ms)
        if isinstance(mapped, kvrecord.KVRecord):
            expiration = mapped.expires_at_ms / 1000.0 if mapped.expires_at_ms is not None else None
            metadata = json.loads(mapped.metadata) if mapped.metadata else None
            out.entries[mapped.key] = KVEntry(_stored_value(mapped.value), expiration, metadata)
        elif isinstance(mapped, kvrecord.Expired):
            raw = kvrecord.get_field(doc, spec.expires_field) if spec.expires_field else None
            out.expired[mapped.key] = raw.millis / 1000.0 if isinstance(raw, v.DateTime) else now_ms / 1000.0
        else:
            out.invalid += 1
    return out
