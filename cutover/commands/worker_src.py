"""List, show or export the Worker JavaScript shipped inside cutover: the timing module that
emits the cmd_timing events analyze-soak reads, and examples of wiring it into the bot."""
from __future__ import annotations

import argparse

from cutover.commands import _args
from cutover.worker import ACTIONS

EXAMPLES = """\
  cutover worker-src list                      # what is shipped
  cutover worker-src show timing.js            # print one file to stdout
  cutover worker-src export ./src/cutover      # write all files (refuses to overwrite)
  cutover worker-src export ./src/cutover --force
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="list the files, show NAME, or export them to DIR")
    parser.add_argument("target", nargs="?", metavar="NAME|DIR", help="file name for show; directory for export")
    parser.add_argument(
        "--force", action="store_true", help="export: overwrite files in DIR that differ from the shipped ones"
    )


def run(args: argparse.Namespace) -> int:
    from cutover.worker.run import WorkerSrcOptions
    from cutover.worker.run import run as worker_src

    return worker_src(_args.options(WorkerSrcOptions, args))
