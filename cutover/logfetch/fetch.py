"""fetch-logs: the Observability API walk (paced, resumable) and the Logpush folder merge."""
from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from typing import Any, Dict, List

from cutover.core.checkpoint import Checkpoint
from cutover.core.config import cloudflare_account_id, cloudflare_api_base, read_secret
from cutover.core.fsutil import atomic_writer, write_output
from cutover.core.progress import Progress, format_duration
from cutover.core.timespec import iso_ms, parse_time_ms
from cutover.errors import ConfigError, CutoverError, UsageError
from cutover.logfetch.query import MAX_LIMIT, Filter, build_body, events_filter, row_time, script_filter, soak_filter
from cutover.logfetch.summary import QuietTracker, format_summary, merge_gaps, span, spans

RETENTION_DAYS = 7  # Workers Logs retention on the Paid plan (3 days on Free)
DAY_MS = 86_400_000


def _duration_ms(text: str, flag: str) -> int:
    value = parse_time_ms(text, 0, flag)
    if value >= 0 or text.strip().lower() == "now":
        raise UsageError(f"{flag} {text!r}: expected a duration like 30m or 1h")
    return -value


def _say(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr)


def _check_output(args: argparse.Namespace) -> None:
    if args.output == "-":
        return
    if os.path.isdir(args.output):
        raise UsageError(f"--output {args.output}: is a directory")
    if os.path.exists(args.output) and not args.force and not args.resume:
        raise CutoverError(f"--output {args.output} already exists; add --force to replace it")


def _window(args: argparse.Namespace, now_ms: int, required: bool) -> tuple:
    if not args.since:
        if required:
            raise UsageError("--since is required (e.g. --since 24h or --since 2026-11-27T18:00:00Z)")
        return None, (parse_time_ms(args.until, now_ms, "--until") if args.until else None)
    from_ms = parse_time_ms(args.since, now_ms, "--since")
    to_ms = parse_time_ms(args.until, now_ms, "--until") if args.until else now_ms
    if from_ms >= to_ms:
        raise UsageError(f"--since {iso_ms(from_ms)} is not before --until {iso_ms(to_ms)}")
    return from_ms, to_ms


def _filters(args: argparse.Namespace) -> List[Filter]:
    filters = [script_filter(args.script)]
    names = [n.strip() for item in args.only_events for n in item.split(",") if n.strip()]
    if names:
        filters.append(events_filter(names))
    if args.soak_only:
        filters.append(soak_filter())
    return filters


def _write_json(args: argparse.Namespace, summary: Dict[str, Any]) -> None:
    if args.json:
        write_output(args.json, json.dumps(summary, indent=2, sort_keys=True) + "\n")


def _finish(args: argparse.Namespace, summary: Dict[str, Any]) -> int:
    for line in format_summary(summary):
        _say(args, line)
    _write_json(args, summary)
    if summary["gaps"]:
        raise CutoverError(
            f"coverage incomplete: {len(summary['gaps'])} gap(s) (see the summary); {args.output} holds the rows that were fetched"
        )
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= MAX_LIMIT:
        raise UsageError(f"--limit {args.limit}: must be between 1 and {MAX_LIMIT}")
    now_ms = int(time.time() * 1000)
    if args.from_dir:
        if args.resume:
            raise UsageError("--resume applies to the API fetch; a Logpush folder merge simply runs again")
        if args.only_events or args.soak_only:
            raise UsageError("--only-events/--soak-only filter API queries; a Logpush merge keeps every row "
                             "(analyze-soak skips the ones it does not count)")
        return _from_dir(args, now_ms)
    return _from_api(args, now_ms)


# -- Observability API -------------------------------------------------------------------

