"""Rehearse the whole rollback offline on sample data embedded in cutover."""
from __future__ import annotations

import argparse

from cutover.errors import NotBuiltError

EXAMPLES = """\
  cutover drill --workdir /tmp/drill --keep
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("drill is not built yet in this version")
