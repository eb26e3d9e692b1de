"""fetch-logs: the Observability API walk (paced, resumable; logfetch.api) and the Logpush folder merge."""
from __future__ import annotations

import gzip
import json
import sys
import time

from cutover.core.console import Console
from cutover.core.fsutil import atomic_writer
from cutover.core.timespec import iso_ms
from cutover.errors import UNDECODABLE, CutoverError, UsageError
from cutover.logfetch.api import ApiFetch
from cutover.logfetch.options import FetchOptions, check_output, duration_ms, window
from cutover.logfetch.query import MAX_LIMIT
from cutover.logfetch.summary import QuietTracker, finish, spans


def run(options: FetchOptions) -> int:
    if not 1 <= options.limit <= MAX_LIMIT:
        raise UsageError(f"--limit {options.limit}: must be between 1 and {MAX_LIMIT}")
    now_ms = int(time.time() * 1000)
    console = Console(options.quiet, options.verbose)
    if options.from_dir:
        if options.resume:
            raise UsageError("--resume applies to the API fetch; a Logpush folder merge simply runs again")
        if options.only_events or options.soak_only:
            raise UsageError("--only-events/--soak-only filter API queries; a Logpush merge keeps every row "
                             "(analyze-soak skips the ones it does not count)")
        return _from_dir(options, now_ms, console)
    return ApiFetch(options, now_ms, console).run()


# -- Logpush folder -----------------------------------------------------------------------

def _from_dir(options: FetchOptions, now_ms: int, console: Console) -> int:
    from cutover.logfetch.logpush import merge_dir, uncovered

    from_ms, to_ms = window(options, now_ms, required=False)
    check_output(options)
    quiet_ms = duration_ms(options.quiet_gap, "--quiet-gap")
    if options.dry_run:
        from cutover.logfetch.logpush import find_files

        paths = find_files(options.from_dir)
        print(f"would merge {len(paths)} Logpush files from {options.from_dir} into {options.output}")
        return 0
    result = merge_dir(options.from_dir, options.script, from_ms, to_ms)
    if result.files == 0:
        raise CutoverError(f"--from-dir {options.from_dir}: no Logpush *.log.gz files found")
    data = "".join(line + "\n" for line in result.lines)
    if options.output == "-":
        sys.stdout.write(data)
        sys.stdout.flush()
    elif options.output.endswith(".gz"):
        with atomic_writer(options.output, "wb", encoding=None) as handle, \
                gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as zipped:
            zipped.write(data.encode("utf-8"))
    else:
        with atomic_writer(options.output, "w") as handle:
            handle.write(data)

    quiet = QuietTracker(from_ms if from_ms is not None else (result.first_ms or 0), quiet_ms)
    for line in result.lines:
        try:
            quiet.see(json.loads(line).get("EventTimestampMs"))
        except (*UNDECODABLE, AttributeError):
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
        console.item(f"fetch-logs: {result.malformed} lines are not JSON objects (e.g. "
                     f"{', '.join(result.malformed_examples)}); skipped")
    summary = {
        "source": "logpush", "script": options.script, "output": options.output, "directory": options.from_dir,
        "from": iso_ms(from_ms), "to": iso_ms(to_ms), "rows": len(result.lines),
        "first_row": iso_ms(result.first_ms), "last_row": iso_ms(result.last_ms),
        "files": result.files, "duplicate_files": result.duplicate_files,
        "duplicates_skipped": result.duplicate_rows, "malformed": result.malformed,
        "skipped_other_scripts": result.skipped_script, "skipped_outside_window": result.skipped_time,
        "gaps": [], "uncovered": spans(holes, "no Logpush file for this stretch (missing file, or no traffic)"),
        "quiet": spans(quiet.close(end)) if result.lines else [],
        "complete": True,
    }
    return finish(summary, options.json, console)
