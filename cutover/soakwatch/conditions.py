"""Stop-conditions: pure functions of per-hour figures that say whether the soak must stop now."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Mapping, Sequence, Tuple

from cutover.core.stats import percentile_sorted
from cutover.soak.model import HOUR_MS

COLD_P95 = "cold_p95_sustained"
MONGO = "mongo_connection_errors"
DUAL_WRITE = "dual_write_failures"
CPU = "cpu_exceeded"
ATLAS = "atlas_connections"

# Index of each failure kind in an hour's [cmd_timing, dual_write, mongo, cpu] counts.
HOUR_FIELDS = ("cmd_timing", DUAL_WRITE, MONGO, CPU)


@dataclass(frozen=True)
class Limits:
    """The gate and what stops the watch: the flags of that name (None disables a rate condition)."""

    baseline_cold_ping_ms: float | None = None  # None: no baseline (REPORT-ONLY), no latency condition
    factor: float = 2.5
    gate_cmd: str | None = None  # the gate's cold samples: this command's only (None: all commands)
    min_cold_samples: int = 20
    stop_hours: int = 3
    max_mongo_error_pct: float | None = 2.0
    max_dual_write_pct: float | None = 1.0
    max_cpu_exceeded_pct: float | None = 1.0
    min_failures: int = 5

    @property
    def threshold_ms(self) -> float | None:
        """factor x baseline, as the gate computes it (None without a baseline)."""
        return self.baseline_cold_ping_ms * self.factor if self.baseline_cold_ping_ms is not None else None


@dataclass(frozen=True)
class Stop:
    condition: str
    hour_ms: int | None
    detail: str


def hour_label(hour_ms: int) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:00Z", time.gmtime(hour_ms / 1000))


def sustained_cold(hourly: Mapping[Tuple[int, bool], Sequence[float]], last_hour: int, limits: Limits) -> Stop | None:
    """Cold P95 above the threshold in `stop_hours` consecutive hours ending with `last_hour`,
    each with at least `min_cold_samples` cold samples (values per hour sorted; the gate command's
    only when `limits.gate_cmd` is set)."""
    threshold = limits.threshold_ms
    if threshold is None or limits.stop_hours < 1:
        return None
    parts = []
    for k in range(limits.stop_hours - 1, -1, -1):
        hour = last_hour - k * HOUR_MS
        values = hourly.get((hour, True), ())
        p95 = percentile_sorted(values, 0.95)
        if len(values) < max(1, limits.min_cold_samples) or p95 is None or p95 <= threshold:
            return None
        parts.append(f"{hour_label(hour)[11:16]} {p95:,.1f} ms (n={len(values):,})")
    scope = f"cold {limits.gate_cmd}" if limits.gate_cmd else "cold"
    return Stop(COLD_P95, last_hour,
                f"{scope} P95 above {threshold:,.1f} ms in {limits.stop_hours} consecutive hours: " + ", ".join(parts))


def failure_rates(counts: Sequence[int], hour: int, limits: Limits) -> Stop | None:
    """One complete hour's failures against cmd_timing events: above the rate and at least `min_failures`."""
    commands = counts[0]
    checks = ((MONGO, "Mongo connection errors", counts[2], limits.max_mongo_error_pct, "--max-mongo-error-pct"),
              (DUAL_WRITE, "dual-write failures", counts[1], limits.max_dual_write_pct, "--max-dual-write-pct"),
              (CPU, "exceededCpu invocations", counts[3], limits.max_cpu_exceeded_pct, "--max-cpu-exceeded-pct"))
    for condition, label, failures, pct, flag in checks:
        if pct is None or failures < max(1, limits.min_failures):
            continue
        if commands == 0 or failures * 100.0 > pct * commands:
            rate = f"{failures * 100.0 / commands:.1f} % of {commands:,} commands" if commands else "with no command handled"
            return Stop(condition, hour, f"{failures:,} {label} in the hour {hour_label(hour)} ({rate}; {flag} {pct:g})")
    return None


def atlas_over(peak: float | None, cap: float, max_pct: float, hour_ms: int | None, peak_at: str | None) -> Stop | None:
    """Atlas connections above max_pct % of the cap (as synthetic-burst judges them)."""
    threshold = cap * max_pct / 100.0
    if peak is None or peak <= threshold:
        return None
    when = f" at {peak_at}" if peak_at else ""
    return Stop(ATLAS, hour_ms, f"Atlas connections peaked at {peak:g}{when}, above {max_pct:g} % of the cap {cap:g} = {threshold:g}")


def empty_hour() -> list:
    return [0, 0, 0, 0]


HourCounts = Dict[int, list]
