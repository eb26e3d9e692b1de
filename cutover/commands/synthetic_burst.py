"""Fire N simultaneous synthetic Telegram updates at the Worker, watching Atlas connections.

Every request is a distinct Telegram Update from a synthetic user id no real account can
have, POSTed with the webhook secret header; all N are released together after their
connections are open. With --atlas-group/--atlas-process, Atlas CONNECTIONS are read before
the first wave, during and after each wave; a peak above --atlas-max-pct % of --atlas-cap
stops all further waves and exits 4.
"""
from __future__ import annotations

import argparse

from cutover.commands import _args

EXAMPLES = """\
  cutover synthetic-burst --url https://bot.example.workers.dev/webhook --dry-run
  cutover synthetic-burst --url https://bot.example.workers.dev/webhook -n 20 --command /ping
  cutover synthetic-burst --url https://bot.example.workers.dev/webhook -n 20 --waves 3 --wave-interval 60 \\
      --atlas-group 5f1a2b3c4d5e6f7a8b9c0d1e --atlas-process cluster0-shard-00-01.ab1cd.mongodb.net:27017 \\
      --json burst.json
  (secrets from the environment: TELEGRAM_WEBHOOK_SECRET, ATLAS_PUBLIC_KEY/ATLAS_PRIVATE_KEY
   or ATLAS_CLIENT_ID/ATLAS_CLIENT_SECRET; each also as NAME_FILE)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="the Worker's webhook URL (https://; plain http:// only to loopback)")
    parser.add_argument("-n", "--requests", dest="n", type=_args.positive_int, default=20, metavar="N",
                        help="simultaneous requests per wave (default 20)")
    parser.add_argument("--command", default="/ping", help="message text, starting with the /command (default /ping)")
    parser.add_argument("--json", metavar="FILE|-", help="write the full report as JSON to FILE, or stdout with -")
    parser.add_argument("--timeout", type=_args.seconds, default=30.0, metavar="SECONDS",
                        help="limit for one wave, first connect to last response byte (default 30)")
    parser.add_argument("--waves", type=_args.positive_int, default=1, help="number of waves (default 1)")
    parser.add_argument("--wave-interval", type=_args.seconds, default=30.0, metavar="SECONDS",
                        help="pause between waves; Atlas is polled meanwhile (default 30)")
    atlas = _args.add_atlas(parser)
    atlas.add_argument("--atlas-settle", type=_args.seconds, default=20.0, metavar="SECONDS",
                       help="keep watching Atlas this long after the last wave; its data lags (default 20)")
    parser.add_argument("--dry-run", action="store_true", help="print one generated update and the plan; send nothing")


def run(args: argparse.Namespace) -> int:
    from cutover.burst.run import BurstOptions
    from cutover.burst.run import run as burst

    return burst(_args.options(BurstOptions, args))
