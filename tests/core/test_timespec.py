from __future__ import annotations

import pytest

from cutover.core.timespec import iso_ms, parse_time_ms
from cutover.errors import UsageError

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
        ("2026-11-27", 1795737600000),  # a bare date: midnight UTC
        ("2026-11-27 18:00", 1795802400000),
        ("2026-11-27T19:00:00+0100", 1795802400000),
        ("2026-11-27T18:00:00.123456Z", 1795802400123),
        ("7D", NOW - 7 * 86_400_000),
        (" 24h ", NOW - 24 * 3_600_000),
    ],
)
def test_parse_time_ms(text: str, expected: int) -> None:
    assert parse_time_ms(text, NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "24x", "", "2026-13-01", "2026-02-29", "2026-11-27T25:00", "1795802400", "-24h"])
def test_parse_time_ms_rejects(text: str) -> None:
    with pytest.raises(UsageError, match="--since"):
        parse_time_ms(text, NOW)


def test_iso_ms_round_trips() -> None:
    assert iso_ms(1795802400250) == "2026-11-27T18:00:00.250Z"
    assert parse_time_ms(iso_ms(1795802400250) or "", NOW) == 1795802400250
    assert iso_ms(None) is None


def test_rejection_names_the_flag_and_the_forms() -> None:
    with pytest.raises(UsageError) as info:
        parse_time_ms("tomorrow", NOW, "--until")
    text = str(info.value)
    assert text.startswith("--until 'tomorrow'") and "24h" in text and "2026-12-03" in text and "epoch ms" in text


def test_iso_dates_agree_with_datetime() -> None:
    # A check by other means: the stdlib's own calendar for every day of a leap and a common year.
    import datetime as dt

    day = dt.date(2023, 1, 1)
    while day.year < 2025:
        expected = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp() * 1000)
        assert parse_time_ms(day.isoformat(), NOW) == expected
        day += dt.timedelta(days=1)
