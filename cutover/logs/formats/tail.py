"""`wrangler tail --format json` messages: logs[].message[], outcome, exceptions[] (one per invocation)."""
from __future__ import annotations

from cutover.logs.model import Entry, Record
from cutover.logs.rules import as_int_ms

NAME = "tail"


def matches(obj: dict) -> bool:
    return "logs" in obj and ("outcome" in obj or "eventTimestamp" in obj or "exceptions" in obj)


def to_record(obj: dict) -> Record:
    record = Record(NAME, timestamp_ms=as_int_ms(obj.get("eventTimestamp")))
    outcome = obj.get("outcome")
    record.outcome = outcome if isinstance(outcome, str) else None
    logs = obj.get("logs")
    for log in logs if isinstance(logs, list) else ():
        if isinstance(log, dict):
            message = log.get("message")
            items = message if isinstance(message, list) else [message]
            record.entries.append(Entry(items, as_int_ms(log.get("timestamp"))))
    exceptions = obj.get("exceptions")
    for exc in exceptions if isinstance(exceptions, list) else ():
        if isinstance(exc, dict):
            record.exceptions.append((str(exc.get("name") or ""), str(exc.get("message") or ""), as_int_ms(exc.get("timestamp"))))
    return record
