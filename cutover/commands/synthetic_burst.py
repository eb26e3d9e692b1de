"""Fire N simultaneous synthetic Telegram updates at the Worker, watching Atlas connections."""
from __future__ import annotations

import argparse

from cutover.errors import NotBuiltError

EXAMPLES = """\
  cutover synthetic-burst --url https://bot.example.workers.dev/webhook -n 20 --command /ping
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("synthetic-burst is not built yet in this version")
