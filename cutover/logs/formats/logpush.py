"""Logpush `workers_trace_events` records: events in Logs[].Message[], Outcome, Exceptions[]."""
from __future__ import annotations

from cutover.logs.model import Entry, Record
from cutover.logs.rules import as_int_ms

NAME = "logpush"


def matches(obj: dict) -> bool:
    return "Logs" in obj or "EventTimestampMs" in obj or ("Outcome" in obj and "ScriptName" in obj)


def to_record(obj: dict) -> Record:
    record = Record(NAME, timestamp_ms=as_int_ms(obj.get("EventTimestampMs")))
    outcome = obj.get("Outcome")
    record.outcome = outcome if isinstance(outcome, str) else None
    logs = obj.get("Logs")
    for log in logs if isinstance(logs, list) else ():
        if isinstance(log, dict):
            message = log.get("Message")
            items = message if isinstance(message, list) else [message]
            record.entries.append(Entry(items, as_int_ms(log.get("TimestampMs"))))
    exceptions = obj.get("Exceptions")
    for exc in exceptions if isinstance(exceptions, list) else ():
        if isinstance(exc, dict):
            record.exceptions.append((str(exc.get("Name") or ""), str(exc.get("Message") or ""), as_int_ms(exc.get("TimestampMs"))))
    return record
