"""The one time grammar of every `--since`/`--until`, and the ISO-8601 reader behind EJSON dates.

Accepted: `now`; a duration before now (`30m`, `24h`, `7d`, `2w`, `90s`, `1.5h`); epoch
milliseconds (`1795802400000`); an ISO date (`2026-12-03`, midnight UTC); an ISO date-time
with `T` or a space, optional seconds and fraction, and `Z`, `+01:00`, `+0100` or no zone (UTC).
"""
from __future__ import annotations

import re
from datetime import datetime, timezone

from cutover.errors import UsageError

_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d|w)", re.IGNORECASE | re.ASCII)
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_ISO_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?"
    r"(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?",
    re.ASCII,
)
_DATE_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_EPOCH_MS_RE = re.compile(r"[0-9]{11,15}", re.ASCII)
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
FORMS = "a duration before now (30m, 24h, 7d), a date (2026-12-03), a date-time (2026-12-03T18:00:00Z) or epoch ms"


def _days_from_civil(y: int, m: int, d: int) -> int:
    # Howard Hinnant's algorithm: exact for any proleptic Gregorian year, no datetime limits.
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _check_date(year: int, month: int, day: int) -> None:
    if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month]):
        raise ValueError("field out of range")
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        raise ValueError(f"no February 29 in {year}")


def iso_millis(text: str) -> int:
    """Epoch milliseconds for an ISO-8601 date-time; no offset means UTC. ValueError says why not."""
    m = _ISO_RE.fullmatch(text)
    if m is None:
        raise ValueError("not an ISO-8601 date-time")
    year, month, day, hour, minute = (int(g) for g in m.group(1, 2, 3, 4, 5))
    second = int(m.group(6) or 0)
    _check_date(year, month, day)
    if not (hour <= 23 and minute <= 59 and second <= 60):
        raise ValueError("field out of range")
    frac = m.group(7)
    millis = int((frac + "00")[:3]) if frac else 0  # truncate below ms, as BSON stores ms
    total = ((_days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second
    zone = m.group(8)
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = int(digits[:2]) * 3600 + (int(digits[2:4]) * 60 if len(digits) > 2 else 0)
        total -= sign * offset
    return total * 1000 + millis


def parse_time_ms(value: str, now_ms: int, flag: str = "--since") -> int:
    """Any accepted form (see the module doc) to epoch milliseconds; UsageError naming `flag` if none fits."""
    text = value.strip()
    if text.lower() == "now":
        return now_ms
    m = _RELATIVE.fullmatch(text)
    if m:
        return now_ms - int(round(float(m.group(1)) * _UNIT_MS[m.group(2).lower()]))
    if _EPOCH_MS_RE.fullmatch(text):
        return int(text)
    try:
        d = _DATE_RE.fullmatch(text)
        if d:
            year, month, day = (int(g) for g in d.groups())
            _check_date(year, month, day)
            return _days_from_civil(year, month, day) * 86_400_000
        return iso_millis(text)
    except ValueError as exc:
        why = f" ({exc})" if "out of range" in str(exc) or "February" in str(exc) else ""
        raise UsageError(f"{flag} {value!r}{why}: expected {FORMS}") from None


def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO-8601 UTC with milliseconds, e.g. 2026-11-27T18:00:00.000Z."""
    if ms is None:
        return None
    when = datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}Z"
