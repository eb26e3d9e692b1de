"""Percentiles checked against independent implementations: numpy (type 7) and DuckDB quantile_cont."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cutover.core.stats import percentile_sorted, summarize

numpy = pytest.importorskip("numpy")
duckdb = pytest.importorskip("duckdb")


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0], 0.95, 1.0),
        ([1.0, 2.0], 0.5, 1.5),
        ([1.0, 2.0, 3.0, 4.0], 0.95, 3.85),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 0.99, 49.6),
        ([5.0, 5.0, 5.0], 0.5, 5.0),
        ([0.0, 100.0], 0.0, 0.0),
        ([0.0, 100.0], 1.0, 100.0),
    ],
)
def test_table(values: list, q: float, expected: float) -> None:
    assert percentile_sorted(values, q) == pytest.approx(expected)


def test_empty_and_out_of_range() -> None:
    assert percentile_sorted([], 0.5) is None
    assert summarize([]).p95 is None
    with pytest.raises(ValueError):
        percentile_sorted([1.0], 1.5)


def _ulps(values: list) -> float:
    """Interpolation formulas differ in the last bits (numpy: a+(b-a)t, DuckDB: a(1-t)+bt): allow a
    few ulps of the largest magnitude involved."""
    return 8 * math.ulp(max(abs(v) for v in values)) + 1e-300


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=1, max_size=200), st.sampled_from([0.0, 0.5, 0.9, 0.95, 0.99, 1.0]))
def test_matches_numpy(values: list, q: float) -> None:
    ours = percentile_sorted(sorted(values), q)
    theirs = float(numpy.percentile(numpy.array(values, dtype=float), q * 100, method="linear"))
    assert math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=_ulps(values))


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=300))
def test_matches_duckdb_quantile_cont(values: list) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t(v DOUBLE)")
    con.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
    p50, p95, p99, mx = con.execute("SELECT quantile_cont(v, 0.5), quantile_cont(v, 0.95), quantile_cont(v, 0.99), max(v) FROM t").fetchone()
    s = summarize(values)
    for ours, theirs in ((s.p50, p50), (s.p95, p95), (s.p99, p99), (s.max, mx)):
        assert math.isclose(ours, theirs, rel_tol=1e-12, abs_tol=_ulps(values))
    assert s.count == len(values)
