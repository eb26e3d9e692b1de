"""Workers Observability telemetry query rows ($metadata, $workers, source): one row per log line."""
from __future__ import annotations

from typing import Any, List

from cutover.soak.model import Entry, Record
from cutover.soak.rules import as_int_ms

NAME = "observability"


def matches(obj: dict) -> bool:
    return "$metadata" in obj or "$workers" in obj


def rows_of_response(obj: dict) -> List[Any] | None:
    """Rows of a saved API response ({"result": {"events": {"events": [...]}}}), else None."""
    result = obj.get("result", obj)
    events = result.get("events") if isinstance(result, dict) else None
    rows = events.get("events") if isinstance(events, dict) else None
    return rows if isinstance(rows, list) else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def to_record(obj: dict) -> Record:
    meta = _dict(obj.get("$metadata"))
    workers = _dict(obj.get("$workers"))
    source = obj.get("source")
    ms = as_int_ms(obj.get("timestamp"))
    if ms is None:
        ms = as_int_ms(meta.get("startTime"))
    request_id = workers.get("requestId") or meta.get("requestId")
    outcome = workers.get("outcome")
    record = Record(NAME, timestamp_ms=ms, outcome=outcome if isinstance(outcome, str) else None,
                    request_id=str(request_id) if request_id else None)
    # One row is one console.log: the logged object (source) if it is our event, else its text.
    items: List[Any] = []
    if isinstance(source, dict) and isinstance(source.get("event"), str) or isinstance(source, str) and source:
        items.append(source)
    else:
        message = source.get("message") if isinstance(source, dict) else None
        if not isinstance(message, str):
            message = meta.get("message")
        if message is not None:
            items.append(message)
    error = meta.get("error")
    if error:
        items.append(str(error))
    if items:
        record.entries.append(Entry(items, ms))
    return record
