from __future__ import annotations

import pytest

from cutover.errors import UsageError
from cutover.telemetry.timespec import iso_ms, parse_time_ms

NOW = 1_795_000_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24h", NOW - 24 * 3_600_000),
        ("90m", NOW - 90 * 60_000),
        ("2d", NOW - 2 * 86_400_000),
        ("1w", NOW - 7 * 86_400_000),
        ("30s", NOW - 30_000),
        ("1.5h", NOW - 5_400_000),
        ("now", NOW),
        ("2026-11-27T18:00:00Z", 1795802400000),
        ("2026-11-27T18:00:00", 1795802400000),  # no zone: UTC
        ("2026-11-27T19:00:00+01:00", 1795802400000),
        ("2026-11-27T18:00:00.250Z", 1795802400250),
        ("1795802400000", 1795802400000),
    ],
)
def test_parse_time_ms(text: str, expected: int) -> None:
    assert parse_time_ms(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "24x", "", "2026-13-01"])
def test_parse_time_ms_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--since"):
        parse_time_ms(text, NOW)


def test_iso_ms_round_trips() -> None:
    assert iso_ms(1795802400250) == "2026-11-27T18:00:00.250Z"
    assert parse_time_ms(iso_ms(1795802400250) or "", NOW) == 1795802400250
    assert iso_ms(None) is None
