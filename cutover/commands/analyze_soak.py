"""Turn Workers log exports into latency percentiles, failure counts and the PROCEED/PIVOT gate."""
from __future__ import annotations

import argparse

from cutover.errors import NotBuiltError

EXAMPLES = """\
  cutover analyze-soak --input cf-logs.ndjson.gz --baseline-cold-ping-ms 420 --output soak-decision.md --json -
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("analyze-soak is not built yet in this version")
