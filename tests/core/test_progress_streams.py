"""Progress on a real terminal (pty) and on a pipe, with an injected clock (issue 19 item 10)."""
from __future__ import annotations

import os
import select
import sys
from typing import List

import pytest

from cutover.core.progress import Progress

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX")


def _drain(fd: int) -> bytes:
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        try:
            data = os.read(fd, 65536)
        except OSError:  # pty master after the slave closed (EIO)
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def _run(stream, t: List[float]) -> None:  # type: ignore[no-untyped-def]
    # 10 minutes of work, 100 docs a second, updated every second
    p = Progress("sessions", total=60_000, stream=stream, clock=lambda: t[0], unit=" docs")
    for _ in range(600):
        t[0] += 1.0
        p.update(100)
    p.close()


def test_a_pipe_gets_a_plain_line_every_30_seconds() -> None:
    read_fd, write_fd = os.pipe()
    stream = os.fdopen(write_fd, "w", encoding="utf-8")
    t = [1000.0]
    _run(stream, t)
    stream.close()
    with os.fdopen(read_fd, "rb") as reader:
        text = reader.read().decode("utf-8")
    assert "\r" not in text and "\x1b" not in text  # a log file gets no terminal control codes
    lines = text.splitlines()
    assert len(lines) == 600 // 30 + 1  # every 30 s, and the last state at the end
    assert lines[0] == "sessions: 3,000/60,000 (5%)  100 docs/s  ETA 9m30s  30s"
    assert lines[-1].startswith("sessions: 60,000/60,000 (100%)  100 docs/s")


def test_a_pipe_gets_nothing_for_a_short_run() -> None:
    read_fd, write_fd = os.pipe()
    stream = os.fdopen(write_fd, "w", encoding="utf-8")
    t = [0.0]
    p = Progress("sessions", total=10, stream=stream, clock=lambda: t[0])
    t[0] = 5.0
    p.update(10)
    p.close()
    stream.close()
    with os.fdopen(read_fd, "rb") as reader:
        assert reader.read() == b""


def test_a_terminal_gets_the_redrawn_line() -> None:
    import pty

    master, slave = pty.openpty()
    stream = os.fdopen(slave, "w", encoding="utf-8")
    try:
        t = [1000.0]
        p = Progress("sessions", total=60_000, stream=stream, clock=lambda: t[0], unit=" docs")
        t[0] += 1.0
        p.update(100)
        out = _drain(master).decode("utf-8")
        assert out.startswith("\r\x1b[Ksessions: 100/60,000 (0%)  100 docs/s")
        t[0] += 1.0
        p.update(100)
        p.close()
        out = _drain(master).decode("utf-8")
        assert "\x1b[Ksessions: 200/60,000" in out and out.endswith("\n")
    finally:
        stream.close()
        os.close(master)


def test_quiet_means_nothing_anywhere() -> None:
    read_fd, write_fd = os.pipe()
    stream = os.fdopen(write_fd, "w", encoding="utf-8")
    t = [0.0]
    p = Progress("x", total=10, stream=stream, clock=lambda: t[0], enabled=False)
    for _ in range(100):
        t[0] += 31
        p.update(1)
    p.close()
    stream.close()
    with os.fdopen(read_fd, "rb") as reader:
        assert reader.read() == b""
