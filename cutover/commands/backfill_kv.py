"""Write Mongo documents back to Workers KV, per module, with TTLs from expiresAt."""
from __future__ import annotations

import argparse

from cutover.errors import NotBuiltError

EXAMPLES = """\
  cutover backfill-kv --config rollback.json --dry-run
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("backfill-kv is not built yet in this version")
