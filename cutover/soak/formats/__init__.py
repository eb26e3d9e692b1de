"""One small module per record shape; `record_of` picks the one that matches a decoded object."""
from __future__ import annotations

from typing import Iterator, Protocol

from cutover.soak.formats import events, logpush, observability, tail
from cutover.soak.model import Record, Tally

SHAPES = (observability, logpush, tail, events)  # most specific first


class RecordSink(Protocol):
    """What counts records: analyze-soak's rules.Counter, soak-watch's Watch."""

    @property
    def tally(self) -> Tally: ...

    def record(self, record: Record) -> None: ...


def record_of(obj: object) -> Record | None:
    """The record for one decoded JSON value, or None when no known shape matches."""
    if not isinstance(obj, dict):
        return None
    for shape in SHAPES:
        if shape.matches(obj):
            return shape.to_record(obj)
    return None


def expand(obj: object) -> Iterator[object]:
    """Containers that hold records: a JSON array, or a saved Observability API response."""
    if isinstance(obj, list):
        for item in obj:
            yield from expand(item)
        return
    if isinstance(obj, dict):
        rows = observability.rows_of_response(obj)
        if rows is not None:
            yield from rows
            return
    yield obj


def count_value(counter: RecordSink, value: object) -> None:
    """Count one decoded JSON value (a record, or a container of records) with the rules."""
    for obj in expand(value):
        record = record_of(obj)
        if record is None:
            counter.tally.unrecognized += 1
        else:
            counter.record(record)
