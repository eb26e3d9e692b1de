"""Gathers one module's records into the sink's batches and sends each, keeping the resume
position honest: the position handed on with a batch never claims a document whose record
is still waiting for a later batch."""
from __future__ import annotations

from typing import Any, Callable, List, Tuple

from cutover.kv.record import KVRecord
from cutover.kv.sink import KVSink, WriteResult
from cutover.kv.stats import ModuleStats

NO_POSITION = object()  # nothing read yet and nothing to resume after: no position to save

# (what the sink achieved, the `_id` the module is done up to, the counters as of that `_id`)
OnSent = Callable[[WriteResult, Any, ModuleStats], None]


class Batcher:
    """Feed it document by document (`add` a record, then `advance` past its document), call
    `batch_done` after each source batch and `finish` at the end.

    A full batch is sent as soon as a source batch completes it; the records after it wait for
    the next. The `cut` is (position, counters) just before the first waiting record, so the
    position sent with a batch covers only documents whose records are in it or in earlier
    ones. `stats` is the module's running count; the sink's results are added to it and to the
    counters of the position, then `on_sent` is told."""

    def __init__(self, sink: KVSink, stats: ModuleStats, after_id: Any = None, on_sent: OnSent | None = None) -> None:
        self.sink = sink
        self.stats = stats
        self.size = sink.batch_records
        self.on_sent = on_sent
        self.position: Any = after_id if after_id is not None else NO_POSITION
        self.buffer: List[KVRecord] = []
        self.cut: Tuple[Any, ModuleStats] | None = None

    def add(self, record: KVRecord) -> None:
        """A record of the current document (already counted in `stats.documents`)."""
        if len(self.buffer) == self.size and self.cut is None:
            before = self.stats.copy()
            before.documents -= 1
            self.cut = (self.position, before)
        self.buffer.append(record)
        self.stats.bytes += len(record.value)

    def advance(self, doc_id: Any) -> None:
        """The current document is fully counted: the position moves past it."""
        self.position = doc_id

    def batch_done(self) -> None:
        """End of a source batch: send what is complete."""
        if self.cut is not None:
            part, self.buffer = self.buffer[: self.size], self.buffer[self.size:]
            position, at_position = self.cut
            self.cut = None
            self._send(part, position, at_position)
        elif len(self.buffer) >= self.size:
            part, self.buffer = self.buffer, []
            self._send(part, self.position, self.stats)

    def finish(self) -> None:
        """Send the rest (an empty write still reports the final position)."""
        part, self.buffer = self.buffer, []
        self.cut = None
        self._send(part, self.position, self.stats)

    def _send(self, records: List[KVRecord], position: Any, at_position: ModuleStats) -> None:
        result = self.sink.write(records) if records else WriteResult()
        for st in {id(self.stats): self.stats, id(at_position): at_position}.values():
            st.written += result.written
            st.expired += result.expired
            st.superseded += result.superseded
            st.failed += len(result.failed)
            st.single_puts += result.single_puts
            st.requests += result.requests
        if self.on_sent is not None:
            self.on_sent(result, position, at_position)
