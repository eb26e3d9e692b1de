"""Timestamps as spreadsheets write them, to epoch ms (UTC when no zone is given).

`24/11/2025 16:00:00` (day first), `11/24/2025 4:00:00 PM` (month first), `24.11.2025 16:00`,
ISO with a space or a `T`, `2025/11/24 16:00`, and Excel serial dates left as numbers. Whether
`03/11/2025` is 3 November or 11 March is never guessed: the file's own values decide (a day
above 12 shows the order), `--date-order` says it, or the reader reports it cannot tell."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Dict, Tuple

from cutover.errors import CutoverError
from cutover.soak.rules import as_int_ms

ORDERS = ("dmy", "mdy")
UNDECIDED = object()  # this value's date depends on an order not known yet

_TIME = (r"(?:(?:,?\s+|T)(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,6}))?)?"
         r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?)?\s*(?P<zone>Z|UTC|GMT|[+-]\d{2}:?\d{2})?")
_DAY_MONTH = re.compile(r"^(?P<a>\d{1,2})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})" + _TIME + "$")
_YEAR_FIRST = re.compile(r"^(?P<y>\d{4})(?P<sep>[/.\-])(?P<b>\d{1,2})(?P=sep)(?P<a>\d{1,2})" + _TIME + "$")
_SERIAL = re.compile(r"^\d{5}(?:\.\d+)?$")
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=timezone.utc)  # serial 1 = 1900-01-01 (with Lotus's leap-year bug)
_SERIAL_RANGE = (20_000.0, 80_000.0)  # 1954 .. 2119: a date, not some other number
_ORDER_WORDS = {"dmy": "day-first", "mdy": "month-first"}


def _clock(m: re.Match) -> Tuple[int, int, int, int] | None:  # type: ignore[type-arg]
    """(hour, minute, second, microsecond) of a match, None when out of range."""
    if m.group("h") is None:
        return 0, 0, 0, 0
    hour, minute, second = int(m.group("h")), int(m.group("mi")), int(m.group("s") or 0)
    micro = int((m.group("f") or "0").ljust(6, "0"))
    ampm = (m.group("ampm") or "").replace(".", "").lower()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second, micro


def _zone(text: str | None) -> timezone:
    if not text or text in ("Z", "UTC", "GMT"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _epoch_ms(when: datetime) -> int:
    """Exact integer ms (a float timestamp can land 1 ms short)."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _ms(year: int, month: int, day: int, clock: Tuple[int, int, int, int], zone: timezone) -> int | None:
    try:
        return _epoch_ms(datetime(year, month, day, *clock, tzinfo=zone))
    except (ValueError, OverflowError):  # 31 February, month 13
        return None


class DateReader:
    """Reads one file's timestamps; learns the day/month order from the first value that shows it
    and holds every later value to it (a file with both orders is an error, not a guess)."""

    def __init__(self, order: str | None = None) -> None:
        if order is not None and order not in ORDERS:
            raise CutoverError(f"--date-order {order!r}: use dmy (24/11/2025) or mdy (11/24/2025)")
        self.order = order
        self.forced = order is not None
        self.example: str | None = None  # the value that showed the learned order

    def time_ms(self, value: str | None) -> object:
        """Epoch ms, None (no time readable), or UNDECIDED (depends on the order, not known yet)."""
        text = (value or "").strip()
        if not text:
            return None
        if _SERIAL.match(text) and _SERIAL_RANGE[0] <= float(text) <= _SERIAL_RANGE[1]:
            return _epoch_ms(_EXCEL_EPOCH + timedelta(days=float(text)))
        if text.isdigit():
            return as_int_ms(text)
        m = _YEAR_FIRST.match(text)
        if m:
            clock = _clock(m)
            return None if clock is None else _ms(int(m.group("y")), int(m.group("b")), int(m.group("a")), clock,
                                                  _zone(m.group("zone")))
        m = _DAY_MONTH.match(text)
        if m:
            return self._day_month(text, m)
        return _iso(text)

    def _day_month(self, text: str, m: re.Match) -> object:  # type: ignore[type-arg]
        clock = _clock(m)
        if clock is None:
            return None
        year = int(m.group("y"))
        year += 2000 if year < 100 else 0
        a, b, zone = int(m.group("a")), int(m.group("b")), _zone(m.group("zone"))
        readings: Dict[str, int | None] = {"dmy": _ms(year, b, a, clock, zone), "mdy": _ms(year, a, b, clock, zone)}
        fits = [order for order, ms in readings.items() if ms is not None]
        if not fits:
            return None
        if len(fits) == 2 and readings["dmy"] == readings["mdy"]:
            return readings["dmy"]  # 05/05/2025: the same day either way
        if len(fits) == 1:
            shown = fits[0]
            if self.order is None:
                self.order, self.example = shown, text
            elif self.order != shown:
                self._conflict(text, shown)
        if self.order is None:
            return UNDECIDED
        return readings[self.order]

    def _conflict(self, text: str, shown: str) -> None:
        if self.forced:
            raise CutoverError(f"--date-order {self.order} but timestamp {text!r} can only be {_ORDER_WORDS[shown]} "
                               f"({shown}); give the order the file uses")
        raise CutoverError(f"timestamps are both {_ORDER_WORDS[self.order or '']} ({self.example!r}) and "  # noqa: B907
                           f"{_ORDER_WORDS[shown]} ({text!r}): fix the time column so it uses one form")

    def cannot_tell(self, example: str) -> CutoverError:
        """The error for a file whose every date fits both orders."""
        return CutoverError(f"timestamps like {example!r} fit both day-first and month-first, and no value in the "
                            f"file tells which: rerun with --date-order dmy (24/11/2025) or --date-order mdy (11/24/2025)")


def _iso(text: str) -> int | None:
    """Any other ISO-8601 form Python reads (naive = UTC)."""
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        return _epoch_ms(when)
    except OverflowError:
        return None
