"""Generate (and optionally execute) D1 SQL that restores trading_trades from Mongo."""
from __future__ import annotations

import argparse

from cutover.errors import NotBuiltError

EXAMPLES = """\
  cutover backfill-d1 --config rollback.json --output backfill-d1.sql --dry-run
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("backfill-d1 is not built yet in this version")
