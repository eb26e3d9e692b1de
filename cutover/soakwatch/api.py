"""soak-watch --from-api: pull the Workers Observability API every --interval, resumable from --state."""
from __future__ import annotations

from typing import Any, List

from cutover.core import cloudflare
from cutover.core.checkpoint import Checkpoint
from cutover.core.config import cloudflare_account_id
from cutover.core.http import RetryEvent
from cutover.core.progress import format_duration
from cutover.core.timespec import iso_ms, parse_time_ms
from cutover.errors import ConfigError, CutoverError, UsageError
from cutover.logfetch.client import TelemetryClient
from cutover.logfetch.frames import BoundaryDedup, FrameWalker
from cutover.logfetch.query import script_filter, soak_filter
from cutover.soak.model import HOUR_MS
from cutover.soakwatch.conditions import Stop
from cutover.soakwatch.options import Options
from cutover.soakwatch.session import Runtime, Session
from cutover.soakwatch.watch import Watch, hour_of

API_FRAME_MS = HOUR_MS
DEFAULT_STATE = "soak-watch.state.json"


def api_filters(options: Options) -> List[Any]:
    filters = [script_filter(options.script or "")]
    if options.patterns.is_default:
        filters.append(soak_filter())  # only the rows the rules count; custom patterns need every row
    return filters


