"""One call run in a forked child process, its result back through a pipe.

Cheaper to start than a process pool (no executor threads or queues to set up, no multiprocessing
import: about 40 ms less), which counts for work that takes a second or two. Where there is no fork
(Windows) or it fails, `start` returns None and the caller does the work itself."""
from __future__ import annotations

import os
import pickle
import signal
from typing import Any, Callable

from cutover.errors import CutoverError


class Child:
    """A forked child running one call; `result()` waits for it and returns or raises what it did."""

    def __init__(self, pid: int, reader: int) -> None:
        self.pid = pid
        self.reader = reader
        self.done = False  # reaped: its pid may belong to another process now

    def result(self) -> Any:
        chunks = []
        self.done = True
        try:
            while True:
                chunk = os.read(self.reader, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(self.reader)
            _, status = os.waitpid(self.pid, 0)
        if not chunks:
            raise CutoverError(f"a worker process ended without a result ({_how(status)}); "
                               "run again, or with --jobs 1 to read in one process")
        ok, value = pickle.loads(b"".join(chunks))
        if ok:
            return value
        raise value

    def stop(self) -> None:
        """Kill the child and reap it (the caller gave up on its result); nothing once reaped."""
        if self.done:
            return
        self.done = True
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.close(self.reader)
        except OSError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except OSError:
            pass


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.WEXITSTATUS(status)}" if os.WIFEXITED(status) else f"status {status}"


def start(call: Callable[..., Any], *args: Any) -> Child | None:
    """Fork a child that runs call(*args) and sends back its result or exception; None when this
    platform cannot fork (the caller runs the call itself)."""
    fork = getattr(os, "fork", None)
    if fork is None:
        return None
    try:
        reader, writer = os.pipe()
    except OSError:  # out of file descriptors
        return None
    try:
        pid = fork()
    except OSError:  # out of processes or memory
        os.close(reader)
        os.close(writer)
        return None
    if pid == 0:  # the child: never returns into the caller's code
        status = 0
        try:
            os.close(reader)
            try:
                payload = pickle.dumps((True, call(*args)), pickle.HIGHEST_PROTOCOL)
            except BaseException as exc:  # noqa: BLE001 - sent to the parent, which raises it
                payload = _pickled_error(exc)
            view = memoryview(payload)
            while view:
                view = view[os.write(writer, view):]
        except BaseException:  # noqa: BLE001 - the parent sees no result and says so
            status = 1
        finally:
            os._exit(status)
    os.close(writer)
    return Child(pid, reader)


def _pickled_error(exc: BaseException) -> bytes:
    try:
        payload = pickle.dumps((False, exc), pickle.HIGHEST_PROTOCOL)
        pickle.loads(payload)  # an exception whose class cannot be rebuilt is sent as its text
        return payload
    except Exception:  # noqa: BLE001
        return pickle.dumps((False, CutoverError(f"{type(exc).__name__}: {exc}")), pickle.HIGHEST_PROTOCOL)
