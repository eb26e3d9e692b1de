"""soak-watch: follow a soak's logs (the Observability API or a stream), keep analyze-soak's
figures incrementally, judge each complete event-hour against the stop-conditions."""
from __future__ import annotations

import io
import os
import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable, Dict, List, TextIO

from cutover.core import redact
from cutover.core.checkpoint import Checkpoint
from cutover.core.fsutil import write_output
from cutover.core.progress import format_duration
from cutover.core.timespec import iso_ms, parse_time_ms
from cutover.errors import EXIT_GATE_FAILED, ConfigError, CutoverError, UsageError
from cutover.soak import analyze
from cutover.soak.model import HOUR_MS, Patterns
from cutover.soakwatch import report
from cutover.soakwatch.conditions import Limits, Stop, atlas_over
from cutover.soakwatch.watch import Watch, hour_of

HOOK_TIMEOUT_S = 120.0
API_FRAME_MS = HOUR_MS


@dataclass(frozen=True)
class Options:
    input: str | None  # a file or '-'; None with from_api
    from_api: bool = False
    script: str | None = None
    account_id: str | None = None
    since: str | None = None  # start of the watched window (default: now for the API, first event for input)
    duration_ms: int = 72 * HOUR_MS
    interval_s: float = 300.0
    api_delay_ms: int = 120_000  # Workers Logs ingestion lag: pull only rows older than this
    headroom: float = 0.1
    limit: int = 2000
    baseline_cold_ping_ms: float | None = None
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
    atlas_max_pct: float = 60.0
    patterns: Patterns = field(default_factory=Patterns)
    state: str | None = None
    output: str | None = "soak-decision.md"
    json: str | None = None
    chart: str | None = None
    on_stop: str | None = None
    quiet: bool = False
    verbose: bool = False

    @property
    def limits(self) -> Limits:
        threshold = self.baseline_cold_ping_ms * self.factor if self.baseline_cold_ping_ms is not None else None
        return Limits(threshold, self.min_cold_samples, self.stop_hours, self.max_mongo_error_pct,
                      self.max_dual_write_pct, self.max_cpu_exceeded_pct, self.min_failures)


@dataclass
class Runtime:
    """The edges a test replaces: the clock, sleeping, stdin, stderr."""

    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    stdin: BinaryIO | None = None
    stderr: TextIO | None = None


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

    # -- messages ----------------------------------------------------------------------------
    def say(self, message: str, always: bool = False) -> None:
        if always or not self.options.quiet:
            print(redact.scrub(message), file=self.rt.stderr or sys.stderr, flush=True)

    # -- figures -----------------------------------------------------------------------------
    def result(self) -> analyze.SoakResult:
        o = self.options
        aopts = analyze.Options(baseline_cold_ping_ms=o.baseline_cold_ping_ms, factor=o.factor, gate_cmd=None,
                                min_cold_samples=o.min_cold_samples, patterns=o.patterns, since_ms=self.since_ms,
                                until_ms=self.until_ms, hourly=True, chart=bool(o.chart))
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
            self.say(f"soak-watch: warning: Atlas reading failed ({exc}); tried again after the next pull")
            return None
        peaks = [p for p in (reading.peak, (self.atlas or {}).get("peak")) if p is not None]
        self.atlas = {"group": o.atlas_group, "process": o.atlas_process, "cap": o.atlas_cap, "max_pct": o.atlas_max_pct,
                      "threshold": o.atlas_cap * o.atlas_max_pct / 100.0, "latest": reading.latest,
                      "peak": max(peaks) if peaks else None, "readings": (self.atlas or {}).get("readings", 0) + 1}
        latest = self.watch.latest_ms
        return atlas_over(reading.peak, o.atlas_cap, o.atlas_max_pct, hour_of(latest) if latest is not None else None,
                          reading.peak_at)

    # -- the end -----------------------------------------------------------------------------
    def finish(self, run_hook: bool = True) -> int:
        result = self.result()
        self.write_reports(result, final=True)
        self.say(self.status(result))
        shown = report.with_stop(result, self.stop)
        if self.stop is not None:
            self.say(f"soak-watch: STOP ({self.stop.condition}): {self.stop.detail}. Exit {EXIT_GATE_FAILED} (PIVOT): "
                     "follow the rollback in the runbook; the report is in " + (self.options.output or "--json"), always=True)
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
            self.say(f"soak-watch: warning: --on-stop did not finish within {HOOK_TIMEOUT_S:g}s; left behind", always=True)
            return
        except OSError as exc:
            self.say(f"soak-watch: warning: --on-stop could not run: {exc}", always=True)
            return
        for line in (done.stdout + done.stderr).splitlines():
            self.say(f"on-stop: {line}")
        if done.returncode != 0:
            self.say(f"soak-watch: warning: --on-stop exited {done.returncode}", always=True)


