"""Pull a soak's Workers logs from the Observability telemetry API or a Logpush folder."""
from __future__ import annotations

import argparse

from cutover.errors import NotBuiltError

EXAMPLES = """\
  cutover fetch-logs --script bot --since 24h --output cf-logs.ndjson.gz
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    raise NotBuiltError("fetch-logs is not built yet in this version")
