"""The one exception family; `cli.main` turns it into one line on stderr and an exit code.

One way to end with a non-zero exit: a run that finishes with a verdict (a gate, a comparison,
a drill) RETURNS one of the EXIT_* constants after its report; a failure that stops the run
RAISES a CutoverError (subclass), whose exit_code cli.main returns."""
from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_GATE_FAILED = 4
EXIT_INCONCLUSIVE = 5
EXIT_INTERRUPTED = 130

# What decoding untrusted JSON text raises: bad JSON (a ValueError), or nesting deeper than the
# interpreter's recursion limit (a line of 5,000 "{"). Every reader of logs and exports catches
# both: either way the text is not a value it can read, and that is never a crash.
UNDECODABLE = (ValueError, RecursionError)


class CutoverError(Exception):
    """An expected failure: `message` is shown as one line, `exit_code` is returned."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(CutoverError):
    """Bad flags or config values the operator must fix (exit 2)."""

    exit_code = EXIT_USAGE


class ConfigError(CutoverError):
    """A config file or key is missing or wrong; the message names file and key."""

    exit_code = EXIT_ERROR


class RefusedError(CutoverError):
    """A guarded action refused to run (delete-guard without a terminal, in CI)."""

    exit_code = EXIT_REFUSED


class GateFailedError(CutoverError):
    """A gate or check found a problem (PIVOT, connection cap, verify differences)."""

    exit_code = EXIT_GATE_FAILED


class InterruptedRun(CutoverError):
    """Ctrl-C or SIGTERM ended the run; the message says what was saved and how to go on (exit 130)."""

    exit_code = EXIT_INTERRUPTED