def _secret_env(name: str, value: str) -> bool:
    """cutover's secrets (and anything holding a registered secret value) never reach the hook."""
    base = name[:-5] if name.endswith("_FILE") else name
    if base in redact.SECRET_ENV_VARS or base in ("ATLAS_PUBLIC_KEY", "ATLAS_CLIENT_ID", "CLOUDFLARE_API_TOKEN"):
        return True
    return redact.scrub(value) != value


def _time_arg(text: str, now_ms: int, flag: str) -> int:
    return parse_time_ms(text, now_ms, flag)


# -- the Observability API --------------------------------------------------------------------

def _api_filters(options: Options) -> List[Any]:
    from cutover.logfetch.query import script_filter, soak_filter

    filters = [script_filter(options.script or "")]
    if options.patterns.is_default:
        filters.append(soak_filter())  # only the rows the rules count; custom patterns need every row
    return filters


def _run_api(options: Options, rt: Runtime) -> int:
    from cutover.core.config import cloudflare_account_id, cloudflare_api_base, read_secret
    from cutover.core.http import HttpClient, RetryEvent
    from cutover.core.ratelimit import RateLimiter, cloudflare_budget
    from cutover.logfetch.client import TelemetryClient
    from cutover.logfetch.frames import BoundaryDedup, FrameWalker

    if not options.script:
        raise UsageError("--from-api needs --script NAME (the Worker whose logs to watch)")
    filters = _api_filters(options)
    state_path = options.state or "soak-watch.state.json"
    job = {"command": "soak-watch", "source": "api", "script": options.script, "filters": filters}
    checkpoint = Checkpoint(state_path, job)
    now_ms = int(rt.clock() * 1000)
    if checkpoint.load():
        saved = checkpoint.state
        since_ms, until_ms = int(saved["since_ms"]), int(saved["until_ms"])
        watch = Watch.from_json(saved["watch"], options.patterns, since_ms, until_ms, f"--state {state_path}")
        session = Session(options, rt, watch, "api")
        session.started = float(saved["started"])
        session.pulls, session.pull_errors = int(saved["pulls"]), int(saved.get("pull_errors", 0))
        covered = int(saved["covered_ms"])
        ids = dict(saved.get("boundary_ids") or {})
        stop = saved.get("stop")
        session.stop = Stop(stop["condition"], stop["hour_ms"], stop["detail"]) if stop else None
        session.atlas = saved.get("atlas")
        session.say(f"soak-watch: resuming from {state_path}: {watch.tally.cmd_timing:,} samples counted, "
                    f"logs fetched up to {iso_ms(covered)}" + (" (--since ignored: the saved window is kept)" if options.since else ""))
    else:
        since_ms = _time_arg(options.since, now_ms, "--since") if options.since else now_ms
        until_ms = since_ms + options.duration_ms
        watch = Watch(options.patterns, since_ms, until_ms)
        session = Session(options, rt, watch, "api")
        covered, ids = since_ms, {}
        session.say(f"soak-watch: watching {options.script!r} from {iso_ms(since_ms)} to {iso_ms(until_ms)}, "
                    f"a pull every {format_duration(options.interval_s)}; state in {state_path}")
    session.since_ms, session.until_ms, session.covered_ms = since_ms, until_ms, covered
    if session.stop is not None:
        session.say(f"soak-watch: this watch already stopped ({session.stop.condition}); start a new --state to watch again")
        return session.finish(run_hook=False)

    account_id = options.account_id or cloudflare_account_id()
    if not account_id:
        raise ConfigError("CLOUDFLARE_ACCOUNT_ID is not set (or pass --account-id)")
    token = read_secret("CLOUDFLARE_API_TOKEN", required=True)

    def retried(event: RetryEvent) -> None:
        session.say(f"soak-watch: {event.reason}, retry {event.attempt} in {event.delay:.1f}s")

    limiter = RateLimiter(window_limit=cloudflare_budget(options.headroom), clock=rt.clock, sleep=rt.sleep)
    http = HttpClient(cloudflare_api_base(), headers={"Authorization": f"Bearer {token}"}, pace=limiter,
                      on_retry=retried, sleep=rt.sleep)
    client = TelemetryClient(http, account_id, filters, options.limit)
    walker = FrameWalker(client.query, options.limit, API_FRAME_MS)
    dedup = BoundaryDedup(ids=ids)
    limits = options.limits
    good_pulls = 0

    def save() -> None:
        checkpoint.state = {
            "since_ms": since_ms, "until_ms": until_ms, "covered_ms": session.covered_ms, "boundary_ids": dedup.ids,
            "watch": watch.to_json(), "started": session.started, "pulls": session.pulls,
            "pull_errors": session.pull_errors, "atlas": session.atlas,
            "stop": None if session.stop is None else {"condition": session.stop.condition, "hour_ms": session.stop.hour_ms,
                                                       "detail": session.stop.detail},
        }
        checkpoint.save()

    try:
        while True:
            pull_started = rt.clock()
            to_ms = min(int(pull_started * 1000) - options.api_delay_ms, until_ms)
            try:
                if to_ms > int(session.covered_ms or since_ms):
                    for leaf in walker.walk(int(session.covered_ms or since_ms), to_ms):
                        for row in dedup.fresh(leaf):
                            watch.count_value(row)
                        hour_before = hour_of(int(session.covered_ms or since_ms))
                        session.covered_ms = leaf.to_ms
                        if leaf.gap:
                            session.say(f"soak-watch: warning: GAP {iso_ms(leaf.from_ms)} .. {iso_ms(leaf.to_ms)}: {leaf.gap}")
                        if watch.new_hour_known(leaf.to_ms):
                            session.stop = watch.judge(limits, horizon_ms=leaf.to_ms)
                        if session.stop is not None:
                            break
                        if hour_of(leaf.to_ms) != hour_before:
                            save()  # a long catch-up keeps its progress hour by hour
                good_pulls += 1
            except ConfigError:
                if good_pulls == 0:
                    raise
                session.pull_errors += 1
                session.say(f"soak-watch: warning: Cloudflare refused the pull ({sys.exc_info()[1]}); "
                            "the watch goes on and tries again at the next pull")
            except CutoverError as exc:
                session.pull_errors += 1
                session.say(f"soak-watch: warning: pull failed after retries ({exc}); logs are fetched up to "
                            f"{iso_ms(session.covered_ms)}, the next pull goes on from there")
            session.pulls += 1
            if session.stop is None:
                session.stop = session.check_atlas()
            ended = session.stop is None and int(session.covered_ms or since_ms) >= until_ms
            if ended:
                session.stop = watch.judge(limits, horizon_ms=until_ms, eof=True)
            save()
            if session.stop is not None or ended:
                return session.finish()
            session.publish()
            wait = pull_started + options.interval_s - rt.clock()
            if wait > 0:
                rt.sleep(wait)
    except KeyboardInterrupt:
        save()
        session.say(f"soak-watch: interrupted; figures saved in {state_path}: run the same command to go on", always=True)
        raise


