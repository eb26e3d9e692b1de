"""The stop-conditions as tables: (per-hour figures, limits) -> stop or not."""
from __future__ import annotations

from array import array

import pytest

from cutover.soak.model import HOUR_MS
from cutover.soakwatch.conditions import (
    ATLAS,
    COLD_P95,
    CPU,
    DUAL_WRITE,
    MONGO,
    Limits,
    atlas_over,
    failure_rates,
    sustained_cold,
)

H0 = 1764288000000  # 2025-11-28T00:00:00Z
LIMITS = Limits(baseline_cold_ping_ms=400.0, factor=2.5, min_cold_samples=20, stop_hours=3)  # threshold 1000 ms


def hours(*per_hour: tuple) -> dict:
    """(n cold samples, value) per consecutive hour from H0; None = no samples that hour."""
    out = {}
    for i, spec in enumerate(per_hour):
        if spec is not None:
            n, value = spec
            out[(H0 + i * HOUR_MS, True)] = array("d", [value] * n)
    return out


@pytest.mark.parametrize(("figures", "last", "fires"), [
    (hours((20, 1500), (20, 1500), (20, 1500)), 2, True),
    (hours((20, 1500), (20, 1500), (20, 1500)), 1, False),  # only two hours end there
    (hours((20, 1500), (19, 1500), (20, 1500)), 2, False),  # one hour too thin
    (hours((20, 1500), None, (20, 1500), (20, 1500)), 3, False),  # a gap breaks the run
    (hours((20, 1500), (20, 1000), (20, 1500)), 2, False),  # equal to the threshold is not above it
    (hours((500, 1500), (20, 1000.5), (20, 1500)), 2, True),
])
def test_sustained_cold(figures: dict, last: int, fires: bool) -> None:
    stop = sustained_cold(figures, H0 + last * HOUR_MS, LIMITS)
    assert (stop is not None) == fires
    if stop:
        assert stop.condition == COLD_P95 and stop.hour_ms == H0 + last * HOUR_MS and "1,000.0 ms" in stop.detail


def test_p95_not_mean_decides_an_hour() -> None:
    # 18 fast + 2 slow: type-7 P95 (rank 18.05) is the slow value though the mean is 200 ms;
    # 19 fast + 1 slow: P95 = 100 + 0.05 x 1000 = 150 ms.
    two_slow = array("d", [100.0] * 18 + [1100.0] * 2)
    one_slow = array("d", [100.0] * 19 + [1100.0])
    assert sustained_cold({(H0 + i * HOUR_MS, True): two_slow for i in range(3)}, H0 + 2 * HOUR_MS, LIMITS) is not None
    assert sustained_cold({(H0 + i * HOUR_MS, True): one_slow for i in range(3)}, H0 + 2 * HOUR_MS, LIMITS) is None


def test_no_baseline_no_latency_stop() -> None:
    assert sustained_cold(hours((20, 9e9), (20, 9e9), (20, 9e9)), H0 + 2 * HOUR_MS, Limits(baseline_cold_ping_ms=None)) is None


@pytest.mark.parametrize(("counts", "limits", "condition"), [
    ([1000, 0, 21, 0], Limits(None), MONGO),  # 2.1 % > 2 %
    ([1000, 0, 20, 0], Limits(None), None),  # 2.0 % is not above 2 %
    ([100, 0, 4, 0], Limits(None), None),  # 4 % but fewer than 5 failures: thin data
    ([0, 0, 5, 0], Limits(None), MONGO),  # errors and no command handled at all
    ([1000, 11, 0, 0], Limits(None), DUAL_WRITE),
    ([1000, 0, 0, 11], Limits(None), CPU),
    ([1000, 0, 0, 11], Limits(None, max_cpu_exceeded_pct=None), None),  # off
    ([10, 0, 0, 1], Limits(None, min_failures=1, max_cpu_exceeded_pct=5), CPU),
])
def test_failure_rates(counts: list, limits: Limits, condition: str | None) -> None:
    stop = failure_rates(counts, H0, limits)
    assert (stop.condition if stop else None) == condition


@pytest.mark.parametrize(("peak", "fires"), [(None, False), (300.0, False), (300.5, True), (499.0, True)])
def test_atlas_over_60_pct_of_500(peak: float | None, fires: bool) -> None:
    stop = atlas_over(peak, 500.0, 60.0, H0, "2025-11-28T00:00:10Z")
    assert (stop is not None) == fires
    if stop:
        assert stop.condition == ATLAS and "300" in stop.detail
