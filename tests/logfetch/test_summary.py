from __future__ import annotations

from typing import Any, List

import pytest

from cutover.logfetch.summary import QuietTracker, format_summary, merge_gaps


@pytest.mark.parametrize(
    ("gaps", "expected"),
    [
        ([], []),
        ([[10, 12, "x"]], [[10, 12, "x"]]),
        ([[12, 14, "x"], [10, 12, "x"]], [[10, 14, "x"]]),  # touching at the shared millisecond
        ([[10, 12, "x"], [13, 15, "y"]], [[10, 12, "x"], [13, 15, "y"]]),
        ([[10, 20, "x"], [12, 14, "y"]], [[10, 20, "x; y"]]),
    ],
)
def test_merge_gaps(gaps: List[List[Any]], expected: List[List[Any]]) -> None:
    assert merge_gaps(gaps) == expected


def test_quiet_tracker_finds_silences_including_the_edges() -> None:
    q = QuietTracker(0, threshold_ms=100)
    for ts in (150, 200, 250, 400, 401):
        q.see(ts)
    q.see(None)
    assert q.close(600) == [[0, 150], [250, 400], [401, 600]]
    # state survives a resume
    again = QuietTracker(0, 100, last_ms=q.last_ms, found=q.found)
    again.see(700)
    assert again.close(700) == [[0, 150], [250, 400], [401, 700]]


def test_format_summary_leads_with_rows_and_lists_gaps() -> None:
    lines = format_summary({
        "source": "observability", "rows": 1234, "output": "x.ndjson", "from": "A", "to": "B",
        "first_row": "A1", "last_row": "B1", "requests": 3, "splits": 1, "throttled": 0,
        "duplicates_skipped": 2, "sampled": True, "abr_level": 10.0,
        "gaps": [{"from": "G1", "to": "G2", "reason": "cursor stuck", "minutes": 0.0}],
        "quiet": [{"from": "Q1", "to": "Q2", "minutes": 45.0}],
    })
    assert lines[0] == "fetch-logs: 1,234 rows for A .. B -> x.ndjson"
    text = "\n".join(lines)
    assert "GAP G1 .. G2: cursor stuck" in text and "sampled" in text and "45m00s" in text
