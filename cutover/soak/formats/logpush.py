"""Logpush `workers_trace_events` records: events in Logs[].Message[], Outcome, Exceptions[]."""
from __future__ import annotations

from cutover.soak.formats.trace import TraceFields, trace_record
from cutover.soak.model import Record

NAME = "logpush"


def matches(obj: dict) -> bool:
    return "Logs" in obj or "EventTimestampMs" in obj or ("Outcome" in obj and "ScriptName" in obj)


FIELDS = TraceFields("EventTimestampMs", "Outcome", "Logs", "Message", "TimestampMs", "Exceptions", "Name", "Message", "TimestampMs")


def to_record(obj: dict) -> Record:
    return trace_record(NAME, obj, FIELDS)
