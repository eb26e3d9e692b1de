"""A small thread pool that an interrupt can leave at once.

`concurrent.futures.ThreadPoolExecutor` joins its workers when the interpreter exits (and before
3.9 cannot cancel its queue in one call), so after Ctrl-C a run would sit until every request in
flight came back — minutes, when they wait out a rate-limit block. Here the workers are daemon
threads: `abandon()` cancels what is queued and returns without waiting; what is in flight ends
on its own or with the process. Normal shutdown (`close`) still waits for the (idle) workers.
"""
from __future__ import annotations

import queue
import threading
from concurrent.futures import Future
from typing import Any, Callable, List, Tuple

_Item = Tuple["Future[Any]", Callable[..., Any], Tuple[Any, ...]]


class Workers:
    """`submit(fn, *args) -> Future`; `abandon()` on an interrupt; `close()` at the end."""

    def __init__(self, count: int, name: str) -> None:
        self.stopped = threading.Event()  # set by abandon(): workers take nothing more
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._pending: List[Future[Any]] = []
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(max(1, count))]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        future: Future[Any] = Future()
        if self.stopped.is_set():
            future.cancel()
            return future
        self._pending = [f for f in self._pending if not f.done()]
        self._pending.append(future)
        self._queue.put((future, fn, args))
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args = item
            if self.stopped.is_set() or not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
                future.set_exception(exc)

    def abandon(self) -> None:
        """Cancel everything queued and return at once; work in flight is not waited for."""
        self.stopped.set()
        for future in self._pending:
            future.cancel()  # only a queued one can be cancelled; a running one runs out alone
        self._pending = []
        for _ in self._threads:
            self._queue.put(None)

    def close(self) -> None:
        """Stop the workers; waits for them unless abandoned."""
        if self.stopped.is_set():
            return
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()
