"""Messages on stderr for one command run: quiet/verbose-aware, written through an open progress
display, warnings always shown. Every command speaks through one `Console`."""
from __future__ import annotations

import sys
from typing import IO, Set

from cutover.core import progress as progress_mod
from cutover.core.progress import Progress


class Console:
    """`info` (none with -q), `debug` (only with -v), `item` (a warning about one record: -q drops
    it, the summary still counts it), `warn` (always shown; `once` key shows it once), `always`
    (a verdict line: shown even with -q)."""

    def __init__(self, quiet: bool = False, verbose: bool = False, stream: IO[str] | None = None) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.stream = stream or sys.stderr
        self.progress: Progress | None = None
        self._warned: Set[str] = set()

    def _emit(self, text: str) -> None:
        bar = self.progress if self.progress is not None else progress_mod.active()
        if bar is not None and bar.stream is self.stream:
            bar.note(text)
        else:
            print(text, file=self.stream, flush=True)

    def info(self, text: str) -> None:
        if not self.quiet:
            self._emit(text)

    def debug(self, text: str) -> None:
        if self.verbose and not self.quiet:
            self._emit(text)

    def item(self, text: str) -> None:
        if not self.quiet:
            self._emit(f"warning: {text}")

    def always(self, text: str) -> None:
        """A line that ends a run or must reach the operator: shown even with -q, no prefix."""
        self._emit(text)

    def warn(self, text: str, once: str | None = None) -> None:
        if once is not None:
            if once in self._warned:
                return
            self._warned.add(once)
        self._emit(f"warning: {text}")
