"""`$date`: ISO-8601 and millisecond dates, and the cached fast path for the dates mongoexport writes."""
from __future__ import annotations

import datetime as _dt
from typing import Any, Dict

from cutover.core.timespec import iso_millis
from cutover.mongo.ejson.common import _INT64_MAX, _INT64_MIN, EJSONError, _fail, _is_int, _only, _short
from cutover.mongo.values import DateTime


def parse_iso_millis(text: str) -> int:
    """Milliseconds since the epoch for an ISO-8601 date-time; no offset means UTC (as pymongo)."""
    try:
        return iso_millis(text)
    except ValueError as exc:
        raise EJSONError(f"bad $date ({exc}): {_short(text)}") from None


_EPOCH_NAIVE = _dt.datetime(1970, 1, 1)
_ONE_MS = _dt.timedelta(milliseconds=1)
_fromisoformat = _dt.datetime.fromisoformat


def _parse_iso_date(text: str) -> DateTime:
    # Fast path for what mongoexport writes (`…:SS.mmmZ` / `…:SSZ`): C-level parsing and
    # range checks; anything else (offsets, other precisions) takes the general parser.
    size = len(text)
    if (size == 24 and text[19] == "." or size == 20) and text[-1] == "Z" and text[10] == "T" and text[7] == "-" and text[4] == "-":
        try:
            return DateTime((_fromisoformat(text[:-1]) - _EPOCH_NAIVE) // _ONE_MS)
        except (ValueError, TypeError):  # TypeError: an offset slipped in (aware - naive)
            pass
    return DateTime(parse_iso_millis(text))


def _parse_date(doc: Dict[str, Any]) -> DateTime:
    value = _only(doc, "$date")
    if isinstance(value, str):
        return _parse_iso_date(value)
    # {"$numberLong": "..."} arrives already decoded as Int64; a bare integer is the legacy
    # v1 form (mongoexport < 2.6 wrote {"$date": <ms>}), which we accept deliberately.
    if _is_int(value):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise _fail("$date", doc, "outside the int64 range")
        return DateTime(int(value))
    raise _fail("$date", doc, "expected an ISO string, {$numberLong} or milliseconds")



# The fast `$date` path: dates in an export cluster in time, so the epoch millis of each minute
# ("YYYY-MM-DDTHH:MM") is remembered once fromisoformat has accepted a date in it; seconds and
# millis then come from two exact lookups. Bounded: cleared when full (the working set of an
# export in file order is a few minutes).
_MINUTES: Dict[str, int] = {}
_MINUTES_MAX = 4096
_SECONDS_MS = {f":{s:02d}.": s * 1000 for s in range(60)}  # ":SS." -> ms (no leap second 60)
_MILLIS_Z = {f"{ms:03d}Z": ms for ms in range(1000)}  # "mmmZ" -> ms


def _export_date_millis(text: str) -> int | None:
    """Millis of `YYYY-MM-DDTHH:MM:SS.mmmZ` (what mongoexport writes); None for anything else,
    which the full parser then decides (and explains). `text` is a str."""
    minute = _MINUTES.get(text[:16])
    if minute is not None:
        seconds = _SECONDS_MS.get(text[16:20])
        millis = _MILLIS_Z.get(text[20:])
        if seconds is not None and millis is not None:
            return minute + seconds + millis
    return _date_in_new_minute(text)


def _date_in_new_minute(text: str) -> int | None:
    """`_export_date_millis` past its cache: fromisoformat decides, and the minute is remembered."""
    # the exact shape, so every Python version's fromisoformat accepts the same strings
    if not (len(text) == 24 and text[23] == "Z" and text[19] == "." and text[10] == "T" and text[7] == "-"):
        return None
    try:
        total: int = (_fromisoformat(text[:23]) - _EPOCH_NAIVE) // _ONE_MS
    except (ValueError, TypeError):
        return None
    if text[4] == "-" and text[13] == ":" and text[16] == ":":  # accepted and in the canonical form
        if len(_MINUTES) >= _MINUTES_MAX:
            _MINUTES.clear()
        _MINUTES[text[:16]] = total - total % 60_000  # UTC has no leap seconds: minutes are 60,000 ms
    return total
