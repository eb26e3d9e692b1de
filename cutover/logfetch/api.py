"""fetch-logs from the Workers Observability API: frames walked oldest first, paced by the
token's budget, every committed frame checkpointed so that --resume goes on after a crash."""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List

from cutover.core import cloudflare
from cutover.core.checkpoint import Checkpoint
from cutover.core.config import cloudflare_account_id, cloudflare_api_base
from cutover.core.console import Console
from cutover.core.progress import Progress, format_duration
from cutover.core.timespec import iso_ms
from cutover.errors import EXIT_OK, ConfigError, CutoverError, UsageError
from cutover.logfetch.client import TelemetryClient
from cutover.logfetch.frames import BoundaryDedup, FrameWalker, Leaf
from cutover.logfetch.options import FetchOptions, check_output, duration_ms, filters, window
from cutover.logfetch.output import AppendOutput
from cutover.logfetch.query import build_body, row_time
from cutover.logfetch.summary import QuietTracker, finish, merge_gaps, span, spans

RETENTION_DAYS = 7  # Workers Logs retention on the Paid plan (3 days on Free)
DAY_MS = 86_400_000
COUNTERS = ("requests", "splits", "throttled", "duplicates")


def fresh_state(from_ms: int, to_ms: int) -> Dict[str, Any]:
    return {"from_ms": from_ms, "to_ms": to_ms, "done_until_ms": from_ms, "bytes": 0, "rows": 0,
            "requests": 0, "splits": 0, "throttled": 0, "duplicates": 0, "gaps": [], "boundary_ids": {},
            "quiet_last_ms": None, "quiet": [], "first_ms": None, "last_ms": None, "abr_level": 1.0}


