"""The PROCEED/PIVOT gate: cold P95 against factor × baseline cold ping."""
from __future__ import annotations

from dataclasses import dataclass

from cutover.errors import EXIT_GATE_FAILED, EXIT_INCONCLUSIVE, EXIT_OK

PROCEED, PIVOT, INCONCLUSIVE, REPORT_ONLY = "PROCEED", "PIVOT", "INCONCLUSIVE", "REPORT-ONLY"
EXIT_CODES = {PROCEED: EXIT_OK, REPORT_ONLY: EXIT_OK, PIVOT: EXIT_GATE_FAILED, INCONCLUSIVE: EXIT_INCONCLUSIVE}


@dataclass(frozen=True)
class Gate:
    decision: str
    reason: str
    cold_p95_ms: float | None
    baseline_cold_ping_ms: float | None
    factor: float
    threshold_ms: float | None
    cmd: str | None
    cold_samples: int
    min_cold_samples: int

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]


def decide(cold_p95_ms: float | None, cold_samples: int, baseline_ms: float | None, factor: float,
           min_cold_samples: int, cmd: str | None = None) -> Gate:
    """No baseline -> REPORT-ONLY; too few cold samples -> INCONCLUSIVE; else p95 <= threshold -> PROCEED."""
    threshold = baseline_ms * factor if baseline_ms is not None else None
    scope = f"cold {cmd}" if cmd else "cold (all commands)"

    def gate(decision: str, reason: str) -> Gate:
        return Gate(decision, reason, cold_p95_ms, baseline_ms, factor, threshold, cmd, cold_samples, min_cold_samples)

    if baseline_ms is None:
        return gate(REPORT_ONLY, "no baseline given (--baseline-cold-ping-ms or BASELINE_COLD_PING_MS): figures only, no decision")
    if cold_samples < min_cold_samples or cold_p95_ms is None:
        return gate(INCONCLUSIVE, f"{cold_samples} {scope} samples, fewer than --min-cold-samples {min_cold_samples}")
    assert threshold is not None
    if cold_p95_ms <= threshold:
        return gate(PROCEED, f"{scope} P95 {cold_p95_ms:.1f} ms <= {factor:g} x baseline {baseline_ms:g} ms = {threshold:.1f} ms")
    return gate(PIVOT, f"{scope} P95 {cold_p95_ms:.1f} ms > {factor:g} x baseline {baseline_ms:g} ms = {threshold:.1f} ms")
