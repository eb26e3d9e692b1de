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
    # The gate and the stop-conditions (--baseline-cold-ping-ms, --factor, --gate-cmd, --stop-hours, ...);
    # a baseline of None becomes $BASELINE_COLD_PING_MS in `resolved`, else REPORT-ONLY.
    limits: Limits = Limits()
    follow: bool = True  # --input FILE: follow it while the window is open (--no-follow: read it once)
    wait_for_file: bool = False  # --input FILE not there yet: wait for it instead of an error
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
    if options.limits.stop_hours < 1:
        raise UsageError("--stop-hours must be at least 1")
    if options.input in (None, "-"):
        where = "--from-api" if options.from_api else "--input -"
        if not options.follow:
            raise UsageError(f"--no-follow is for --input FILE; {where} is read as it comes")
        if options.wait_for_file:
            raise UsageError(f"--wait-for-file is for --input FILE, not {where}")
    elif options.wait_for_file and not options.follow:
        raise UsageError("--wait-for-file waits for a file to follow: leave out --no-follow")
    if not 0.0 <= options.budget_headroom < 1.0:
        raise UsageError("--budget-headroom must be at least 0 and less than 1")
    soak_options.one_stdout((("--output", options.output), ("--json", options.json), ("--chart", options.chart)))
    baseline = soak_options.baseline(options.limits.baseline_cold_ping_ms)
    soak_options.check_patterns(options.patterns)
    return dataclasses.replace(options, limits=dataclasses.replace(options.limits, baseline_cold_ping_ms=baseline))
