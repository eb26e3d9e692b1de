"""A test-only command whose run() raises what the test asks for: exercises cli.main's one
place that maps errors to exit codes."""
from __future__ import annotations

import argparse

from cutover import errors

SECRET = "sk-live-4242-do-not-print"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what")


def run(args: argparse.Namespace) -> int:
    what = args.what
    if what == "ok":
        return errors.EXIT_OK
    if what == "inconclusive":  # a verdict is returned, not raised
        return errors.EXIT_INCONCLUSIVE
    if what == "interrupt":
        raise KeyboardInterrupt
    if what == "crash":
        raise ValueError(f"internal bug while holding {SECRET}")
    cls = {
        "error": errors.CutoverError,
        "config": errors.ConfigError,
        "refused": errors.RefusedError,
        "gate": errors.GateFailedError,
        "usage": errors.UsageError,
        "interrupted": errors.InterruptedRun,
    }[what]
    raise cls(f"{what} happened")
