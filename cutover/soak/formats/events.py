"""Plain NDJSON of the events themselves: {"event":"cmd_timing", ...} one per line."""
from __future__ import annotations

from cutover.soak.model import Entry, Record
from cutover.soak.rules import as_int_ms

NAME = "events"
_TIME_KEYS = ("timestamp", "timestampMs", "TimestampMs", "ts")


def matches(obj: dict) -> bool:
    return isinstance(obj.get("event"), str)


def to_record(obj: dict) -> Record:
    ms = None
    for key in _TIME_KEYS:
        ms = as_int_ms(obj.get(key))
        if ms is not None:
            break
    outcome = obj.get("outcome")
    return Record(NAME, timestamp_ms=ms, outcome=outcome if isinstance(outcome, str) else None, entries=[Entry([obj], ms)])
