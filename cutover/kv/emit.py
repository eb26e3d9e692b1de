"""`--emit`: a `wrangler kv bulk put` JSON file instead of API calls (the air-gapped path).

The file is an array of `{"key", "value", "expiration_ttl"?, "metadata"?, "base64"?}`, the
same pairs the bulk API takes. TTLs count from when the file is written, so apply it soon.
"""
from __future__ import annotations

import os
from typing import Callable, List, Sequence

from cutover.core.fsutil import atomic_writer
from cutover.kv.api import BULK_MAX_BYTES, bulk_pair
from cutover.kv.record import EXPIRED, KVRecord, expiration_ttl_at_send
from cutover.kv.sink import KVSink, WriteResult, last_per_key, now_ms


def emit_path(template: str, module: str, several: bool) -> str:
    """Where one module's file goes: `{module}` in the name is replaced; with several modules
    and no placeholder the module name goes before the extension (kv.json -> kv.sessions.json)."""
    if "{module}" in template:
        return template.replace("{module}", module)
    if not several:
        return template
    root, ext = os.path.splitext(template)
    return f"{root}.{module}{ext or '.json'}"


class EmitSink(KVSink):
    """Collects pairs and writes the file atomically on `close` (a crash leaves no half file)."""

    batch_records = 10_000

    def __init__(self, path: str, clock_ms: Callable[[], int] = now_ms, max_bytes: int = BULK_MAX_BYTES) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.clock_ms = clock_ms  # type: ignore[assignment]
        self.pairs: List[str] = []
        self.earliest_ttl: int | None = None
        self.oversized: List[str] = []  # keys whose pair alone is more than a bulk request may carry

    def write(self, records: Sequence[KVRecord]) -> WriteResult:
        result = WriteResult()
        now = self.clock_ms()
        unique = last_per_key(records)
        result.superseded = len(records) - len(unique)
        for record in unique:
            ttl = expiration_ttl_at_send(record.expires_at_ms, now)
            if ttl == EXPIRED:
                result.expired += 1
                continue
            if ttl is not None and (self.earliest_ttl is None or ttl < self.earliest_ttl):
                self.earliest_ttl = ttl
            pair = bulk_pair(record, ttl)
            if len(pair) * 3 > self.max_bytes and len(pair.encode("utf-8")) > self.max_bytes:
                self.oversized.append(record.key)
            self.pairs.append(pair)
            result.written += 1
        return result

    def close(self) -> None:
        with atomic_writer(self.path) as handle:
            handle.write("[\n")
            handle.write(",\n".join(self.pairs))
            handle.write("\n]\n")
