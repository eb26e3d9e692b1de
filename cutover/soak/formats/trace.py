"""The invocation-trace shape shared by Logpush `workers_trace_events` and `wrangler tail`:
an outcome, log entries each with a message list, exceptions. Only the field names differ."""
from __future__ import annotations

from typing import NamedTuple

from cutover.soak.model import Entry, Record
from cutover.soak.rules import as_int_ms


class TraceFields(NamedTuple):
    timestamp: str
    outcome: str
    logs: str
    message: str
    log_timestamp: str
    exceptions: str
    exception_name: str
    exception_message: str
    exception_timestamp: str


def trace_record(name: str, obj: dict, f: TraceFields) -> Record:
    record = Record(name, timestamp_ms=as_int_ms(obj.get(f.timestamp)))
    outcome = obj.get(f.outcome)
    record.outcome = outcome if isinstance(outcome, str) else None
    logs = obj.get(f.logs)
    for log in logs if isinstance(logs, list) else ():
        if isinstance(log, dict):
            message = log.get(f.message)
            items = message if isinstance(message, list) else [message]
            record.entries.append(Entry(items, as_int_ms(log.get(f.log_timestamp))))
    exceptions = obj.get(f.exceptions)
    for exc in exceptions if isinstance(exceptions, list) else ():
        if isinstance(exc, dict):
            record.exceptions.append((str(exc.get(f.exception_name) or ""), str(exc.get(f.exception_message) or ""),
                                      as_int_ms(exc.get(f.exception_timestamp))))
    return record
