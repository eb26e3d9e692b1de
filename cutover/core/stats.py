"""Exact percentiles: linear interpolation between closest ranks (type 7, as numpy, k6, DuckDB quantile_cont)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

P99_MIN_SAMPLES = 100  # below this p99 is just the largest values: the report says so


def percentile_sorted(values: Sequence[float], q: float) -> float | None:
    """Type-7 percentile of ascending `values` for q in [0, 1]; None when empty."""
    n = len(values)
    if n == 0:
        return None
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} outside [0, 1]")
    rank = (n - 1) * q
    lo = math.floor(rank)
    hi = math.ceil(rank)
    if lo == hi:
        return float(values[lo])
    a = float(values[lo])
    b = float(values[hi])
    return a + (b - a) * (rank - lo)


@dataclass(frozen=True)
class Summary:
    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    min: float | None
    mean: float | None


def summarize(values: Sequence[float], already_sorted: bool = False) -> Summary:
    ordered = values if already_sorted else sorted(values)
    n = len(ordered)
    if n == 0:
        return Summary(0, None, None, None, None, None, None)
    return Summary(
        n,
        percentile_sorted(ordered, 0.50),
        percentile_sorted(ordered, 0.95),
        percentile_sorted(ordered, 0.99),
        float(ordered[-1]),
        float(ordered[0]),
        math.fsum(ordered) / n,
    )
