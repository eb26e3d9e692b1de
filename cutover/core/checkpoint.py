"""Resumable progress: a small JSON state file saved atomically after each acknowledged step.

A crash (even kill -9) between two saves loses nothing: the state on disk always describes
work that was acknowledged, so a resume may redo a little but never skips anything.
"""
from __future__ import annotations

import json
import os
from typing import Any

from cutover.core.fsutil import atomic_write_json
from cutover.errors import CutoverError

FORMAT = 1


class Checkpoint:
    """`state` is a JSON-able dict owned by the command; `job` identifies what it belongs to."""

    def __init__(self, path: str, job: dict[str, Any]) -> None:
        self.path = path
        self.job = job
        self.state: dict[str, Any] = {}

    def load(self) -> bool:
        """Read saved state for the same job; False if there is none. Refuses another job's file."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                saved = json.load(handle)
        except FileNotFoundError:
            return False
        except (OSError, ValueError) as exc:
            raise CutoverError(f"checkpoint {self.path}: unreadable ({exc}); move it away to start over") from None
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise CutoverError(f"checkpoint {self.path}: unknown format; move it away to start over")
        if saved.get("job") != self.job:
            raise CutoverError(
                f"checkpoint {self.path} belongs to a different run ({saved.get('job')}); "
                "use another --checkpoint or delete it to start over"
            )
        self.state = dict(saved.get("state") or {})
        return True

    def save(self) -> None:
        atomic_write_json(self.path, {"format": FORMAT, "job": self.job, "state": self.state})

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
