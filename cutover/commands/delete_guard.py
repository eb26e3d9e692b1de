"""Typed confirmation around `wrangler kv namespace delete` and `wrangler d1 delete`.
Never run in CI: without an interactive terminal it refuses with exit 3."""
from __future__ import annotations

import argparse

from cutover.errors import NotBuiltError

EXAMPLES = """\
  cutover delete-guard d1 trading
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("delete-guard is not built yet in this version")
