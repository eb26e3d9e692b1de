"""soak-watch's options (the flags as given; defaults = the CLI's) and their checks."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cutover.core.ratelimit import DEFAULT_HEADROOM
from cutover.errors import UsageError
from cutover.soak import options as soak_options
from cutover.soak.model import HOUR_MS, Patterns
from cutover.soakwatch.conditions import Limits


@dataclass(frozen=True)
class Options:
    input: str | None = None  # a file or '-'; None with from_api
    from_api: bool = False
    script: str | None = None
    account_id: str | None = None
    since: str | None = None  # start of the watched window (default: now for the API, first event for input)
    duration_ms: int = 72 * HOUR_MS
    interval_s: float = 300.0
    api_delay_ms: int = 120_000  # Workers Logs ingestion lag: pull only rows older than this
    budget_headroom: float = DEFAULT_HEADROOM
    limit: int = 2000
    baseline_cold_ping_ms: float | None = None  # None: $BASELINE_COLD_PING_MS (see `resolved`), else REPORT-ONLY
    factor: float = 2.5
    min_cold_samples: int = 20
    stop_hours: int = 3
    max_mongo_error_pct: float | None = 2.0
    max_dual_write_pct: float | None = 1.0
    max_cpu_exceeded_pct: float | None = 1.0
    min_failures: int = 5
    atlas_group: str | None = None
    atlas_process: str | None = None
    atlas_cap: float = 500.0
    atlas_max_pct: float | None = 60.0  # None ('off') only without --atlas-group
    dual_write_pattern: str | None = None
    mongo_error_pattern: str | None = None
    cpu_outcome: str | None = None
    state: str | None = None
    output: str | None = "soak-decision.md"
    json: str | None = None
    chart: str | None = None
    on_stop: str | None = None
    quiet: bool = False
    verbose: bool = False

    @property
    def patterns(self) -> Patterns:
        return soak_options.patterns(self.dual_write_pattern, self.mongo_error_pattern, self.cpu_outcome)

    @property
    def limits(self) -> Limits:
        threshold = self.baseline_cold_ping_ms * self.factor if self.baseline_cold_ping_ms is not None else None
        return Limits(threshold, self.min_cold_samples, self.stop_hours, self.max_mongo_error_pct,
                      self.max_dual_write_pct, self.max_cpu_exceeded_pct, self.min_failures)


def resolved(options: Options) -> Options:
    """The options checked (UsageError naming the flag), with the baseline read from
    $BASELINE_COLD_PING_MS when the flag is not given."""
    if bool(options.atlas_group) != bool(options.atlas_process):
        raise UsageError("--atlas-group and --atlas-process go together (the project id and the HOST:PORT to watch)")
    if options.atlas_group:
        from cutover.atlas.client import validate_group_id, validate_process_id

        validate_group_id(options.atlas_group)
        validate_process_id(options.atlas_process or "")
        if options.atlas_max_pct is None:
            raise UsageError("--atlas-max-pct off: leave out --atlas-group/--atlas-process instead")
    if options.stop_hours < 1:
        raise UsageError("--stop-hours must be at least 1")
    if not 0.0 <= options.budget_headroom < 1.0:
        raise UsageError("--budget-headroom must be at least 0 and less than 1")
    soak_options.one_stdout((("--output", options.output), ("--json", options.json), ("--chart", options.chart)))
    baseline = soak_options.baseline(options.baseline_cold_ping_ms)
    soak_options.check_patterns(options.patterns)
    return dataclasses.replace(options, baseline_cold_ping_ms=baseline)
