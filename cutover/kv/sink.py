"""The KV sink interface: `write(records) -> WriteResult`; every sink (bulk API, per-key API,
wrangler file) takes the same validated `KVRecord`s."""
from __future__ import annotations

import abc
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Sequence

from cutover.kv.record import KVRecord


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class FailedKey:
    key: str
    doc_id: Any
    reason: str


@dataclass
class WriteResult:
    """What one `write` achieved. `expired`: records that died between reading and sending."""

    written: int = 0
    expired: int = 0
    superseded: int = 0  # an earlier document for the same key in the same write (the later one wins)
    failed: List[FailedKey] = field(default_factory=list)
    requests: int = 0
    single_puts: int = 0  # records too big for a bulk request, written by single-key PUT

    def add(self, other: WriteResult) -> None:
        self.written += other.written
        self.expired += other.expired
        self.superseded += other.superseded
        self.failed.extend(other.failed)
        self.requests += other.requests
        self.single_puts += other.single_puts


def last_per_key(records: Sequence[KVRecord]) -> List[KVRecord]:
    """Keep only the last record of each key, in order: concurrent or batched writes of one key
    must not race, and the document read last is the one that wins."""
    last = {r.key: i for i, r in enumerate(records)}
    if len(last) == len(records):
        return list(records)
    return [r for i, r in enumerate(records) if last[r.key] == i]


class KVSink(abc.ABC):
    """Writes records to one namespace. `write` returns once every record is acknowledged,
    failed for good, or skipped as expired; it raises CutoverError when the target is unusable."""

    #: how many records a caller should gather before calling `write` (one checkpoint per write)
    batch_records: int = 1000
    clock_ms: Callable[[], int] = staticmethod(now_ms)

    @abc.abstractmethod
    def write(self, records: Sequence[KVRecord]) -> WriteResult:
        """Write the records; TTLs are computed here, at send time."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release."""
