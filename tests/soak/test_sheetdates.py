"""Spreadsheet CSVs: the date forms Excel, LibreOffice and Google Sheets write, day-first vs
month-first decided by the file's own values (or --date-order), never guessed."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cutover.errors import CutoverError
from cutover.soak.analyze import Options, analyze
from cutover.soak.formats import sheetdates
from cutover.soak.report import counts


def utc_ms(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=timezone.utc).timestamp() * 1000)  # type: ignore[misc]


@pytest.mark.parametrize("text, order, want", [
    ("24/11/2025 16:00:00", "dmy", utc_ms(2025, 11, 24, 16)),
    ("24/11/2025 16:00", "dmy", utc_ms(2025, 11, 24, 16)),
    ("24.11.2025 16:00:05", "dmy", utc_ms(2025, 11, 24, 16, 0, 5)),
    ("24-11-2025 16:00:05", "dmy", utc_ms(2025, 11, 24, 16, 0, 5)),
    ("11/24/2025 4:00:00 PM", "mdy", utc_ms(2025, 11, 24, 16)),
    ("11/24/2025, 12:05:00 AM", "mdy", utc_ms(2025, 11, 24, 0, 5)),  # toLocaleString()
    ("11/24/2025 12:05 pm", "mdy", utc_ms(2025, 11, 24, 12, 5)),
    ("3/7/2025 9:05:01.250", "mdy", utc_ms(2025, 3, 7, 9, 5, 1) + 250),
    ("3/7/2025 9:05:01.250", "dmy", utc_ms(2025, 7, 3, 9, 5, 1) + 250),
    ("24/11/25 16:00", "dmy", utc_ms(2025, 11, 24, 16)),  # two-digit year
    ("24/11/2025", "dmy", utc_ms(2025, 11, 24)),  # date only
    ("2025/11/24 16:00:00", None, utc_ms(2025, 11, 24, 16)),  # year first: no ambiguity
    ("2025-11-24 16:00:00", None, utc_ms(2025, 11, 24, 16)),
    ("2025-11-24T16:00:00.5Z", None, utc_ms(2025, 11, 24, 16) + 500),
    ("45985.6666666667", None, utc_ms(2025, 11, 24, 16)),  # an Excel serial date left as a number
])
def test_forms(text: str, order: str | None, want: int) -> None:
    reader = sheetdates.DateReader(order)
    assert reader.time_ms(text) == pytest.approx(want, abs=1)


@pytest.mark.parametrize("text", ["31/02/2025 10:00", "13/13/2025", "24/11/2025 25:00", "not a date", "", "1/2/3/4",
                                  "11/24/2025 13:00 PM"])
def test_not_dates(text: str) -> None:
    assert sheetdates.DateReader("dmy").time_ms(text) is None


def test_order_is_learned_from_an_unambiguous_value_and_kept() -> None:
    reader = sheetdates.DateReader(None)
    assert reader.time_ms("03/11/2025 10:00") is sheetdates.UNDECIDED
    assert reader.time_ms("05/05/2025 10:00") == utc_ms(2025, 5, 5, 10)  # same either way
    assert reader.time_ms("24/11/2025 10:00") == utc_ms(2025, 11, 24, 10)
    assert reader.order == "dmy" and reader.time_ms("03/11/2025 10:00") == utc_ms(2025, 11, 3, 10)


def test_both_orders_in_one_file_is_an_error() -> None:
    reader = sheetdates.DateReader(None)
    reader.time_ms("24/11/2025 10:00")
    with pytest.raises(CutoverError, match="day-first.*month-first|month-first.*day-first"):
        reader.time_ms("11/24/2025 10:00")


def test_forced_order_refuses_a_value_that_contradicts_it() -> None:
    with pytest.raises(CutoverError, match="--date-order mdy"):
        sheetdates.DateReader("mdy").time_ms("24/11/2025 10:00")


def sheet(tmp_path: Path, stamps: List[str], delimiter: str = ",") -> Path:
    d = delimiter
    rows = [f"timestamp{d}cmd{d}durationMs{d}cold"]
    rows += [f"{s}{d}/start{d}{100 + i}{d}{'TRUE' if i % 2 else 'FALSE'}" for i, s in enumerate(stamps)]
    path = tmp_path / "sheet.csv"
    path.write_text("\r\n".join(rows) + "\r\n")
    return path


def test_day_first_file_with_late_evidence_is_read_in_full(tmp_path: Path) -> None:
    """The first rows (1..12 Nov) fit either order; the 13th tells. Nothing is lost or misread."""
    stamps = [f"{day:02d}/11/2025 {h:02d}:30:00" for day in range(1, 15) for h in range(24)]
    result = analyze([str(sheet(tmp_path, stamps))], Options())
    c = counts(result)
    assert (c["records"], c["cmd_timing"], c["malformed"]) == (336, 336, 0)
    assert result.tally.first_ms == utc_ms(2025, 11, 1, 0, 30) and result.tally.last_ms == utc_ms(2025, 11, 14, 23, 30)
    assert {(g.cold, g.summary.count) for g in result.groups} == {(True, 168), (False, 168)}
    window = analyze([str(sheet(tmp_path, stamps))], Options(since_ms=utc_ms(2025, 11, 2), until_ms=utc_ms(2025, 11, 3)))
    assert counts(window)["cmd_timing"] == 24 and counts(window)["outside_window"] == 312


def test_ambiguous_file_asks_for_the_flag_and_the_flag_reads_it(tmp_path: Path) -> None:
    stamps = [f"0{day}/11/2025 10:00" for day in range(1, 8)]
    path = sheet(tmp_path, stamps, ";")
    with pytest.raises(CutoverError, match="--date-order"):
        analyze([str(path)], Options())
    for order, month in (("dmy", 11), ("mdy", 1)):
        result = analyze([str(path)], Options(date_order=order))
        assert counts(result)["cmd_timing"] == 7
        assert datetime.fromtimestamp(result.tally.first_ms / 1000, timezone.utc).month == month  # type: ignore[operator]


@settings(max_examples=300, deadline=None)
@given(when=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31)),
       order=st.sampled_from(["dmy", "mdy"]), sep=st.sampled_from("/.-"), twelve=st.booleans(), seconds=st.booleans())
def test_round_trip_of_every_form(when: datetime, order: str, sep: str, twelve: bool, seconds: bool) -> None:
    """Written the way a spreadsheet would (strftime, not our parser), read back to the same instant."""
    date_fmt = sep.join(("%d", "%m", "%Y") if order == "dmy" else ("%m", "%d", "%Y"))
    clock = ("%I:%M" + (":%S" if seconds else "") + " %p") if twelve else ("%H:%M" + (":%S" if seconds else ""))
    text = when.strftime(f"{date_fmt} {clock}")
    want = when.replace(second=when.second if seconds else 0, microsecond=0, tzinfo=timezone.utc)
    assert sheetdates.DateReader(order).time_ms(text) == int(want.timestamp()) * 1000
    learned = sheetdates.DateReader(None)
    got = learned.time_ms(text)
    if when.day == when.month:
        assert got == int(want.timestamp()) * 1000
    elif when.day > 12:
        assert got == int(want.timestamp()) * 1000 and learned.order == order
    else:
        assert got is sheetdates.UNDECIDED
