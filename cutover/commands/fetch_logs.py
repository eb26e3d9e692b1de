"""Pull a soak's Workers logs into one NDJSON file that analyze-soak reads: from the Workers
Observability telemetry API (Workers Logs), or by merging a folder of Logpush files."""
from __future__ import annotations

import argparse

from cutover.commands import _args

EXAMPLES = """\
  # the last 24 h of the bot's Workers Logs, straight from Cloudflare
  # (CLOUDFLARE_API_TOKEN with Workers Observability Read, CLOUDFLARE_ACCOUNT_ID)
  cutover fetch-logs --script bot --since 24h --output cf-logs.ndjson.gz
  cutover analyze-soak --input cf-logs.ndjson.gz --baseline-cold-ping-ms 420

  # a fixed soak window, only the rows analyze-soak counts; continue after a crash
  cutover fetch-logs --script bot --since 2026-11-27T18:00:00Z --until 2026-11-28T18:00:00Z \\
      --soak-only --output soak.ndjson.gz
  cutover fetch-logs --script bot --output soak.ndjson.gz --resume

  # what would be asked, without a request
  cutover fetch-logs --script bot --since 6h --output x.ndjson --dry-run

  # a Logpush destination (R2/S3) already synced to a local folder
  cutover fetch-logs --from-dir ./logpush/ --script bot --output cf-logs.ndjson.gz
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("what to fetch")
    src.add_argument("--script", metavar="NAME", help="Worker script name (required for the API)")
    src.add_argument("--from-dir", metavar="DIR", help="merge Logpush workers_trace_events *.log.gz files from DIR instead of calling the API")
    src.add_argument("--only-events", metavar="NAME[,NAME]", action="append", default=[],
                     help="only rows whose logged object has `event` equal to one of these (repeatable)")
    src.add_argument("--soak-only", action="store_true",
                     help="only rows analyze-soak counts (cmd_timing, request, failure events and texts, exceededCpu)")
    _args.add_time_window(parser, "rows")
    out = parser.add_argument_group("output")
    out.add_argument("--output", "-o", metavar="FILE.ndjson[.gz]", required=True, help="NDJSON output ('-' = stdout, not resumable)")
    out.add_argument("--force", action="store_true", help="replace an existing output file")
    _args.add_json(out, "the summary (rows, time covered, gaps)")
    run = parser.add_argument_group("how")
    run.add_argument("--resume", action="store_true",
                     help="continue an interrupted run after its last written frame (none saved: start from --since)")
    run.add_argument("--checkpoint", metavar="FILE", help="checkpoint file (default: OUTPUT.checkpoint.json)")
    run.add_argument("--limit", type=int, default=2000, metavar="N", help="rows per query page, 1..2000 (default 2000, the API maximum)")
    run.add_argument("--frame", default="1h", metavar="DURATION", help="widest time frame per query (default 1h); narrowed automatically when a page is full")
    run.add_argument("--quiet-gap", default="30m", metavar="DURATION", help="report stretches without any row longer than this (default 30m)")
    run.add_argument("--dry-run", action="store_true", help="print the plan and the first query body; send nothing")
    _args.add_cloudflare(parser, headroom_alias=True)


def run(args: argparse.Namespace) -> int:
    from cutover.logfetch.fetch import run as fetch_logs
    from cutover.logfetch.options import FetchOptions

    return fetch_logs(_args.options(FetchOptions, args))
