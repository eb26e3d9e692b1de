"""Atomic writes (temp file, fsync, rename) for outputs and checkpoints."""
from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from typing import IO, Any, Iterator

_SURROGATE = re.compile("[\ud800-\udfff]")


@contextlib.contextmanager
def atomic_writer(path: str, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Yield a file object; on success it replaces `path` atomically, on error `path` is untouched.

    Special files (/dev/null, a FIFO, a terminal) are written in place: renaming over them
    would replace the device node itself. A symlink is followed, so its target is updated.
    """
    given = path
    path = os.path.realpath(path)
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        kwargs_special: dict[str, Any] = {} if "b" in mode else {"encoding": encoding, "newline": ""}
        try:
            special = open(path, mode, **kwargs_special)  # noqa: SIM115 - closed below
        except OSError as exc:
            raise _cannot_write(given, exc) from None
        with special:
            yield special
        return
    directory = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        # Name the operator's path, not our temp file: a missing or read-only directory is an
        # input problem (exit 1, one line), not a crash.
        raise _cannot_write(given, exc) from None
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


def _cannot_write(path: str, exc: OSError) -> Exception:
    from cutover.errors import CutoverError

    return CutoverError(f"cannot write {path}: {exc.strerror or exc}")


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


def json_text(obj: Any, **kwargs: Any) -> str:
    """`json.dumps(obj, ensure_ascii=False)` that UTF-8 can always encode: a lone surrogate
    (valid in JSON and in Python strings, not in Unicode) is written as its \\uXXXX escape."""
    text = json.dumps(obj, ensure_ascii=False, **kwargs)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def atomic_write_json(path: str, obj: Any) -> None:
    atomic_write_text(path, json_text(obj, indent=2, sort_keys=True) + "\n")


def check_writable(path: str, flag: str) -> None:
    """Fail before any work if `path` (an output named by `flag`) cannot be written.

    A one-line CutoverError naming the flag; "-" (stdout) and special files pass. Probes by
    creating a file beside it, so it holds for root and read-only mounts alike."""
    from cutover.errors import CutoverError

    if path == "-":
        return
    real = os.path.realpath(path)
    folder = os.path.dirname(real) or "."
    problem = ""
    if os.path.isdir(real):
        problem = "is a directory; give a file path"
    elif not os.path.isdir(folder):
        problem = f"folder {os.path.dirname(path) or folder} does not exist; create it or choose another path"
    elif os.path.exists(real) and not stat.S_ISREG(os.stat(real).st_mode):
        if not os.access(real, os.W_OK):
            problem = "permission denied"
    else:
        try:
            fd, probe = tempfile.mkstemp(prefix=f".{os.path.basename(real)}.", suffix=".probe", dir=folder)
            os.close(fd)
            os.unlink(probe)
            if os.path.exists(real):
                with open(real, "a"):
                    pass
        except OSError as exc:
            problem = f"{exc.strerror or exc}; choose another path"
    if problem:
        raise CutoverError(f"{flag}: cannot write {path}: {problem}")


def write_output(path: str, text: str, stdout: IO[str] | None = None) -> None:
    """Write a result to `path` atomically, or to stdout when `path` is '-'."""
    if path == "-":
        import sys

        out = stdout or sys.stdout
        out.write(text)
        out.flush()
    else:
        atomic_write_text(path, text)


def write_stdout_bytes(data: bytes) -> None:
    """Bytes to stdout exactly as given (no newline translation): a shipped file must reproduce."""
    import sys

    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
