"""List, show or export the Worker JavaScript shipped inside cutover: the timing module that
emits the cmd_timing events analyze-soak reads, and examples of wiring it into the bot."""
from __future__ import annotations

import argparse

EXAMPLES = """\
  cutover worker-src list                      # what is shipped
  cutover worker-src show timing.js            # print one file to stdout
  cutover worker-src export ./src/cutover      # write all files (refuses to overwrite)
  cutover worker-src export ./src/cutover --force
"""

ACTIONS = ("list", "show", "export")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=ACTIONS, help="list the files, show NAME, or export them to DIR")
    parser.add_argument("target", nargs="?", metavar="NAME|DIR", help="file name for show; directory for export")
    parser.add_argument(
        "--force", action="store_true", help="export: overwrite files in DIR that differ from the shipped ones"
    )


def run(args: argparse.Namespace) -> int:
    from cutover.core.fsutil import write_stdout_bytes
    from cutover.errors import UsageError
    from cutover.worker.shipped import export_files, list_text, read_shipped

    if args.action == "list":
        if args.target:
            raise UsageError("worker-src list takes no argument")
        write_stdout_bytes(list_text().encode("utf-8"))
        return 0
    if not args.target:
        what = "NAME (see: cutover worker-src list)" if args.action == "show" else "DIR"
        raise UsageError(f"worker-src {args.action} needs {what}")
    if args.action == "show":
        write_stdout_bytes(read_shipped(args.target))
        return 0
    for line in export_files(args.target, force=args.force):
        print(line, flush=True)
    return 0

