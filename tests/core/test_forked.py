from __future__ import annotations

import os
import signal
import time

import pytest

from cutover.core import forked
from cutover.errors import CutoverError, UsageError

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")


def _big(n: int) -> bytes:
    return bytes(range(256)) * n


def test_the_result_comes_back_whole_even_when_larger_than_a_pipe_buffer():
    child = forked.start(_big, 40_000)  # 10 MB: the child blocks on the pipe until the parent reads
    assert child is not None
    assert child.result() == _big(40_000)


def _fail(message: str) -> None:
    raise UsageError(message)


def test_the_childs_exception_is_raised_in_the_parent_with_its_type_and_exit_code():
    child = forked.start(_fail, "bad --since")
    assert child is not None
    with pytest.raises(UsageError, match="bad --since") as caught:
        child.result()
    assert caught.value.exit_code == UsageError("x").exit_code


class _Unpicklable(Exception):
    def __init__(self, a: str, b: str) -> None:  # pickle rebuilds it with one argument: fails
        super().__init__(f"{a}/{b}")


def _fail_oddly() -> None:
    raise _Unpicklable("left", "right")


def test_an_exception_that_cannot_be_rebuilt_arrives_as_its_text():
    child = forked.start(_fail_oddly)
    assert child is not None
    with pytest.raises(CutoverError, match="_Unpicklable: left/right"):
        child.result()


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_a_child_killed_before_its_result_is_an_error_that_says_so():
    child = forked.start(_die)
    assert child is not None
    with pytest.raises(CutoverError, match=r"ended without a result \(killed by signal 9\).*--jobs 1"):
        child.result()


def test_stop_kills_and_reaps_a_running_child_and_is_harmless_once_reaped():
    child = forked.start(time.sleep, 30)
    assert child is not None
    started = time.monotonic()
    child.stop()
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)  # reaped: no such child any more
    child.stop()  # a second stop touches no pid


def test_no_fork_means_no_child(monkeypatch):
    monkeypatch.delattr(os, "fork")
    assert forked.start(abs, -1) is None


def test_no_pipe_or_no_process_means_no_child(monkeypatch):
    def refuse(*args):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(os, "pipe", refuse)
    assert forked.start(abs, -1) is None
    monkeypatch.undo()
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    monkeypatch.setattr(os, "fork", refuse)
    assert forked.start(abs, -1) is None
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before  # the pipe was closed again
