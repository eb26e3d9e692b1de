"""CSV exports: a column holding the logged JSON message, or flattened columns (cmd, durationMs, cold)."""
from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any, BinaryIO, Dict, Iterator, List, Tuple

from cutover.soak.formats.sheetdates import UNDECIDED, DateReader
from cutover.soak.model import Entry, Record

if TYPE_CHECKING:
    from cutover.soak.rules import Counter

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


def is_log_row(row: Dict[str, str]) -> bool:
    """Whether the columns are a log export's (a message, time, outcome, error, event or cmd column)."""
    names = set(row)
    return bool(names.intersection(_MESSAGE + _OUTCOME + _TIME + _ERROR + ("event", "cmd", "durationms")))


def row_record(row: Dict[str, str], ms: int | None) -> Record:
    """One CSV row = one console.log (and, with a request id, part of one invocation)."""
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


MAX_UNDECIDED_ROWS = 200_000  # rows held back while the day/month order is unknown


def scan(counter: Counter, stream: BinaryIO, date_order: str | None = None) -> None:
    """Count every row. Rows whose date could be day- or month-first wait (in order) until a later
    value shows which; a file where nothing shows it is an error asking for --date-order."""
    dates = DateReader(date_order)
    known: bool | None = None
    held: List[Tuple[Dict[str, str], str]] = []
    for row in rows(stream):
        if row is None:
            counter.tally.malformed += 1
            continue
        if known is None:
            known = is_log_row(row)
        if not known:  # a table with none of a log export's columns (the wrong file)
            counter.tally.unrecognized += 1
            continue
        stamp = _first(row, _TIME)
        ms = dates.time_ms(stamp)
        if ms is UNDECIDED:
            held.append((row, stamp or ""))
            if len(held) > MAX_UNDECIDED_ROWS:
                raise dates.cannot_tell(held[0][1])
            continue
        counter.record(row_record(row, ms))  # type: ignore[arg-type]
        if held and dates.order is not None:  # this row told the order: the held ones can be read now
            for waiting, waiting_stamp in held:
                counter.record(row_record(waiting, dates.time_ms(waiting_stamp)))  # type: ignore[arg-type]
            held = []
    if held:
        raise dates.cannot_tell(held[0][1])


def rows(stream: BinaryIO) -> Iterator[Dict[str, str] | None]:
    """Rows as dicts keyed by normalised column names; None for a row that cannot be read."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline="")
    sample = text.readline()  # the header only: a file still being written is not waited on for more
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
