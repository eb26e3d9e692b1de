"""Turn Workers log exports into latency percentiles, failure counts and the PROCEED/PIVOT gate.

Reads Logpush workers_trace_events NDJSON, `wrangler tail --format json` streams, Workers
Observability query rows (as written by fetch-logs), JSON arrays of any of these, CSV and plain
NDJSON events; .gz is read transparently, `-` is stdin. Exit 0 PROCEED or REPORT-ONLY, 4 PIVOT,
5 INCONCLUSIVE (too few cold samples), 1 unreadable input."""
from __future__ import annotations

import argparse

from cutover.commands._args import non_negative_int, positive_float

EXAMPLES = """\
  cutover analyze-soak --input cf-logs.ndjson.gz --baseline-cold-ping-ms 420 --output soak-decision.md --json -
  cutover analyze-soak --input logpush/day1.log.gz --input logpush/day2.log.gz --chart soak.svg
  wrangler tail bot --format json | cutover analyze-soak --input - --output -     # live, until Ctrl-D/EOF
  BASELINE_COLD_PING_MS=420 cutover analyze-soak --input soak.ndjson --gate-cmd /start --json soak.json
  cutover analyze-soak --input soak.ndjson --since 2026-11-27T18:00:00Z --until 24h   # a window only
"""




def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("input")
    src.add_argument("--input", "-i", action="append", required=True, metavar="FILE",
                     help="log export (repeatable; '-' = stdin; .gz read transparently; format detected per file)")
    src.add_argument("--since", metavar="WHEN", help="only events at or after WHEN: 24h, 7d, 30m (before now), 2026-12-03, 2026-12-03T18:00:00Z (UTC if no zone) or epoch ms")
    src.add_argument("--until", metavar="WHEN", help="only events before WHEN (same forms as --since)")
    src.add_argument("--date-order", choices=("dmy", "mdy"),
                     help="spreadsheet CSV dates like 03/11/2025: dmy = day first, mdy = month first "
                          "(default: learned from the file; asked for only when no value shows it)")
    gate = parser.add_argument_group("gate")
    gate.add_argument("--baseline-cold-ping-ms", type=positive_float, metavar="MS",
                      help="cold /ping P95 of the old stack (default $BASELINE_COLD_PING_MS; none = REPORT-ONLY)")
    gate.add_argument("--factor", type=positive_float, default=2.5, help="PROCEED when cold P95 <= factor x baseline (default 2.5)")
    gate.add_argument("--gate-cmd", metavar="CMD", help="gate on this command's cold samples only (e.g. /start); default all commands")
    gate.add_argument("--min-cold-samples", type=non_negative_int, default=20, metavar="N",
                      help="fewer cold samples than this -> INCONCLUSIVE, exit 5 (default 20)")
    out = parser.add_argument_group("output")
    out.add_argument("--output", "-o", default="soak-decision.md", metavar="FILE|-", help="markdown report (default soak-decision.md; '-' = stdout)")
    out.add_argument("--json", metavar="FILE|-", help="write the figures as JSON ('-' = stdout)")
    out.add_argument("--chart", metavar="FILE.svg", help="SVG chart: cold vs warm latency distribution and p95 per hour")
    rules = parser.add_argument_group("counting rules")
    rules.add_argument("--dual-write-pattern", metavar="REGEX", help="log text counted as a dual-write failure (default: (?i)dual.?write.*(fail|error))")
    rules.add_argument("--mongo-error-pattern", metavar="REGEX",
                       help="log text / exception counted as a Mongo connection error (default: Mongo(Network|NetworkTimeout|ServerSelection|TopologyClosed|PoolClosed)Error)")
    rules.add_argument("--cpu-outcome", metavar="OUTCOME", help="invocation outcome counted as CPU limit exceeded (default exceededCpu)")
    perf = parser.add_argument_group("performance")
    perf.add_argument("--jobs", "-j", type=non_negative_int, default=0, metavar="N", help="processes for big plain files (default: one per CPU)")
    perf.add_argument("--exact", action="store_true", help="parse every record as JSON (no regex fast path); same figures, slower")


def _baseline(args: argparse.Namespace) -> float | None:
    import os

    from cutover.errors import UsageError

    if args.baseline_cold_ping_ms is not None:
        return float(args.baseline_cold_ping_ms)
    raw = os.environ.get("BASELINE_COLD_PING_MS", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"BASELINE_COLD_PING_MS={raw!r} is not a number of milliseconds") from None
    if not value > 0:
        raise UsageError(f"BASELINE_COLD_PING_MS={raw!r} must be > 0")
    return value


