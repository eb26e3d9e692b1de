"""worker-src's body: list, show or export the shipped Worker files."""
from __future__ import annotations

from dataclasses import dataclass

from cutover.core.fsutil import write_stdout_bytes
from cutover.errors import EXIT_OK, UsageError
from cutover.worker import ACTIONS
from cutover.worker.shipped import export_files, list_text, read_shipped


@dataclass(frozen=True)
class WorkerSrcOptions:
    """worker-src's settings; the defaults are the command line's."""

    action: str  # one of ACTIONS
    target: str | None = None  # show: the file name; export: the directory
    force: bool = False
    quiet: bool = False
    verbose: bool = False


def run(options: WorkerSrcOptions) -> int:
    if options.action == "list":
        if options.target:
            raise UsageError("worker-src list takes no argument")
        write_stdout_bytes(list_text().encode("utf-8"))
        return EXIT_OK
    if options.action not in ACTIONS:
        raise UsageError(f"worker-src {options.action!r}: expected one of {', '.join(ACTIONS)}")
    if not options.target:
        what = "NAME (see: cutover worker-src list)" if options.action == "show" else "DIR"
        raise UsageError(f"worker-src {options.action} needs {what}")
    if options.action == "show":
        write_stdout_bytes(read_shipped(options.target))
        return EXIT_OK
    for line in export_files(options.target, force=options.force):
        print(line, flush=True)
    return EXIT_OK
