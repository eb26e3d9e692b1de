"""Read the shipped Worker files from package data and export them byte-for-byte."""
from __future__ import annotations

import hashlib
import os
import pkgutil
from typing import Iterator

from cutover.errors import CutoverError, UsageError
from cutover.worker import MANIFEST

PACKAGE = "cutover.worker"

DESCRIPTIONS: dict[str, str] = {
    "timing.js": "startTiming(cmd) / takeColdFlag() / commandTiming() middleware: logs cmd_timing events",
    "request-context.js": "setLastCold / getLastCold: hands the fetch-level cold flag to the dispatcher",
    "fetch-entry.example.js": "wiring example: the top of fetch() (cold flag, request log, context)",
    "bot-middleware.example.js": "wiring example: bot.use(commandTiming()) timing every command",
}


def read_shipped(name: str) -> bytes:
    """The exact bytes of one shipped file; works when cutover runs from a zip."""
    if name not in MANIFEST:
        raise UsageError(f"no shipped file named {name!r}; shipped: {', '.join(MANIFEST)}")
    data = pkgutil.get_data(PACKAGE, name)
    if data is None:
        raise CutoverError(f"shipped file {name} is missing from this build of cutover")
    return data


def list_text() -> str:
    width = max(len(name) for name in MANIFEST)
    lines = []
    for name in MANIFEST:
        size = len(read_shipped(name))
        lines.append(f"{name:<{width}}  {size:>6} bytes  {DESCRIPTIONS.get(name, '')}".rstrip())
    return "\n".join(lines) + "\n"


def export_files(directory: str, force: bool = False) -> Iterator[str]:
    """Write every shipped file into `directory`; refuse (before writing anything) to replace a
    differing file unless `force`. Yields one line per file saying what happened."""
    from cutover.core.fsutil import atomic_write_bytes

    if os.path.exists(directory) and not os.path.isdir(directory):
        raise CutoverError(f"export target {directory} exists and is not a directory")
    wanted = {name: read_shipped(name) for name in MANIFEST}
    differing = []
    for name, data in wanted.items():
        path = os.path.join(directory, name)
        if os.path.isdir(path):
            raise CutoverError(f"{path} is a directory; nothing written")
        if os.path.exists(path) and _read(path) != data:
            differing.append(name)
    if differing and not force:
        raise CutoverError(
            f"{directory} already has different {', '.join(differing)}; nothing written "
            "(use --force to overwrite)"
        )
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise CutoverError(f"cannot create {directory}: {exc.strerror}") from None
    for name, data in wanted.items():
        path = os.path.join(directory, name)
        digest = hashlib.sha256(data).hexdigest()[:12]
        if os.path.exists(path) and _read(path) == data:
            yield f"unchanged {path} ({len(data)} bytes, sha256 {digest}…)"
            continue
        verb = "replaced" if os.path.exists(path) else "wrote"
        try:
            atomic_write_bytes(path, data)
        except OSError as exc:
            raise CutoverError(f"cannot write {path}: {exc.strerror}") from None
        yield f"{verb} {path} ({len(data)} bytes, sha256 {digest}…)"


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise CutoverError(f"cannot read {path}: {exc.strerror}") from None
