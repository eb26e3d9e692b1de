"""The interruptible pool: abandon() cancels the queue and returns while work is still in flight."""
from __future__ import annotations

import threading
from typing import List

from cutover.core.workers import Workers


def test_abandon_cancels_the_queue_and_does_not_wait_for_work_in_flight() -> None:
    pool = Workers(2, "test")
    release = threading.Event()
    started: List[int] = []
    both_running = threading.Barrier(3, timeout=30)

    def job(n: int) -> int:
        started.append(n)
        if n < 2:
            both_running.wait()
            release.wait(30)
        return n

    futures = [pool.submit(job, n) for n in range(6)]
    both_running.wait()  # two in flight, four queued
    try:
        pool.abandon()  # returns although both workers are still blocked
        assert not release.is_set() and futures[0].running() and futures[1].running()
        assert all(f.cancelled() for f in futures[2:])
        assert pool.submit(job, 9).cancelled()  # nothing new is taken either
    finally:
        release.set()
    assert [f.result(timeout=30) for f in futures[:2]] == [0, 1]
    assert sorted(started) == [0, 1]  # the queued ones never ran
    assert all(t.daemon for t in threading.enumerate() if t.name.startswith("test-"))


def test_close_after_normal_work_joins_the_workers_and_exceptions_reach_the_caller() -> None:
    pool = Workers(3, "test-close")

    def job(n: int) -> int:
        if n == 4:
            raise KeyError(n)
        return n * n

    futures = [pool.submit(job, n) for n in range(8)]
    assert [f.result(timeout=30) for f in futures if f is not futures[4]] == [0, 1, 4, 9, 25, 36, 49]
    assert isinstance(futures[4].exception(timeout=30), KeyError)
    pool.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("test-close-")]
