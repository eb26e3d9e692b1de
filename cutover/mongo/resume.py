"""What a resumable command's checkpoint keeps about its Mongo source, and the check `--resume`
makes against it: a saved position in other data would skip documents or keep stale ones.

Export files are fingerprinted (`MongoSource.fingerprint`); live sources (`dataapi:`,
`mongodb://`) are not (they change anyway), so a resume on one is said to carry that risk.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from cutover.core.console import Console
from cutover.errors import CutoverError
from cutover.mongo.base import MongoSource


def fingerprints(source: MongoSource, collections: Mapping[str, str]) -> dict[str, Any]:
    """{label: fingerprint of its collection (None for a live source)}, for the checkpoint."""
    return {label: source.fingerprint(collection) for label, collection in collections.items()}


def fingerprint_change(before: dict[str, Any] | None, now: dict[str, Any] | None) -> str:
    """What differs between two fingerprints, in words."""
    if before is None or now is None:
        return "it was " + ("a live database" if before is None else "an export file") + ", now it is not"
    if before.get("file") != now.get("file"):
        return f"file {before.get('file')} is now {now.get('file')}"
    if before.get("size") != now.get("size"):
        return f"{now.get('file')}: {before.get('size'):,} bytes then, {now.get('size'):,} now"
    if before.get("mtime_ns") != now.get("mtime_ns"):
        return f"{now.get('file')} was modified"
    return f"{now.get('file')}: content differs"


def check_same_source(
    path: str,
    state: Mapping[str, Any],
    now: Mapping[str, Any],
    console: Console,
    *,
    subject: Callable[[str], str],
    risk: str,
    live_warning: Callable[[str], str | None] | None = None,
) -> None:
    """Refuse a resume whose source is not the one the checkpoint at `path` was made from.

    `state` is the checkpoint's state (its `sources`: label -> fingerprint), `now` the
    fingerprints of this run; `subject(label)` names one ("module sessions"), `risk` says what
    resuming on other data would do; `live_warning(started)` is said once per live source."""
    saved = state.get("sources")
    if not isinstance(saved, dict):
        console.warn(f"checkpoint {path} predates source fingerprints: cannot tell whether the "
                     "export changed since; if it did, start over without --resume")
        return
    started = str(state.get("started_at") or "the first run")
    for label, current in now.items():
        before = saved.get(label)
        if before == current and current is not None:
            continue
        if before is None and current is None:
            said = live_warning(started) if live_warning is not None else None
            if said:
                console.warn(f"{subject(label)}: {said}")
            continue
        other = (f", or put the original export back at {before['file']} and run with --resume"
                 if isinstance(before, dict) and before.get("file") else "")
        raise CutoverError(
            f"--resume: the source of {subject(label)} changed since the checkpoint {path} was written "
            f"({fingerprint_change(before, current)}); {risk}. Start over: delete {path} and run again "
            f"without --resume{other}"
        )
