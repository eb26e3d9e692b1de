"""Resumable progress: a small JSON state file saved atomically after each acknowledged step.

A crash (even kill -9) between two saves loses nothing: the state on disk always describes
work that was acknowledged, so a resume may redo a little but never skips anything. Nothing is
written before the first acknowledged step, so a run refused at its first request leaves no
file behind to refuse the corrected rerun.
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List, Tuple

from cutover.core.fsutil import atomic_write_json
from cutover.errors import CutoverError

FORMAT = 1

KeyPath = Tuple[str, ...]
# (path of a setting in the job, its value then, its value now) -> a sentence, or None for the default
Describe = Callable[[KeyPath, Any, Any], "str | None"]
_ABSENT = object()


def setting_change(label: str, before: Any, now: Any) -> str:
    """'LABEL was X, now Y' (an absent value reads 'not given')."""
    return f"{label} was {_shown(before)}, now {_shown(now)}"


def _shown(value: Any) -> str:
    if value is None or value is _ABSENT:
        return "not given"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def job_differences(before: Any, now: Any, describe: Describe | None = None) -> List[str]:
    """The settings that differ between two jobs, in words: 'NAME was X, now Y'."""
    out: List[str] = []

    def walk(path: KeyPath, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                walk(path + (str(key),), a.get(key, _ABSENT), b.get(key, _ABSENT))
            return
        if a == b:
            return
        said = describe(path, None if a is _ABSENT else a, None if b is _ABSENT else b) if describe else None
        if said is None:
            name = ".".join(path) or "the job"
            if isinstance(b, dict) and a in (_ABSENT, None):
                said = f"{name} was not part of that run"
            elif isinstance(a, dict) and b in (_ABSENT, None):
                said = f"{name} was part of that run, not of this one"
            else:
                said = setting_change(name, a, b)
        out.append(said)

    walk((), before, now)
    return out


class Checkpoint:
    """`state` is a JSON-able dict owned by the command; `job` identifies what it belongs to.

    `describe` turns a differing job setting into words for the operator (see job_differences)."""

    def __init__(self, path: str, job: Dict[str, Any], describe: Describe | None = None) -> None:
        self.path = path
        self.job = job
        self.describe = describe
        self.state: Dict[str, Any] = {}
        self.on_disk = False  # loaded from, or saved to, `path` by this run

    def _read(self) -> Dict[str, Any] | None:
        try:
            with open(self.path, encoding="utf-8") as handle:
                saved = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise CutoverError(f"checkpoint {self.path}: unreadable ({exc}); move it away to start over") from None
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise CutoverError(f"checkpoint {self.path}: unknown format; move it away to start over")
        return saved

    def _other_run(self, saved_job: Any, resume: bool) -> CutoverError:
        shown = os.path.abspath(self.path)
        differences = job_differences(saved_job, self.job, self.describe)
        what = "; ".join(differences) if differences else "its settings differ"
        return CutoverError(
            f"checkpoint {shown} is from an unfinished run with other settings: {what}. Run with the original "
            f"settings{'' if resume else ' and --resume'} to continue it, or delete {shown} to start over"
        )

    def load(self) -> bool:
        """Read saved state for the same job; False if there is none. Refuses another job's file."""
        saved = self._read()
        if saved is None:
            return False
        if saved.get("job") != self.job:
            raise self._other_run(saved.get("job"), resume=True)
        self.state = dict(saved.get("state") or {})
        self.on_disk = True
        return True

    def saved_state(self) -> Dict[str, Any] | None:
        """The state on disk whatever job it belongs to (None: no file), for checks that come
        before this run's job is known; `load` still refuses another job's file."""
        saved = self._read()
        if saved is None:
            return None
        state = saved.get("state")
        return dict(state) if isinstance(state, dict) else {}

    def open(self, resume: bool, start_over_note: str = "") -> bool:
        """Start or continue: with `resume` load the saved state (False when there is none);
        without, refuse a file an unfinished run left (it would be silently overwritten)."""
        if resume:
            return self.load()
        saved = self._read()
        if saved is None:
            return False
        if saved.get("job") != self.job:
            raise self._other_run(saved.get("job"), resume=False)
        shown = os.path.abspath(self.path)
        raise CutoverError(
            f"checkpoint {shown} exists from an earlier unfinished run: add --resume to continue it, "
            f"or delete {shown} to start over{start_over_note}"
        )

    def start_note(self) -> str:
        """The one line every command says when --resume finds no checkpoint and starts over."""
        return f"no checkpoint at {os.path.abspath(self.path)}: starting from the beginning"

    def save(self) -> None:
        atomic_write_json(self.path, {"format": FORMAT, "job": self.job, "state": self.state})
        self.on_disk = True

    def exists(self) -> bool:
        return os.path.exists(self.path)

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.on_disk = False
