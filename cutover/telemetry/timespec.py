"""Time arguments: `24h`/`90m`/`7d` relative to now, or ISO-8601, to epoch milliseconds (UTC)."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from cutover.errors import UsageError

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_time_ms(value: str, now_ms: int, flag: str = "--since") -> int:
    """`24h` means 24 hours before `now_ms`; ISO without a zone is taken as UTC; `now` is now."""
    text = value.strip()
    if text.lower() == "now":
        return now_ms
    m = _RELATIVE.match(text)
    if m:
        return now_ms - int(round(float(m.group(1)) * _UNIT_MS[m.group(2).lower()]))
    if re.fullmatch(r"\d{12,14}", text):  # already epoch milliseconds
        return int(text)
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        raise UsageError(
            f"{flag} {value!r}: expected a duration like 24h, 90m, 2d or an ISO time like 2026-11-27T18:00:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(round(when.timestamp() * 1000))


def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO-8601 UTC with milliseconds, e.g. 2026-11-27T18:00:00.000Z."""
    if ms is None:
        return None
    when = datetime.fromtimestamp(ms / 1000.0, tz=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}Z"
