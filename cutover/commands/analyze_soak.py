"""Turn Workers log exports into latency percentiles, failure counts and the PROCEED/PIVOT gate.

Reads Logpush workers_trace_events NDJSON, `wrangler tail --format json` streams, Workers
Observability query rows (as written by fetch-logs), JSON arrays of any of these, CSV and plain
NDJSON events; .gz is read transparently, `-` is stdin. Exit 0 PROCEED or REPORT-ONLY, 4 PIVOT,
5 INCONCLUSIVE (too few cold samples), 1 unreadable input."""
from __future__ import annotations

import argparse

from cutover.commands import _args
from cutover.commands._args import non_negative_int

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
    src.add_argument("--date-order", choices=("dmy", "mdy"),
                     help="spreadsheet CSV dates like 03/11/2025: dmy = day first, mdy = month first "
                          "(default: learned from the file; asked for only when no value shows it)")
    _args.add_time_window(parser, "events")
    _args.add_gate(parser, "gate")
    out = parser.add_argument_group("output")
    out.add_argument("--output", "-o", default="soak-decision.md", metavar="FILE|-", help="markdown report (default soak-decision.md; '-' = stdout)")
    out.add_argument("--json", metavar="FILE|-", help="write the figures as JSON ('-' = stdout)")
    out.add_argument("--chart", metavar="FILE.svg", help="SVG chart: cold vs warm latency distribution and p95 per hour")
    _args.add_counting_rules(parser, "counting rules")
    perf = parser.add_argument_group("performance")
    perf.add_argument("--jobs", "-j", type=non_negative_int, default=0, metavar="N", help="processes for big plain files (default: one per CPU)")
    perf.add_argument("--exact", action="store_true", help="parse every record as JSON (no regex fast path); same figures, slower")


def run(args: argparse.Namespace) -> int:
    from cutover.soak.options import AnalyzeOptions
    from cutover.soak.run import run as analyze_soak

    return analyze_soak(_args.options(AnalyzeOptions, args, renamed={"input": "inputs"}))
