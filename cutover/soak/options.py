"""What analyze-soak is asked (`AnalyzeOptions`, the operator's flags as given) and what
analyze-soak and soak-watch resolve the same way from such flags: the baseline (flag, else
$BASELINE_COLD_PING_MS), the counting-rule patterns, the one output that may go to stdout.

`AnalyzeOptions` is the request; `cutover.soak.analyze.Options` is the analysis core's resolved
knobs (times in ms, checked patterns), built from it by `cutover.soak.run`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Iterable, Tuple

from cutover.errors import UsageError
from cutover.soak.model import Patterns

BASELINE_ENV = "BASELINE_COLD_PING_MS"


def baseline(flag_ms: float | None) -> float | None:
    """The baseline cold ping: the flag, else $BASELINE_COLD_PING_MS, else None (REPORT-ONLY)."""
    if flag_ms is not None:
        return float(flag_ms)
    raw = os.environ.get(BASELINE_ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{BASELINE_ENV}={raw!r} is not a number of milliseconds") from None
    if not value > 0:
        raise UsageError(f"{BASELINE_ENV}={raw!r} must be > 0")
    return value


def patterns(dual_write: str | None = None, mongo_error: str | None = None, cpu_outcome: str | None = None) -> Patterns:
    """The counting-rule patterns, each flag left out taking its default."""
    base = Patterns()
    return Patterns(dual_write=dual_write or base.dual_write, mongo_error=mongo_error or base.mongo_error,
                    cpu_outcome=cpu_outcome or base.cpu_outcome)


def check_patterns(chosen: Patterns) -> Patterns:
    """UsageError naming the flag when a pattern is no regular expression."""
    for flag, pattern in (("--dual-write-pattern", chosen.dual_write), ("--mongo-error-pattern", chosen.mongo_error)):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"{flag} {pattern!r}: {exc}") from None
    return chosen


def one_stdout(outputs: Iterable[Tuple[str, str | None]]) -> None:
    """At most one of (flag, path) may be '-': they cannot share stdout."""
    shared = [flag for flag, path in outputs if path == "-"]
    if len(shared) > 1:
        raise UsageError(f"{' and '.join(o + ' -' for o in shared)} cannot share stdout: send all but one to a file")


@dataclass(frozen=True)
class AnalyzeOptions:
    """analyze-soak's flags as given (defaults = the CLI's)."""

    inputs: Tuple[str, ...] = ()
    since: str | None = None  # the one time grammar (core.timespec)
    until: str | None = None
    date_order: str | None = None  # spreadsheet dates: "dmy" or "mdy"; None = learn it from the file
    baseline_cold_ping_ms: float | None = None  # None: $BASELINE_COLD_PING_MS, else REPORT-ONLY
    factor: float = 2.5
    gate_cmd: str | None = None
    min_cold_samples: int = 20
    output: str | None = "soak-decision.md"
    json: str | None = None
    chart: str | None = None
    dual_write_pattern: str | None = None
    mongo_error_pattern: str | None = None
    cpu_outcome: str | None = None
    jobs: int = 0  # 0 = one per CPU
    exact: bool = False  # every record through full JSON parsing
    quiet: bool = False
    verbose: bool = False

    @property
    def patterns(self) -> Patterns:
        return patterns(self.dual_write_pattern, self.mongo_error_pattern, self.cpu_outcome)
