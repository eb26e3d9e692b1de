"""One watch's figures, outputs and end: the Session both sources (API, stream) feed."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Dict, TextIO

from cutover.core import redact
from cutover.core.console import Console
from cutover.core.fsutil import write_output
from cutover.core.progress import format_duration
from cutover.core.timespec import iso_ms
from cutover.errors import EXIT_GATE_FAILED, ConfigError, CutoverError
from cutover.soak import analyze
from cutover.soakwatch import report
from cutover.soakwatch.conditions import Stop, atlas_over
from cutover.soakwatch.options import Options
from cutover.soakwatch.watch import Watch, hour_of

HOOK_TIMEOUT_S = 120.0


@dataclass
class Runtime:
    """The edges a test replaces: the clock, sleeping, stdin, stderr."""

    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    stdin: BinaryIO | None = None
    stderr: TextIO | None = None
    # (token, headroom) -> the pace before each API request; None: the token's shared budget
    # (core.cloudflare.budget). A test on a fake clock brings a limiter on that clock.
    budget: Callable[[str, float], Callable[[], None]] | None = None


class Session:
    """One watch: the figures, where they came from, the outputs and the end."""

    def __init__(self, options: Options, runtime: Runtime, watch: Watch, source: str) -> None:
        self.options = options
        self.rt = runtime
        self.watch = watch
        self.source = source
        self.started = runtime.clock()
        self.pulls = 0
        self.since_ms: int | None = None
        self.until_ms: int | None = None
        self.covered_ms: int | None = None  # API: every row up to here was fetched
        self.stop: Stop | None = None
        self.atlas: Dict[str, Any] | None = None
        self.pull_errors = 0
        self.console = Console(options.quiet, options.verbose, stream=runtime.stderr or sys.stderr)

    # -- messages ----------------------------------------------------------------------------
    def say(self, message: str) -> None:
        self.console.info(redact.scrub(message))

    def warn(self, message: str, always: bool = False) -> None:
        """A warning: dropped by -q unless `always` (the end of the watch, the hook's trouble)."""
        (self.console.warn if always else self.console.item)(redact.scrub(message))

    # -- figures -----------------------------------------------------------------------------
    def result(self) -> analyze.SoakResult:
        o, limits = self.options, self.options.limits
        aopts = analyze.Options(baseline_cold_ping_ms=limits.baseline_cold_ping_ms, factor=limits.factor,
                                gate_cmd=limits.gate_cmd, min_cold_samples=limits.min_cold_samples, patterns=o.patterns,
                                since_ms=self.since_ms, until_ms=self.until_ms, hourly=True, chart=bool(o.chart))
        tally = self.watch.tally
        name = o.input if o.input is not None else "observability-api"
        inputs = [analyze.InputSummary(name, self.source, dict(tally.formats), tally.records, tally.malformed, 0)]
        return analyze.summarize_tally(tally, inputs, aopts)

    def watch_json(self, final: bool) -> Dict[str, Any]:
        return {
            "source": self.source, "final": final, "pulls": self.pulls, "pull_errors": self.pull_errors,
            "elapsed_s": round(self.rt.clock() - self.started, 1),
            "window": {"since": iso_ms(self.since_ms), "until": iso_ms(self.until_ms)},
            "events_from": iso_ms(self.watch.first_ms), "events_until": iso_ms(self.watch.latest_ms),
            "covered_until": iso_ms(self.covered_ms),
            "judged_through_hour": iso_ms(self.watch.judged_hour),
            "limits": report.limits_json(self.options.limits, None),
            "atlas": self.atlas,
            "hours": [{**row, "hour": iso_ms(row["hour"])} for row in self.watch.hour_rows()],
        }

    def write_reports(self, result: analyze.SoakResult, final: bool) -> None:
        """Every output replaced atomically, so each can be opened at any moment; '-' only at the end."""
        o = self.options
        watch = self.watch_json(final)
        if o.chart and (final or o.chart != "-"):
            write_output(o.chart, report.chart(result, self.stop))
        if o.output and (final or o.output != "-"):
            write_output(o.output, report.markdown(result, self.stop, watch, o.limits, o.chart))
        if o.json and (final or o.json != "-"):
            write_output(o.json, report.json_text(result, self.stop, watch))

    def status(self, result: analyze.SoakResult) -> str:
        gate = result.gate
        counts = report.report.counts(result)
        cold = "—" if gate.cold_p95_ms is None else f"{gate.cold_p95_ms:,.1f} ms"
        versus = f" vs {gate.threshold_ms:,.1f} ms" if gate.threshold_ms is not None else " (no baseline)"
        until = iso_ms(self.watch.latest_ms)
        decision = report.with_stop(result, self.stop).decision
        return (f"soak-watch: {format_duration(self.rt.clock() - self.started)} watched, events to "
                f"{until[:16] + 'Z' if until else '—'}, {counts['cmd_timing']:,} samples ({gate.cold_samples:,} cold), "
                f"cold P95 {cold}{versus}, Mongo errors {counts['mongo_connection_errors']:,}, dual-write "
                f"{counts['dual_write_failures']:,}, exceededCpu {counts['cpu_time_exceeded']:,}; "
                f"{'decision' if self.stop else 'so far'} {decision}")

    def tick(self) -> None:
        """After a pull: the Atlas check, then (unless that stops the watch) the outputs and one status line."""
        if self.stop is None:
            self.stop = self.check_atlas()
        if self.stop is None:
            self.publish()

    def publish(self) -> None:
        result = self.result()
        self.write_reports(result, final=False)
        self.say(self.status(result))

    # -- Atlas -------------------------------------------------------------------------------
    _atlas_client: Any = None

    def check_atlas(self) -> Stop | None:
        o = self.options
        if not o.atlas_group:
            return None
        try:
            if self._atlas_client is None:
                from cutover.atlas.auth import auth_from_env
                from cutover.atlas.client import AtlasClient
                from cutover.core.config import atlas_api_base
                from cutover.core.http import HttpClient

                http = HttpClient(atlas_api_base(), timeout=30.0, retries=2, backoff_max=5.0, sleep=self.rt.sleep)
                self._atlas_client = AtlasClient(http, auth_from_env(http))
            reading = self._atlas_client.connections(o.atlas_group, o.atlas_process)
        except ConfigError:
            raise
        except CutoverError as exc:
            self.warn(f"soak-watch: Atlas reading failed ({exc}); tried again after the next pull")
            return None
        max_pct = o.atlas_max_pct if o.atlas_max_pct is not None else 60.0  # `resolved` refuses 'off' with a group
        peaks = [p for p in (reading.peak, (self.atlas or {}).get("peak")) if p is not None]
        self.atlas = {"group": o.atlas_group, "process": o.atlas_process, "cap": o.atlas_cap, "max_pct": max_pct,
                      "threshold": o.atlas_cap * max_pct / 100.0, "latest": reading.latest,
                      "peak": max(peaks) if peaks else None, "readings": (self.atlas or {}).get("readings", 0) + 1}
        latest = self.watch.latest_ms
        return atlas_over(reading.peak, o.atlas_cap, max_pct, hour_of(latest) if latest is not None else None,
                          reading.peak_at)

    # -- the end -----------------------------------------------------------------------------
    def finish(self, run_hook: bool = True) -> int:
        result = self.result()
        self.write_reports(result, final=True)
        self.say(self.status(result))
        shown = report.with_stop(result, self.stop)
        if self.stop is not None:
            self.console.always(redact.scrub(
                f"soak-watch: STOP ({self.stop.condition}): {self.stop.detail}. Exit {EXIT_GATE_FAILED} (PIVOT): "
                "follow the rollback in the runbook; the report is in " + (self.options.output or "--json")))
            code = EXIT_GATE_FAILED
        else:
            self.say(f"soak-watch: {shown.decision}: {shown.gate.reason}")
            code = result.exit_code
        if run_hook and self.options.on_stop:
            self.hook(shown, code)
        return code

    def hook(self, result: analyze.SoakResult, code: int) -> None:
        """The operator's --on-stop command, with the decision in its environment and no secret."""
        env = {k: v for k, v in os.environ.items() if not _secret_env(k, v)}
        stop = self.stop
        gate = result.gate
        env.update({
            "SOAK_DECISION": gate.decision, "SOAK_EXIT_CODE": str(code), "SOAK_REASON": gate.reason,
            "SOAK_CONDITION": stop.condition if stop else "", "SOAK_DETAIL": stop.detail if stop else "",
            "SOAK_HOUR": (report.stop_json(stop) or {}).get("hour") or "",
            "SOAK_COLD_P95_MS": "" if gate.cold_p95_ms is None else f"{gate.cold_p95_ms:.1f}",
            "SOAK_THRESHOLD_MS": "" if gate.threshold_ms is None else f"{gate.threshold_ms:.1f}",
            "SOAK_COLD_SAMPLES": str(gate.cold_samples),
            "SOAK_REPORT": os.path.abspath(self.options.output) if self.options.output not in (None, "-") else "",
            "SOAK_JSON": os.path.abspath(self.options.json) if self.options.json not in (None, "-") else "",
        })
        env = {k: redact.scrub(v) for k, v in env.items()}
        try:
            done = subprocess.run(self.options.on_stop, shell=True, env=env, stdin=subprocess.DEVNULL,  # noqa: S602 - the operator's own command
                                  capture_output=True, text=True, timeout=HOOK_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.warn(f"soak-watch: --on-stop did not finish within {HOOK_TIMEOUT_S:g}s; left behind", always=True)
            return
        except OSError as exc:
            self.warn(f"soak-watch: --on-stop could not run: {exc}", always=True)
            return
        for line in (done.stdout + done.stderr).splitlines():
            self.say(f"on-stop: {line}")
        if done.returncode != 0:
            self.warn(f"soak-watch: --on-stop exited {done.returncode}", always=True)


def _secret_env(name: str, value: str) -> bool:
    """cutover's secrets (and anything holding a registered secret value) never reach the hook."""
    base = name[:-5] if name.endswith("_FILE") else name
    if base in redact.SECRET_ENV_VARS or base in ("ATLAS_PUBLIC_KEY", "ATLAS_CLIENT_ID", "CLOUDFLARE_API_TOKEN"):
        return True
    return redact.scrub(value) != value