# -- a stream: --input FILE or - --------------------------------------------------------------

class _Follow:
    """read(n) returns what has arrived (at least one byte, or b'' at the end), so a live pipe is
    decoded as it comes instead of waiting for a full block."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def read(self, n: int) -> bytes:
        return self.stream.read1(n)


def _own_stdin() -> BinaryIO | None:
    """stdin on a descriptor of our own: the reader thread may still block on it when the watch
    ends, and a thread inside sys.stdin's buffer aborts the interpreter at exit."""
    try:
        return open(os.dup(sys.stdin.fileno()), "rb", buffering=0)  # noqa: SIM115 - lives as long as the reader
    except (OSError, ValueError, AttributeError):
        return None


def _pump(stream: Any, chunks: queue.Queue) -> None:
    """The reader thread: raw blocks as they arrive (b'' at the end); decoding stays in the main thread."""
    try:
        while True:
            data = stream.read1(1 << 16)
            chunks.put(data)
            if not data:
                return
    except BaseException as exc:  # noqa: BLE001 - handed to the main thread
        chunks.put(exc)


class _Chunks(io.RawIOBase):
    """The pumped blocks as a stream; while nothing arrives, `idle()` runs (status, Atlas, outputs)."""

    def __init__(self, chunks: queue.Queue, idle: Callable[[], float]) -> None:
        self.chunks = chunks
        self.idle = idle  # returns how long to wait before calling it again
        self.leftover = b""
        self.ended = False
        self.wait = 1.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        while not self.leftover:
            if self.ended:
                return 0
            try:
                item = self.chunks.get(timeout=max(0.01, min(1.0, self.wait)))
            except queue.Empty:
                self.wait = self.idle()
                continue
            if isinstance(item, BaseException):
                raise item
            if not item:
                self.ended = True
                return 0
            self.leftover = item
        n = min(len(buffer), len(self.leftover))
        buffer[:n] = self.leftover[:n]
        self.leftover = self.leftover[n:]
        return n


class _End(Exception):
    """The watch decided (stop-condition, end of the window or of the input)."""


