"""Pull a soak's Workers logs into one NDJSON file that analyze-soak reads: from the Workers
Observability telemetry API (Workers Logs), or by merging a folder of Logpush files."""
from __future__ import annotations

import argparse

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
    src.add_argument("--since", metavar="WHEN", help="start: 24h, 7d, 30m (before now), 2026-12-03, 2026-12-03T18:00:00Z (UTC if no zone) or epoch ms")
    src.add_argument("--until", metavar="WHEN", default=None, help="end (default: now); same forms as --since")
    src.add_argument("--from-dir", metavar="DIR", help="merge Logpush workers_trace_events *.log.gz files from DIR instead of calling the API")
    src.add_argument("--only-events", metavar="NAME[,NAME]", action="append", default=[],
                     help="only rows whose logged object has `event` equal to one of these (repeatable)")
    src.add_argument("--soak-only", action="store_true",
                     help="only rows analyze-soak counts (cmd_timing, request, failure events and texts, exceededCpu)")
    out = parser.add_argument_group("output")
    out.add_argument("--output", "-o", metavar="FILE.ndjson[.gz]", required=True, help="NDJSON output ('-' = stdout, not resumable)")
    out.add_argument("--force", action="store_true", help="replace an existing output file")
    out.add_argument("--json", metavar="FILE|-", help="write the summary (rows, time covered, gaps) as JSON")
    run = parser.add_argument_group("how")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run after its last written frame")
    run.add_argument("--checkpoint", metavar="FILE", help="checkpoint file (default: OUTPUT.checkpoint.json)")
    run.add_argument("--limit", type=int, default=2000, metavar="N", help="rows per query page, 1..2000 (default 2000, the API maximum)")
    run.add_argument("--frame", default="1h", metavar="DURATION", help="widest time frame per query (default 1h); narrowed automatically when a page is full")
    run.add_argument("--quiet-gap", default="30m", metavar="DURATION", help="report stretches without any row longer than this (default 30m)")
    run.add_argument("--headroom", type=float, default=0.1, metavar="FRACTION",
                     help="share of Cloudflare's 1,200 requests / 5 min left unused (default 0.1)")
    run.add_argument("--account-id", metavar="ID", help="Cloudflare account id (default: $CLOUDFLARE_ACCOUNT_ID)")
    run.add_argument("--dry-run", action="store_true", help="print the plan and the first query body; send nothing")


def run(args: argparse.Namespace) -> int:
    from cutover.logfetch.fetch import run_fetch

    return run_fetch(args)