def _from_api(args: argparse.Namespace, now_ms: int) -> int:
    from cutover.core.http import HttpClient
    from cutover.core.ratelimit import cloudflare_limiter
    from cutover.logfetch.client import TelemetryClient
    from cutover.logfetch.frames import BoundaryDedup, FrameWalker
    from cutover.logfetch.output import AppendOutput

    if not args.script:
        raise UsageError("--script NAME is required (the Worker whose logs to fetch), or use --from-dir DIR")
    if args.output == "-" and args.resume:
        raise UsageError("--resume needs a file --output, not stdout")
    if args.output == "-" and args.json == "-":
        raise UsageError("--output - and --json - would both write to stdout; give one of them a file")
    frame_ms = _duration_ms(args.frame, "--frame")
    quiet_ms = _duration_ms(args.quiet_gap, "--quiet-gap")
    filters = _filters(args)
    resumable = args.output != "-"
    checkpoint_path = args.checkpoint or f"{args.output}.checkpoint.json"
    job = {"command": "fetch-logs", "output": os.path.abspath(args.output) if resumable else "-",
           "script": args.script, "filters": filters}
    checkpoint = Checkpoint(checkpoint_path, job)
    state: Dict[str, Any] = {}
    if args.resume:
        if not checkpoint.load():
            raise CutoverError(f"nothing to resume: no checkpoint {checkpoint_path}")
        state = checkpoint.state
        from_ms, to_ms = int(state["from_ms"]), int(state["to_ms"])
        if args.since or args.until:
            _say(args, f"fetch-logs: resuming the saved window {iso_ms(from_ms)} .. {iso_ms(to_ms)} (--since/--until ignored)")
    else:
        from_ms, to_ms = _window(args, now_ms, required=True)
        _check_output(args)
        if resumable and checkpoint.exists():
            raise CutoverError(
                f"an interrupted run left {checkpoint_path} / {args.output}.partial: add --resume to continue it, "
                "or delete them to start over"
            )
        state = {"from_ms": from_ms, "to_ms": to_ms, "done_until_ms": from_ms, "bytes": 0, "rows": 0,
                 "requests": 0, "splits": 0, "throttled": 0, "duplicates": 0, "gaps": [], "boundary_ids": {},
                 "quiet_last_ms": None, "quiet": [], "first_ms": None, "last_ms": None, "abr_level": 1.0}
        checkpoint.state = state
    if from_ms < now_ms - RETENTION_DAYS * DAY_MS:
        _say(args, f"fetch-logs: warning: --since is more than {RETENTION_DAYS} days ago; Workers Logs keeps "
                   f"{RETENTION_DAYS} days (3 on Free), older rows are gone")

    if args.dry_run:
        first_to = min(from_ms + frame_ms, to_ms)
        print(f"would query {iso_ms(from_ms)} .. {iso_ms(to_ms)} ({format_duration((to_ms - from_ms) / 1000)}) "
              f"for script {args.script!r} in frames of at most {args.frame}, {args.limit} rows a page,\n"
              f"POST {cloudflare_api_base()}/accounts/$CLOUDFLARE_ACCOUNT_ID/workers/observability/telemetry/query\n"
              f"first body:")
        print(json.dumps(build_body(from_ms, first_to, args.limit, filters), indent=2))
        return 0

    account_id = args.account_id or cloudflare_account_id()
    if not account_id:
        raise ConfigError("CLOUDFLARE_ACCOUNT_ID is not set (or pass --account-id)")
    token = read_secret("CLOUDFLARE_API_TOKEN", required=True)

    progress = Progress("fetch-logs", total=max(1, (to_ms - from_ms) // 60000), unit=" log-min",
                        enabled=False if args.quiet else None)

    def note(message: str) -> None:
        if not args.quiet:
            progress.note(message)

    # Waits for the budget and retries are said (with their progress) by core.waits.
    limiter = cloudflare_limiter(token, cloudflare_api_base(), headroom=args.headroom)
    http = HttpClient(cloudflare_api_base(), headers={"Authorization": f"Bearer {token}"}, pace=limiter)
    client = TelemetryClient(http, account_id, filters, args.limit)
    walker = FrameWalker(client.query, args.limit, frame_ms)
    output = AppendOutput(args.output)
    output.start(int(state["bytes"]) if args.resume else None)
    dedup = BoundaryDedup(ids=state.get("boundary_ids"))
    quiet = QuietTracker(from_ms, quiet_ms, state.get("quiet_last_ms"), state.get("quiet"))
    base = {k: int(state[k]) for k in ("requests", "splits", "throttled", "duplicates")}
    start_ms = int(state["done_until_ms"])
    progress.update(int((start_ms - from_ms) // 60000))
    if args.resume:
        note(f"fetch-logs: resuming at {iso_ms(start_ms)} with {state['rows']:,} rows already written")

    try:
        for leaf in walker.walk(start_ms, to_ms):
            rows = dedup.fresh(leaf)
            for row in rows:
                ts = row_time(row)
                quiet.see(ts)
                if ts is not None:
                    state["first_ms"] = ts if state["first_ms"] is None else min(state["first_ms"], ts)
                    state["last_ms"] = ts if state["last_ms"] is None else max(state["last_ms"], ts)
            if args.verbose:
                note(f"fetch-logs: {iso_ms(leaf.from_ms)} .. {iso_ms(leaf.to_ms)}: {len(rows)} rows "
                              f"({leaf.requests} request{'s' if leaf.requests != 1 else ''})")
            if leaf.gap:
                state["gaps"].append([leaf.from_ms, leaf.to_ms, leaf.gap])
                progress.note(f"fetch-logs: GAP {iso_ms(leaf.from_ms)} .. {iso_ms(leaf.to_ms)}: {leaf.gap}")
            state["bytes"] = output.append(rows)
            state["rows"] += len(rows)
            state["done_until_ms"] = leaf.to_ms
            state["boundary_ids"] = dedup.ids
            state["quiet_last_ms"], state["quiet"] = quiet.last_ms, quiet.found
            state["requests"] = base["requests"] + walker.stats.requests
            state["splits"] = base["splits"] + walker.stats.splits
            state["throttled"] = base["throttled"] + http.stats.throttled
            state["duplicates"] = base["duplicates"] + dedup.skipped
            state["abr_level"] = max(float(state["abr_level"]), client.max_abr_level)
            if resumable:
                checkpoint.save()
            done_min = int((leaf.to_ms - from_ms) // 60000)
            progress.update(max(0, done_min - progress.count))
    except KeyboardInterrupt:
        progress.close()
        _drop_if_nothing_saved(checkpoint, output, resumable)
        if resumable:
            _say(args, f"fetch-logs: interrupted at {iso_ms(int(state['done_until_ms']))} with {state['rows']:,} rows "
                       "saved; run the same command with --resume to continue")
        raise
    except CutoverError as exc:
        progress.close()
        if _drop_if_nothing_saved(checkpoint, output, resumable):
            raise
        hint = (f"; {state['rows']:,} rows up to {iso_ms(int(state['done_until_ms']))} are saved, "
                "rerun with --resume to continue") if resumable else ""
        raise CutoverError(f"{exc}{hint}", exc.exit_code) from None
    progress.close()
    output.finish()
    if resumable:
        checkpoint.remove()

    summary = {
        "source": "observability", "script": args.script, "output": args.output,
        "from": iso_ms(from_ms), "to": iso_ms(to_ms), "rows": state["rows"],
        "first_row": iso_ms(state["first_ms"]), "last_row": iso_ms(state["last_ms"]),
        "requests": state["requests"], "splits": state["splits"], "throttled": state["throttled"],
        "duplicates_skipped": state["duplicates"], "sampled": state["abr_level"] > 1, "abr_level": state["abr_level"],
        "filters": filters, "resumed": bool(args.resume),
        "gaps": [span(a, b, reason) for a, b, reason in merge_gaps(state["gaps"])],
        "quiet": spans(quiet.close(to_ms)),
        "complete": not state["gaps"],
    }
    return _finish(args, summary)


def _drop_if_nothing_saved(checkpoint: Checkpoint, output: Any, resumable: bool) -> bool:
    """A run that failed before its first committed frame leaves nothing behind (nothing to resume)."""
    if not resumable or checkpoint.exists():
        return False
    try:
        os.unlink(output.partial)
    except OSError:
        pass
    return True


# -- Logpush folder -----------------------------------------------------------------------

def _from_dir(args: argparse.Namespace, now_ms: int) -> int:
    from cutover.logfetch.logpush import merge_dir, uncovered

    from_ms, to_ms = _window(args, now_ms, required=False)
    _check_output(args)
    quiet_ms = _duration_ms(args.quiet_gap, "--quiet-gap")
    if args.dry_run:
        from cutover.logfetch.logpush import find_files

        paths = find_files(args.from_dir)
        print(f"would merge {len(paths)} Logpush files from {args.from_dir} into {args.output}")
        return 0
    result = merge_dir(args.from_dir, args.script, from_ms, to_ms)
    if result.files == 0:
        raise CutoverError(f"--from-dir {args.from_dir}: no Logpush *.log.gz files found")
    data = "".join(line + "\n" for line in result.lines)
    if args.output == "-":
        sys.stdout.write(data)
        sys.stdout.flush()
    elif args.output.endswith(".gz"):
        with atomic_writer(args.output, "wb", encoding=None) as handle, \
                gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as zipped:
            zipped.write(data.encode("utf-8"))
    else:
        with atomic_writer(args.output, "w") as handle:
            handle.write(data)

    quiet = QuietTracker(from_ms if from_ms is not None else (result.first_ms or 0), quiet_ms)
    for line in result.lines:
        try:
            quiet.see(json.loads(line).get("EventTimestampMs"))
        except (ValueError, AttributeError):
            pass
    end = to_ms if to_ms is not None else (result.last_ms or 0)
    holes = [(a, b) for a, b in uncovered(result.windows)
             if (from_ms is None or b > from_ms) and (to_ms is None or a < to_ms)]
    if from_ms is not None and result.windows:
        first_start = min(w[0] for w in result.windows)
        if first_start > from_ms + 60_000:
            holes.insert(0, (from_ms, first_start))
    if to_ms is not None and result.windows:
        last_end = max(w[1] for w in result.windows)
        if last_end < to_ms - 60_000:
            holes.append((last_end, to_ms))
    if result.malformed:
        _say(args, f"fetch-logs: warning: {result.malformed} lines are not JSON objects (e.g. "
                   f"{', '.join(result.malformed_examples)}); skipped")
    summary = {
        "source": "logpush", "script": args.script, "output": args.output, "directory": args.from_dir,
        "from": iso_ms(from_ms), "to": iso_ms(to_ms), "rows": len(result.lines),
        "first_row": iso_ms(result.first_ms), "last_row": iso_ms(result.last_ms),
        "files": result.files, "duplicate_files": result.duplicate_files,
        "duplicates_skipped": result.duplicate_rows, "malformed": result.malformed,
        "skipped_other_scripts": result.skipped_script, "skipped_outside_window": result.skipped_time,
        "gaps": [], "uncovered": spans(holes, "no Logpush file for this stretch (missing file, or no traffic)"),
        "quiet": spans(quiet.close(end)) if result.lines else [],
        "complete": True,
    }
    return _finish(args, summary)
