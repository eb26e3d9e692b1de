"""soak-watch --input FILE on a file still being written, read like `tail -F`: what is there, then
wait for more; a new file under the name (rotation by rename) or a file that shrank (truncation
in place, copytruncate) ends this opening so that the caller reads the name again from its start."""
from __future__ import annotations

import io
import os
from typing import Callable

POLL_S = 1.0  # how often the end of a quiet file is looked at again (tail -f's default)
GRACE_MS = 5 * 60_000  # after the window's end on the clock, lines still on their way are waited for
QUIET_S = 15 * 60.0  # a file that has not grown this long is said, once per quiet spell

REPLACED = "replaced"  # the name holds another file now (rotation by rename, a new file written over it)
TRUNCATED = "truncated"  # the same file, shorter than what was read (emptied in place)


class TailFile(io.RawIOBase):
    """One opening of the followed file. At the end of what is written so far it asks `wait()`:
    True = it waited (slept), read again; False = the follow is over, end of stream. A change of
    the file behind the name ends the stream too, with `changed` saying which; after a rotation
    the old file is read to its end first (the writer may have finished a line in it)."""

    def __init__(self, path: str, wait: Callable[[], bool]) -> None:
        self.path = path
        self.wait = wait
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))  # FileNotFoundError: not there (yet)
        st = os.fstat(self.fd)
        self.identity = (st.st_dev, st.st_ino)
        self.pos = 0  # bytes read from this opening
        self.changed: str | None = None

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        while True:
            data = os.read(self.fd, len(buffer))
            if data:
                buffer[: len(data)] = data
                self.pos += len(data)
                return len(data)
            if self.changed is not None:
                return 0  # the old file read to its end after a rotation
            self.changed = self._change()
            if self.changed == TRUNCATED:
                return 0  # what was at this position is gone: the file is read again from 0
            if self.changed == REPLACED:
                continue  # what the writer left in the old file, then the end of this opening
            if not self.wait():
                return 0

    def _change(self) -> str | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None  # moved away and no new one yet: the writer may still write to the old one
        if (st.st_dev, st.st_ino) != self.identity:
            return REPLACED
        if st.st_size < self.pos:
            return TRUNCATED
        return None

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()
