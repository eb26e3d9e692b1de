from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cutover.burst.report import percentile, summarize
from cutover.burst.wire import Outcome


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [([], 0.5, None), ([7.0], 0.95, 7.0), ([1, 2, 3, 4], 0.5, 2.5), ([1, 2, 3, 4, 5], 0.95, 4.8), ([10, 1], 1.0, 10)],
)
def test_percentile_table(values: list[float], q: float, expected: float | None) -> None:
    assert percentile(values, q) == pytest.approx(expected) if expected is not None else percentile(values, q) is None


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=200), st.sampled_from([0.5, 0.95, 0.99]))
def test_percentile_matches_numpy_type7(values: list[float], q: float) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q * 100)), rel=1e-9, abs=1e-9)


def test_summary_distributions() -> None:
    outcomes = [
        Outcome(0, 1, "a", status=200, latency_ms=10.0),
        Outcome(1, 2, "b", status=200, latency_ms=30.0),
        Outcome(2, 3, "c", status=502, latency_ms=20.0),
        Outcome(3, 4, "d", error="timeout", error_detail="x"),
        Outcome(4, 5, "e", error="connection reset", error_detail="y"),
    ]
    s = summarize(outcomes)
    assert s["requests"] == 5 and s["responses"] == 3 and s["ok_2xx"] == 2 and s["errors"] == 2
    assert s["status_codes"] == {"200": 2, "502": 1}
    assert s["error_kinds"] == {"connection reset": 1, "timeout": 1}
    assert (s["p50_ms"], s["max_ms"], s["min_ms"]) == (20.0, 30.0, 10.0)
    assert s["p95_ms"] == pytest.approx(29.0)