class ApiFetch:
    """One fetch: its window and checkpointed state, the client, the output."""

    def __init__(self, options: FetchOptions, now_ms: int, console: Console) -> None:
        if not options.script:
            raise UsageError("--script NAME is required (the Worker whose logs to fetch), or use --from-dir DIR")
        if options.output == "-" and options.resume:
            raise UsageError("--resume needs a file --output, not stdout")
        if options.output == "-" and options.json == "-":
            raise UsageError("--output - and --json - would both write to stdout; give one of them a file")
        self.options = options
        self.console = console
        self.frame_ms = duration_ms(options.frame, "--frame")
        self.quiet_ms = duration_ms(options.quiet_gap, "--quiet-gap")
        self.filters = filters(options)
        self.resumable = options.output != "-"
        self.checkpoint_path = options.checkpoint or f"{options.output}.checkpoint.json"
        job = {"command": "fetch-logs", "output": os.path.abspath(options.output) if self.resumable else "-",
               "script": options.script, "filters": self.filters}
        self.checkpoint = Checkpoint(self.checkpoint_path, job)
        self.resumed = False
        self.state = self._open(now_ms)
        self.from_ms, self.to_ms = int(self.state["from_ms"]), int(self.state["to_ms"])
        if self.from_ms < now_ms - RETENTION_DAYS * DAY_MS:
            console.item(f"fetch-logs: --since is more than {RETENTION_DAYS} days ago; Workers Logs keeps "
                         f"{RETENTION_DAYS} days (3 on Free), older rows are gone")

    def _open(self, now_ms: int) -> Dict[str, Any]:
        """The saved state with --resume, else a new one for --since/--until. --resume without a
        checkpoint starts from the beginning when --since says where; it cannot guess the window."""
        options = self.options
        if options.resume:
            if self.checkpoint.load():
                self.resumed = True
                state = self.checkpoint.state
                if options.since or options.until:
                    self.console.info(f"fetch-logs: resuming the saved window {iso_ms(int(state['from_ms']))} .. "
                                      f"{iso_ms(int(state['to_ms']))} (--since/--until ignored)")
                return state
            if not options.since:
                raise CutoverError(f"nothing to resume: no checkpoint at {os.path.abspath(self.checkpoint_path)}; "
                                   "give --since (e.g. --since 24h) to start the fetch from the beginning")
            self.console.info(self.checkpoint.start_note())
        from_ms, to_ms = window(options, now_ms, required=True)
        check_output(options)
        if self.resumable and self.checkpoint.exists():
            raise CutoverError(
                f"an interrupted run left {self.checkpoint_path} / {options.output}.partial: add --resume to continue it, "
                "or delete them to start over"
            )
        assert from_ms is not None and to_ms is not None
        self.checkpoint.state = fresh_state(from_ms, to_ms)
        return self.checkpoint.state

    def dry_run(self) -> int:
        options = self.options
        first_to = min(self.from_ms + self.frame_ms, self.to_ms)
        print(f"would query {iso_ms(self.from_ms)} .. {iso_ms(self.to_ms)} "
              f"({format_duration((self.to_ms - self.from_ms) / 1000)}) "
              f"for script {options.script!r} in frames of at most {options.frame}, {options.limit} rows a page,\n"
              f"POST {cloudflare_api_base()}/accounts/$CLOUDFLARE_ACCOUNT_ID/workers/observability/telemetry/query\n"
              f"first body:")
        print(json.dumps(build_body(self.from_ms, first_to, options.limit, self.filters), indent=2))
        return EXIT_OK

    def _connect(self) -> None:
        options = self.options
        account_id = options.account_id or cloudflare_account_id()
        if not account_id:
            raise ConfigError("CLOUDFLARE_ACCOUNT_ID is not set (or pass --account-id)")
        # Waits for the budget and retries are said (with their progress) by core.waits.
        self.http = cloudflare.client(headroom=options.budget_headroom, api_limit=options.api_limit)
        self.client = TelemetryClient(self.http, account_id, self.filters, options.limit)
        self.walker = FrameWalker(self.client.query, options.limit, self.frame_ms)
        self.output = AppendOutput(options.output)
        self.output.start(int(self.state["bytes"]) if self.resumed else None)
        self.dedup = BoundaryDedup(ids=self.state.get("boundary_ids"))
        self.quiet = QuietTracker(self.from_ms, self.quiet_ms, self.state.get("quiet_last_ms"), self.state.get("quiet"))
        self.base = {k: int(self.state[k]) for k in COUNTERS}

    def _commit(self, leaf: Leaf, rows: List[Dict[str, Any]]) -> None:
        """One frame's rows appended and the state that says so saved."""
        state = self.state
        for row in rows:
            ts = row_time(row)
            self.quiet.see(ts)
            if ts is not None:
                state["first_ms"] = ts if state["first_ms"] is None else min(state["first_ms"], ts)
                state["last_ms"] = ts if state["last_ms"] is None else max(state["last_ms"], ts)
        if leaf.gap:
            state["gaps"].append([leaf.from_ms, leaf.to_ms, leaf.gap])
            self.console.warn(f"fetch-logs: GAP {iso_ms(leaf.from_ms)} .. {iso_ms(leaf.to_ms)}: {leaf.gap}")
        state["bytes"] = self.output.append(rows)
        state["rows"] += len(rows)
        state["done_until_ms"] = leaf.to_ms
        state["boundary_ids"] = self.dedup.ids
        state["quiet_last_ms"], state["quiet"] = self.quiet.last_ms, self.quiet.found
        state["requests"] = self.base["requests"] + self.walker.stats.requests
        state["splits"] = self.base["splits"] + self.walker.stats.splits
        state["throttled"] = self.base["throttled"] + self.http.stats.throttled
        state["duplicates"] = self.base["duplicates"] + self.dedup.skipped
        state["abr_level"] = max(float(state["abr_level"]), self.client.max_abr_level)
        if self.resumable:
            self.checkpoint.save()

    def _walk(self, progress: Progress) -> None:
        start_ms = int(self.state["done_until_ms"])
        progress.update(int((start_ms - self.from_ms) // 60000))
        if self.resumed:
            self.console.info(f"fetch-logs: resuming at {iso_ms(start_ms)} with {self.state['rows']:,} rows already written")
        for leaf in self.walker.walk(start_ms, self.to_ms):
            rows = self.dedup.fresh(leaf)
            self.console.debug(f"fetch-logs: {iso_ms(leaf.from_ms)} .. {iso_ms(leaf.to_ms)}: {len(rows)} rows "
                               f"({leaf.requests} request{'s' if leaf.requests != 1 else ''})")
            self._commit(leaf, rows)
            done_min = int((leaf.to_ms - self.from_ms) // 60000)
            progress.update(max(0, done_min - progress.count))

    def _saved_nothing(self) -> bool:
        """A run that failed before its first committed frame leaves nothing behind (nothing to resume)."""
        if not self.resumable or self.checkpoint.exists():
            return False
        try:
            os.unlink(self.output.partial)
        except OSError:
            pass
        return True

    def run(self) -> int:
        if self.options.dry_run:
            return self.dry_run()
        self._connect()
        progress = Progress("fetch-logs", total=max(1, (self.to_ms - self.from_ms) // 60000), unit=" log-min",
                            enabled=False if self.options.quiet else None)
        state = self.state
        try:
            self._walk(progress)
        except KeyboardInterrupt:
            progress.close()
            self._saved_nothing()
            if self.resumable:
                self.console.info(f"fetch-logs: interrupted at {iso_ms(int(state['done_until_ms']))} with "
                                  f"{state['rows']:,} rows saved; run the same command with --resume to continue")
            raise
        except CutoverError as exc:
            progress.close()
            if self._saved_nothing():
                raise
            hint = (f"; {state['rows']:,} rows up to {iso_ms(int(state['done_until_ms']))} are saved, "
                    "rerun with --resume to continue") if self.resumable else ""
            raise CutoverError(f"{exc}{hint}", exc.exit_code) from None
        progress.close()
        self.output.finish()
        if self.resumable:
            self.checkpoint.remove()
        return finish(self.summary(), self.options.json, self.console)

    def summary(self) -> Dict[str, Any]:
        state, options = self.state, self.options
        return {
            "source": "observability", "script": options.script, "output": options.output,
            "from": iso_ms(self.from_ms), "to": iso_ms(self.to_ms), "rows": state["rows"],
            "first_row": iso_ms(state["first_ms"]), "last_row": iso_ms(state["last_ms"]),
            "requests": state["requests"], "splits": state["splits"], "throttled": state["throttled"],
            "duplicates_skipped": state["duplicates"], "sampled": state["abr_level"] > 1, "abr_level": state["abr_level"],
            "filters": self.filters, "resumed": self.resumed,
            "gaps": [span(a, b, reason) for a, b, reason in merge_gaps(state["gaps"])],
            "quiet": spans(self.quiet.close(self.to_ms)),
            "complete": not state["gaps"],
        }
