"""Rehearse the whole rollback offline on sample data embedded in cutover.

Lays out a mongoexport dump, a rollback config and a soak log in a work directory, then runs
the real steps: backfill-kv --emit, backfill-d1, applying both to a local KV and D1 (real
`wrangler … --local` when wrangler is found, otherwise a SQLite file and a KV store file),
verify (and proof that verify notices a broken restore), and analyze-soak. Exit 0 when
every step passes. Nothing leaves the machine.
"""
from __future__ import annotations

import argparse

from cutover.commands import _args

EXAMPLES = """\
  cutover drill                           # temp work dir, removed afterwards unless a step fails
  cutover drill --workdir /tmp/drill      # keep the artifacts there
  cutover drill --no-wrangler --json -    # force the python-only path, JSON result on stdout
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", metavar="DIR", help="where to put the artifacts (kept); default: a new temp dir")
    parser.add_argument("--keep", action="store_true", help="keep the temp work dir even when every step passes")
    parser.add_argument("--json", metavar="FILE", help="write the result as JSON to FILE (- for stdout)")
    parser.add_argument("--wrangler", metavar="CMD", help="wrangler to apply with (default: `wrangler` if on PATH)")
    parser.add_argument("--no-wrangler", action="store_true", help="apply to a local SQLite file and KV store file")


def run(args: argparse.Namespace) -> int:
    from cutover.drill.run import DrillOptions
    from cutover.drill.run import run as drill

    # The drill runs the real commands by their command lines: cli.main hands itself down.
    return drill(_args.options(DrillOptions, args, renamed={"_run_cutover": "run_cutover"}))