class ApiWatch:
    """The pulls of one watch: where the logs are fetched up to, the saved state, the client."""

    def __init__(self, options: Options, rt: Runtime) -> None:
        if not options.script:
            raise UsageError("--from-api needs --script NAME (the Worker whose logs to watch)")
        self.options = options
        self.rt = rt
        self.filters = api_filters(options)
        self.state_path = options.state or DEFAULT_STATE
        self.checkpoint = Checkpoint(self.state_path, {"command": "soak-watch", "source": "api",
                                                       "script": options.script, "filters": self.filters})
        self.session = self._open()
        self.good_pulls = 0

    def _open(self) -> Session:
        """The saved watch when --state holds one, else a new one from --since (default now)."""
        options = self.options
        if self.checkpoint.load():
            saved = self.checkpoint.state
            since_ms, until_ms = int(saved["since_ms"]), int(saved["until_ms"])
            watch = Watch.from_json(saved["watch"], options.patterns, since_ms, until_ms, f"--state {self.state_path}",
                                     options.limits.gate_cmd)
            session = Session(options, self.rt, watch, "api")
            session.started = float(saved["started"])
            session.pulls, session.pull_errors = int(saved["pulls"]), int(saved.get("pull_errors", 0))
            covered = int(saved["covered_ms"])
            self.ids = dict(saved.get("boundary_ids") or {})
            stop = saved.get("stop")
            session.stop = Stop(stop["condition"], stop["hour_ms"], stop["detail"]) if stop else None
            session.atlas = saved.get("atlas")
            session.say(f"soak-watch: resuming from {self.state_path}: {watch.tally.cmd_timing:,} samples counted, "
                        f"logs fetched up to {iso_ms(covered)}"
                        + (" (--since ignored: the saved window is kept)" if options.since else ""))
        else:
            now_ms = int(self.rt.clock() * 1000)
            since_ms = parse_time_ms(options.since, now_ms, "--since") if options.since else now_ms
            until_ms = since_ms + options.duration_ms
            session = Session(options, self.rt, Watch(options.patterns, since_ms, until_ms, gate_cmd=options.limits.gate_cmd), "api")
            covered, self.ids = since_ms, {}
            session.say(f"soak-watch: watching {options.script!r} from {iso_ms(since_ms)} to {iso_ms(until_ms)}, "
                        f"a pull every {format_duration(options.interval_s)}; state in {self.state_path}")
        session.since_ms, session.until_ms, session.covered_ms = since_ms, until_ms, covered
        return session

    def _connect(self) -> None:
        options, session = self.options, self.session
        account_id = options.account_id or cloudflare_account_id()
        if not account_id:
            raise ConfigError("CLOUDFLARE_ACCOUNT_ID is not set (or pass --account-id)")

        def retried(event: RetryEvent) -> None:
            session.say(f"soak-watch: {event.reason}, retry {event.attempt} in {event.delay:.1f}s")

        token = cloudflare.api_token() or ""
        make_budget = self.rt.budget or (lambda tok, headroom: cloudflare.budget(tok, headroom=headroom))
        http = cloudflare.client(token, pace=make_budget(token, options.budget_headroom), on_retry=retried,
                                 sleep=self.rt.sleep)
        self.client = TelemetryClient(http, account_id, self.filters, options.limit)
        self.walker = FrameWalker(self.client.query, options.limit, API_FRAME_MS)
        self.dedup = BoundaryDedup(ids=self.ids)

    def save(self) -> None:
        session = self.session
        stop = session.stop
        self.checkpoint.state = {
            "since_ms": session.since_ms, "until_ms": session.until_ms, "covered_ms": session.covered_ms,
            "boundary_ids": self.dedup.ids, "watch": session.watch.to_json(), "started": session.started,
            "pulls": session.pulls, "pull_errors": session.pull_errors, "atlas": session.atlas,
            "stop": None if stop is None else {"condition": stop.condition, "hour_ms": stop.hour_ms, "detail": stop.detail},
        }
        self.checkpoint.save()

    def _fetch(self, to_ms: int) -> None:
        """Every row up to `to_ms` (frame by frame, judged at each new complete hour)."""
        session, watch = self.session, self.session.watch
        start = int(session.covered_ms if session.covered_ms is not None else session.since_ms or 0)
        if to_ms <= start:
            return
        for leaf in self.walker.walk(start, to_ms):
            for row in self.dedup.fresh(leaf):
                watch.count_value(row)
            hour_before = hour_of(int(session.covered_ms or 0))
            session.covered_ms = leaf.to_ms
            if leaf.gap:
                session.warn(f"soak-watch: GAP {iso_ms(leaf.from_ms)} .. {iso_ms(leaf.to_ms)}: {leaf.gap}")
            if watch.new_hour_known(leaf.to_ms):
                session.stop = watch.judge(self.options.limits, horizon_ms=leaf.to_ms)
            if session.stop is not None:
                return
            if hour_of(leaf.to_ms) != hour_before:
                self.save()  # a long catch-up keeps its progress hour by hour

    def pull(self, to_ms: int) -> None:
        """One pull; a failed one is counted and said, and the watch goes on (a refusal on the
        very first pull is a wrong token or account: that ends the run)."""
        session = self.session
        try:
            self._fetch(to_ms)
            self.good_pulls += 1
        except ConfigError as exc:
            if self.good_pulls == 0:
                raise
            session.pull_errors += 1
            session.warn(f"soak-watch: Cloudflare refused the pull ({exc}); "
                         "the watch goes on and tries again at the next pull")
        except CutoverError as exc:
            session.pull_errors += 1
            session.warn(f"soak-watch: pull failed after retries ({exc}); logs are fetched up to "
                         f"{iso_ms(session.covered_ms)}, the next pull goes on from there")
        session.pulls += 1

    def run(self) -> int:
        session, options, rt = self.session, self.options, self.rt
        if session.stop is not None:
            session.say(f"soak-watch: this watch already stopped ({session.stop.condition}); "
                        "start a new --state to watch again")
            return session.finish(run_hook=False)
        self._connect()
        until_ms = int(session.until_ms or 0)
        try:
            while True:
                pull_started = rt.clock()
                self.pull(min(int(pull_started * 1000) - options.api_delay_ms, until_ms))
                if session.stop is None:
                    session.stop = session.check_atlas()
                ended = session.stop is None and int(session.covered_ms or 0) >= until_ms
                if ended:
                    session.stop = session.watch.judge(options.limits, horizon_ms=until_ms, eof=True)
                self.save()
                if session.stop is not None or ended:
                    return session.finish()
                session.publish()
                wait = pull_started + options.interval_s - rt.clock()
                if wait > 0:
                    rt.sleep(wait)
        except KeyboardInterrupt:
            self.save()
            session.warn(f"soak-watch: interrupted; figures saved in {self.state_path}: run the same command to go on",
                         always=True)
            raise


def run_api(options: Options, rt: Runtime) -> int:
    return ApiWatch(options, rt).run()
