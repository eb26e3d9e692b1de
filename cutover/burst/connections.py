"""The Atlas connection-cap guard: readings before, during and after waves; the abort decision."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from cutover.atlas.client import AtlasClient, ConnectionsReading
from cutover.burst.report import iso


@dataclass
class Reading:
    phase: str
    at: float
    value: ConnectionsReading

    def json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "at": iso(self.at),
            "latest": self.value.latest,
            "latest_at": self.value.latest_at,
            "peak": self.value.peak,
            "peak_at": self.value.peak_at,
            "points": self.value.points,
        }


@dataclass
class ConnectionGuard:
    client: AtlasClient
    group: str
    process: str
    cap: float
    max_pct: float
    poll_interval: float = 10.0  # Atlas reports CONNECTIONS every 10 s (PT10S)
    readings: list[Reading] = field(default_factory=list)
    on_reading: Callable[[Reading], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def threshold(self) -> float:
        return self.cap * self.max_pct / 100.0

    @property
    def peak(self) -> float | None:
        peaks = [r.value.peak for r in self.readings if r.value.peak is not None]
        return max(peaks) if peaks else None

    @property
    def exceeded(self) -> bool:
        peak = self.peak
        return peak is not None and peak > self.threshold

    def read(self, phase: str) -> Reading:
        reading = Reading(phase, time.time(), self.client.connections(self.group, self.process))
        with self._lock:
            self.readings.append(reading)
        if self.on_reading is not None:
            self.on_reading(reading)
        return reading

    def watch(self, phase: str, seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        """Poll every `poll_interval` for `seconds` (Atlas lags), stopping early once over the threshold."""
        end = time.monotonic() + seconds
        while not self.exceeded:
            left = end - time.monotonic()
            if left <= 0:
                return
            sleep(min(self.poll_interval, left))
            self.read(phase)

    def json(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "process": self.process,
            "cap": self.cap,
            "max_pct": self.max_pct,
            "threshold": self.threshold,
            "peak": self.peak,
            "exceeded": self.exceeded,
            "readings": [r.json() for r in self.readings],
        }


class DuringWave:
    """Background polling while a wave is in flight; errors are kept for the caller to raise."""

    def __init__(self, guard: ConnectionGuard, phase: str) -> None:
        self.guard = guard
        self.phase = phase
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="atlas-poll", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.guard.poll_interval):
            try:
                self.guard.read(self.phase)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                self.error = exc
                return

    def __enter__(self) -> DuringWave:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=self.guard.client.http.timeout + 5.0)
