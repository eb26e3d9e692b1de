"""CSV exports: a column holding the logged JSON message, or flattened columns (cmd, durationMs, cold)."""
from __future__ import annotations

import csv
import io
from typing import Any, BinaryIO, Dict, Iterator, List

from cutover.logs.model import Entry, Record
from cutover.logs.rules import as_int_ms

NAME = "csv"
csv.field_size_limit(1 << 26)

# Column names are matched on their last dotted part, case-insensitively ("source.durationMs",
# "$workers.outcome", "Message" all work).
_MESSAGE = ("message", "msg", "log", "source", "event_json", "json", "line", "text")
_OUTCOME = ("outcome",)
_REQUEST = ("requestid", "request_id", "rayid")
_TIME = ("timestamp", "timestampms", "eventtimestampms", "time", "_time", "ts", "datetime")
_ERROR = ("error", "exception", "exceptions")


def _norm(name: str) -> str:
    return name.strip().lstrip("\ufeff").rsplit(".", 1)[-1].lower()


def _first(row: Dict[str, str], names: tuple) -> str | None:
    for name in names:
        value = row.get(name)
        if value not in (None, ""):
            return value
    return None


def _bool(value: str | None) -> Any:
    text = (value or "").strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    return None


def _time_ms(value: str | None) -> int | None:
    if value is None:
        return None
    ms = as_int_ms(value)
    if ms is not None:
        return ms
    try:
        from cutover.core.timespec import parse_time_ms

        return parse_time_ms(value, 0)
    except Exception:  # noqa: BLE001 - an unparseable time is just unknown
        return None


def _flattened_event(row: Dict[str, str]) -> Dict[str, Any] | None:
    if "cmd" not in row or "durationms" not in row:
        return None
    event = row.get("event") or "cmd_timing"
    if event != "cmd_timing":
        return {"event": event}
    try:
        duration: Any = float(row["durationms"])
    except (TypeError, ValueError):
        duration = None
    out: Dict[str, Any] = {"event": "cmd_timing", "cmd": row["cmd"], "durationMs": duration}
    cold = _bool(row.get("cold"))
    if cold is not None:
        out["cold"] = cold
    return out


def row_record(row: Dict[str, str]) -> Record:
    """One CSV row = one console.log (and, with a request id, part of one invocation)."""
    ms = _time_ms(_first(row, _TIME))
    outcome = _first(row, _OUTCOME)
    request_id = _first(row, _REQUEST)
    record = Record(NAME, timestamp_ms=ms, outcome=outcome, request_id=request_id)
    items: List[Any] = []
    flattened = _flattened_event(row)
    if flattened is not None:
        items.append(flattened)
    elif row.get("event") and row["event"] not in ("cmd_timing",) and not _first(row, _MESSAGE):
        items.append({"event": row["event"]})
    else:
        message = _first(row, _MESSAGE)
        if message is not None:
            items.append(message)
    error = _first(row, _ERROR)
    if error:
        items.append(error)
    if items:
        record.entries.append(Entry(items, ms))
    return record


def rows(stream: BinaryIO) -> Iterator[Dict[str, str] | None]:
    """Rows as dicts keyed by normalised column names; None for a row that cannot be read."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    sample = text.read(1 << 16)
    header_line = sample.split("\n", 1)[0]
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.reader(_chain(sample, text), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        return
    names = [_norm(h) for h in header]
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield None
            continue
        if not values or values == [""]:
            continue
        if len(values) != len(names):
            yield None
            continue
        yield dict(zip(names, values))


def _chain(first: str, rest: io.TextIOWrapper) -> Iterator[str]:
    yield from io.StringIO(first + rest.readline())
    yield from rest
