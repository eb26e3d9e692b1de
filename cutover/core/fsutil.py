"""Atomic writes (temp file, fsync, rename) for outputs and checkpoints."""
from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from typing import IO, Any, Iterator


@contextlib.contextmanager
def atomic_writer(path: str, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Yield a file object; on success it replaces `path` atomically, on error `path` is untouched.

    Special files (/dev/null, a FIFO, a terminal) are written in place: renaming over them
    would replace the device node itself. A symlink is followed, so its target is updated.
    """
    path = os.path.realpath(path)
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        kwargs_special: dict[str, Any] = {} if "b" in mode else {"encoding": encoding, "newline": ""}
        with open(path, mode, **kwargs_special) as special:
            yield special
        return
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        kwargs: dict[str, Any] = {} if "b" in mode else {"encoding": encoding, "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; outputs should get the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        _fsync_dir(directory)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_text(path: str, text: str) -> None:
    with atomic_writer(path, "w") as handle:
        handle.write(text)


def atomic_write_bytes(path: str, data: bytes) -> None:
    with atomic_writer(path, "wb", encoding=None) as handle:
        handle.write(data)


def atomic_write_json(path: str, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_output(path: str, text: str, stdout: IO[str] | None = None) -> None:
    """Write a result to `path` atomically, or to stdout when `path` is '-'."""
    if path == "-":
        import sys

        out = stdout or sys.stdout
        out.write(text)
        out.flush()
    else:
        atomic_write_text(path, text)
