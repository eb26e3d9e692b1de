"""`wrangler tail --format json` messages: logs[].message[], outcome, exceptions[] (one per invocation)."""
from __future__ import annotations

from cutover.soak.formats.trace import TraceFields, trace_record
from cutover.soak.model import Record

NAME = "tail"


def matches(obj: dict) -> bool:
    return "logs" in obj and ("outcome" in obj or "eventTimestamp" in obj or "exceptions" in obj)


FIELDS = TraceFields("eventTimestamp", "outcome", "logs", "message", "timestamp", "exceptions", "name", "message", "timestamp")


def to_record(obj: dict) -> Record:
    return trace_record(NAME, obj, FIELDS)
