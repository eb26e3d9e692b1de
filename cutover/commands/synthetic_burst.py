"""Fire N simultaneous synthetic Telegram updates at the Worker, watching Atlas connections.

Every request is a distinct Telegram Update from a synthetic user id no real account can
have, POSTed with the webhook secret header; all N are released together after their
connections are open. With --atlas-group/--atlas-process, Atlas CONNECTIONS are read before
the first wave, during and after each wave; a peak above --atlas-max-pct % of --atlas-cap
stops all further waves and exits 4.
"""
from __future__ import annotations

import argparse

EXAMPLES = """\
  cutover synthetic-burst --url https://bot.example.workers.dev/webhook --dry-run
  cutover synthetic-burst --url https://bot.example.workers.dev/webhook -n 20 --command /ping
  cutover synthetic-burst --url https://bot.example.workers.dev/webhook -n 20 --waves 3 --wave-interval 60 \\
      --atlas-group 5f1a2b3c4d5e6f7a8b9c0d1e --atlas-process cluster0-shard-00-01.ab1cd.mongodb.net:27017 \\
      --json burst.json
  (secrets from the environment: TELEGRAM_WEBHOOK_SECRET, ATLAS_PUBLIC_KEY/ATLAS_PRIVATE_KEY
   or ATLAS_CLIENT_ID/ATLAS_CLIENT_SECRET; each also as NAME_FILE)
"""



def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError("must be between 0 and 86400 seconds")
    return value


def _percent(text: str) -> float:
    value = _seconds(text)
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError("must be a percentage above 0 and at most 100")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="the Worker's webhook URL (https://; plain http:// only to loopback)")
    parser.add_argument("-n", "--requests", dest="n", type=_positive_int, default=20, metavar="N",
                        help="simultaneous requests per wave (default 20)")
    parser.add_argument("--command", default="/ping", help="message text, starting with the /command (default /ping)")
    parser.add_argument("--json", metavar="FILE|-", help="write the full report as JSON to FILE, or stdout with -")
    parser.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                        help="limit for one wave, first connect to last response byte (default 30)")
    parser.add_argument("--waves", type=_positive_int, default=1, help="number of waves (default 1)")
    parser.add_argument("--wave-interval", type=_seconds, default=30.0, metavar="SECONDS",
                        help="pause between waves; Atlas is polled meanwhile (default 30)")
    atlas = parser.add_argument_group("Atlas connection cap (needs ATLAS_* credentials in the environment)")
    atlas.add_argument("--atlas-group", metavar="ID", help="Atlas project (group) id, 24 hex digits")
    atlas.add_argument("--atlas-process", metavar="HOST:PORT", help="the mongod process to watch (the primary)")
    atlas.add_argument("--atlas-cap", type=_positive_int, default=500, help="connection limit of the cluster tier (default 500)")
    atlas.add_argument("--atlas-max-pct", type=_percent, default=60.0, metavar="PCT",
                       help="abort when connections peak above PCT %% of the cap (default 60)")
    atlas.add_argument("--atlas-settle", type=_seconds, default=20.0, metavar="SECONDS",
                       help="keep watching Atlas this long after the last wave; its data lags (default 20)")
    atlas.add_argument("--atlas-poll-interval", type=_seconds, default=10.0, metavar="SECONDS",
                       help="seconds between Atlas readings (default 10, Atlas's PT10S granularity)")
    parser.add_argument("--dry-run", action="store_true", help="print one generated update and the plan; send nothing")


def run(args: argparse.Namespace) -> int:
    from cutover.burst.command import execute

    return execute(args)
