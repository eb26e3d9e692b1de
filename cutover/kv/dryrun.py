"""--dry-run: a sink that counts the requests a real run would send, and the time they would take."""
from __future__ import annotations

from typing import Sequence

from cutover.kv.record import KVRecord
from cutover.kv.sink import KVSink, WriteResult, last_per_key, now_ms


class DryRunSink(KVSink):
    """Counts the requests a real run would send; writes nothing."""

    def __init__(self, mode: str, batch_size: int) -> None:
        self.mode = mode
        self.batch_size = batch_size
        self.batch_records = batch_size if mode == "bulk" else 200

    def write(self, records: Sequence[KVRecord]) -> WriteResult:
        from cutover.kv.api import bulk_chunks

        result = WriteResult()
        unique = last_per_key(records)
        result.superseded = len(records) - len(unique)
        if self.mode == "put":
            result.written = len(unique)
            result.requests = len(unique)
            return result
        for chunk, expired in bulk_chunks(unique, now_ms(), max_pairs=self.batch_size):
            result.expired += len(expired)
            result.written += len(chunk.records) + len(chunk.single)
            result.requests += (1 if chunk.records else 0) + len(chunk.single)
            result.single_puts += len(chunk.single)
        return result


def estimate_seconds(requests: int, per_second: float | None, window_budget: int, window: float) -> float:
    """Lower bound on wall time for `requests` under a per-second rate and a window budget."""
    if requests <= 0:
        return 0.0
    by_rate = (requests - 1) / per_second if per_second else 0.0
    by_budget = ((requests - 1) // window_budget) * window
    return max(by_rate, by_budget)