def _run_stream(options: Options, rt: Runtime) -> int:
    from cutover.soak import jsonstream
    from cutover.soak.formats import csvrows
    from cutover.soak.inputs import container_of, open_input

    name = options.input or "-"
    checkpoint = None
    if options.state:
        if name != "-":
            raise UsageError("--state resumes --from-api or --input - (a live stream); a file is simply read again")
        checkpoint = Checkpoint(options.state, {"command": "soak-watch", "source": "stream"})
    now_ms = int(rt.clock() * 1000)
    since_ms = _time_arg(options.since, now_ms, "--since") if options.since else None
    until_ms = since_ms + options.duration_ms if since_ms is not None else None
    watch = Watch(options.patterns, since_ms, until_ms)
    session = Session(options, rt, watch, "stream")
    if checkpoint is not None and checkpoint.load():
        saved = checkpoint.state
        since_ms, until_ms = saved.get("since_ms"), saved.get("until_ms")
        watch = Watch.from_json(saved["watch"], options.patterns, since_ms, until_ms, f"--state {options.state}")
        session = Session(options, rt, watch, "stream")
        session.started, session.pulls = float(saved["started"]), int(saved["pulls"])
        session.say(f"soak-watch: resuming from {options.state}: {watch.tally.cmd_timing:,} samples counted; "
                    "counting the new stream on top")
    session.since_ms, session.until_ms = since_ms, until_ms

    def save() -> None:
        if checkpoint is not None:
            checkpoint.state = {"since_ms": session.since_ms, "until_ms": session.until_ms, "watch": watch.to_json(),
                                "started": session.started, "pulls": session.pulls}
            checkpoint.save()

    source = open_input(name, rt.stdin if rt.stdin is not None else _own_stdin())
    kind = session.source = container_of(source.head)
    chunks: queue.Queue = queue.Queue(maxsize=64)
    threading.Thread(target=_pump, args=(source.stream, chunks), name="soak-watch-reader", daemon=True).start()
    limits = options.limits
    next_tick = [rt.clock() + options.interval_s]

    def due() -> float:
        """The periodic status, outputs and Atlas check; seconds until the next one."""
        if rt.clock() >= next_tick[0]:
            session.pulls += 1
            session.tick()
            save()
            if session.stop is not None:
                raise _End
            next_tick[0] = rt.clock() + options.interval_s
        return next_tick[0] - rt.clock()

    def judge(eof: bool) -> None:
        if session.until_ms is None and watch.first_ms is not None:
            # No --since: the window starts with the first event.
            session.since_ms = watch.first_ms
            session.until_ms = watch.counter.until_ms = watch.first_ms + options.duration_ms
        ended = eof or (session.until_ms is not None and watch.latest_ms is not None and watch.latest_ms >= session.until_ms)
        if ended or watch.new_hour_known():
            session.stop = watch.judge(limits, eof=ended)
        if session.stop is not None or ended:
            raise _End
        due()

    stream = io.BufferedReader(_Chunks(chunks, due), buffer_size=1 << 16)
    try:
        try:
            if kind == "csv":
                for row in csvrows.rows(stream):  # type: ignore[arg-type]
                    if row is None:
                        watch.tally.malformed += 1
                    else:
                        watch.count_record(csvrows.row_record(row))
                    judge(False)
            elif kind != "empty":
                for value in jsonstream.values(_Follow(stream)):  # type: ignore[arg-type]
                    watch.count_value(value)
                    judge(False)
            if source.read_error:
                watch.tally.malformed += 1  # the rest of a cut-short .gz
                session.say(f"soak-watch: warning: {name}: compressed data ends early ({source.read_error}); "
                            "read what was there", always=True)
            if watch.tally.records == 0 and watch.tally.malformed > 0:
                raise CutoverError(f"--input {name}: not a log export: no record could be read "
                                   f"({watch.tally.malformed:,} malformed)")
            judge(True)
        except _End:
            pass
    except KeyboardInterrupt:
        save()
        session.write_reports(session.result(), final=False)
        hint = f"figures saved in {options.state}: restart the pipe with the same --state to go on" if checkpoint else \
            "the report holds the figures so far"
        session.say(f"soak-watch: interrupted; {hint}", always=True)
        raise
    session.pulls += 1
    if session.stop is None:
        session.stop = session.check_atlas()
    save()
    return session.finish()


def run(options: Options, runtime: Runtime | None = None) -> int:
    rt = runtime or Runtime()
    if options.stop_hours < 1:
        raise UsageError("--stop-hours must be at least 1")
    if options.from_api:
        return _run_api(options, rt)
    if options.input is None:
        raise UsageError("give --input FILE|- or --from-api")
    return _run_stream(options, rt)
