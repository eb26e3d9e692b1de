"""NDJSON output that survives a crash: rows are appended to `FILE.partial` one committed frame at
a time (a gzip member per frame for `.gz`), the byte size after each commit is checkpointed, and
a resume truncates back to that size, so no half row is ever kept. At the end `FILE.partial`
is renamed to `FILE`."""
from __future__ import annotations

import gzip
import io
import json
import os
import sys
from typing import IO, Any, Dict, Iterable

from cutover.errors import CutoverError


def dumps_row(row: Dict[str, Any]) -> str:
    """One row as one NDJSON line (key order kept: the API's own row shape)."""
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


def encode_lines(rows: Iterable[Dict[str, Any]]) -> bytes:
    return "".join(dumps_row(r) + "\n" for r in rows).encode("utf-8")


class AppendOutput:
    """Append-with-checkpoint writer for one output file (or stdout for '-')."""

    def __init__(self, path: str, stdout: IO[str] | None = None) -> None:
        self.path = path
        self.to_stdout = path == "-"
        self.gzip = path.endswith(".gz")
        self.partial = path + ".partial"
        self.size = 0
        self._stdout = stdout

    def start(self, resume_size: int | None = None) -> None:
        """Fresh start (truncate) or resume at `resume_size` bytes of an existing partial file."""
        if self.to_stdout:
            return
        if resume_size is None:
            with open(self.partial, "wb"):
                pass
            self.size = 0
            return
        try:
            actual = os.path.getsize(self.partial)
        except OSError:
            raise CutoverError(f"cannot resume: {self.partial} is missing; start over without --resume") from None
        if actual < resume_size:
            raise CutoverError(
                f"cannot resume: {self.partial} has {actual} bytes, the checkpoint expects {resume_size}; "
                "start over without --resume"
            )
        with open(self.partial, "r+b") as handle:
            handle.truncate(resume_size)  # drop whatever was written after the last commit
            handle.flush()
            os.fsync(handle.fileno())
        self.size = resume_size

    def append(self, rows: Iterable[Dict[str, Any]]) -> int:
        """Write and fsync `rows`; returns the committed size in bytes."""
        data = encode_lines(rows)
        if self.to_stdout:
            out = self._stdout or sys.stdout
            out.write(data.decode("utf-8"))
            out.flush()
            return 0
        if not data:
            return self.size
        if self.gzip:
            buf = io.BytesIO()
            with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as member:
                member.write(data)
            data = buf.getvalue()
        with open(self.partial, "ab") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        self.size += len(data)
        return self.size

    def finish(self) -> None:
        """Publish the complete file under its final name."""
        if self.to_stdout:
            return
        os.replace(self.partial, self.path)
        try:
            fd = os.open(os.path.dirname(os.path.abspath(self.path)), os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