def _patterns(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    import re

    from cutover.errors import UsageError
    from cutover.soak.model import Patterns

    base = Patterns()
    chosen = Patterns(
        dual_write=args.dual_write_pattern or base.dual_write,
        mongo_error=args.mongo_error_pattern or base.mongo_error,
        cpu_outcome=args.cpu_outcome or base.cpu_outcome,
    )
    for flag, pattern in (("--dual-write-pattern", chosen.dual_write), ("--mongo-error-pattern", chosen.mongo_error)):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise UsageError(f"{flag} {pattern!r}: {exc}") from None
    return chosen


def _window(args: argparse.Namespace) -> tuple:
    import time

    from cutover.core.timespec import parse_time_ms
    from cutover.errors import UsageError

    now_ms = int(time.time() * 1000)
    since = parse_time_ms(args.since, now_ms, "--since") if args.since else None
    until = parse_time_ms(args.until, now_ms, "--until") if args.until else None
    if since is not None and until is not None and until <= since:
        raise UsageError("--until must be later than --since")
    return since, until


def _write(path: str, text: str) -> None:
    """Atomic replace for regular files; /dev/null, a FIFO or /dev/stdout are written in place
    (an atomic rename would replace the device node itself when running as root)."""
    import os

    from cutover.core.fsutil import write_output

    if path != "-" and os.path.exists(path) and not os.path.isfile(path):
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    write_output(path, text)


FORMATS_HINT = ("Logpush NDJSON, wrangler tail (json or pretty), Observability rows (fetch-logs), "
                "CSV or NDJSON cmd_timing events")


def _why_no_records(source) -> str:  # type: ignore[no-untyped-def]
    """One line: why an input gave no record, and what to do about it."""
    if source.container == "empty":
        return "is empty: no log record to analyze (was the capture running?); check the file or leave it out"
    if source.malformed:
        return (f"not a log export: no record could be read ({source.malformed:,} malformed); "
                f"expected {FORMATS_HINT}")
    if source.unrecognized:
        what = "row(s) without a log column" if source.container == "csv" else "value(s) of an unknown shape"
        return (f"not a log export: {source.unrecognized:,} {what} and no log record; "
                f"expected {FORMATS_HINT}")
    return "holds no log record (an empty export?); widen the export's time range or leave the file out"


def _chart_link(chart: str | None, output: str) -> str | None:
    """The chart as the report links it: relative to the report's folder (the two travel together
    off the bastion), URL-encoded. A chart sent to stdout cannot be linked."""
    import os
    from urllib.parse import quote

    if not chart or chart == "-":
        return None
    folder = os.getcwd() if output == "-" else os.path.dirname(os.path.abspath(output))
    try:
        relative = os.path.relpath(os.path.abspath(chart), folder)
    except ValueError:  # another drive (Windows): only an absolute path reaches it
        relative = os.path.abspath(chart)
    return quote(relative.replace(os.sep, "/"), safe="/:")


def run(args: argparse.Namespace) -> int:
    import sys

    from cutover.errors import UsageError
    from cutover.soak import report, svg
    from cutover.soak.analyze import Options, analyze

    if args.input.count("-") > 1:
        raise UsageError("--input - (stdin) can be given only once")
    outputs = [flag for flag, p in (("--output", args.output), ("--json", args.json), ("--chart", args.chart)) if p == "-"]
    if len(outputs) > 1:
        raise UsageError(f"{' and '.join(o + ' -' for o in outputs)} cannot share stdout: send all but one to a file")
    since, until = _window(args)
    options = Options(
        baseline_cold_ping_ms=_baseline(args), factor=args.factor, gate_cmd=args.gate_cmd,
        min_cold_samples=args.min_cold_samples, patterns=_patterns(args), since_ms=since, until_ms=until,
        jobs=args.jobs, fast=not args.exact, hourly=True, chart=bool(args.chart), progress=not args.quiet,
        date_order=args.date_order,
    )

    def note(message: str) -> None:
        # A cut-short or corrupt .gz is a warning the operator must see without --verbose: the
        # figures then cover only part of the soak. (analyze.py gives notes no level; its text does.)
        warning = "ends early" in message
        if not args.quiet and (args.verbose or warning):
            print(("warning: " if warning else "") + message, file=sys.stderr)

    result = analyze(args.input, options, note=note)
    # The documented exit 1 for a bad input file: one in which not a single record could be read
    # is not a log export at all (a wrong file, an empty capture), and must not pass as
    # REPORT-ONLY or INCONCLUSIVE.
    from cutover.errors import CutoverError

    for source in result.inputs:
        if source.records == 0 and source.container != "empty":
            raise CutoverError(f"--input {source.name}: {_why_no_records(source)}")
    empty = [source for source in result.inputs if source.records == 0]
    if len(empty) == len(result.inputs):  # nothing at all to judge
        raise CutoverError(f"--input {empty[0].name}: {_why_no_records(empty[0])}")
    for source in empty:  # an empty file beside others (a quiet hour's export) is not the wrong file
        if not args.quiet:
            print(f"warning: --input {source.name} is empty: no records in it", file=sys.stderr)
    window = " and ".join(flag for flag, value in (("--since", since), ("--until", until)) if value is not None)
    for source in result.inputs:
        if window and source.kept_without_time and not source.timed:
            fix = ("capture with `wrangler tail --format json` (pretty text has no zone-qualified times)"
                   if source.container == "tail-pretty" else "export it with ISO-8601 or epoch-ms times")
            raise CutoverError(f"--input {source.name}: {window} asked, but no timestamp could be read in it "
                               f"({source.kept_without_time:,} event(s) without one); {fix}, or run without {window}")
        if window and source.kept_without_time and not args.quiet:
            print(f"warning: --input {source.name}: {source.kept_without_time:,} event(s) have no readable time and "
                  f"were kept although {window} was asked", file=sys.stderr)
    if args.chart:
        title = f"Soak: {result.decision} — cold n={len(result.cold_values):,}, warm n={len(result.warm_values):,}"
        _write(args.chart, svg.chart(result.cold_values, result.warm_values, result.hourly, title, result.gate.threshold_ms))
    if args.output:
        _write(args.output, report.render_markdown(result, _chart_link(args.chart, args.output)))
    if args.json:
        _write(args.json, report.json_text(result))
    if not args.quiet:
        print(f"analyze-soak: {result.decision}: {result.gate.reason}", file=sys.stderr)
    return result.exit_code
