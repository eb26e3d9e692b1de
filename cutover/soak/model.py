"""What a reader yields (Record, Entry) and what the counting rules accumulate (Tally)."""
from __future__ import annotations

import re
from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List, Set, Tuple

# Defaults of the cmd_timing counting rules (docs/commands/analyze-soak.md); overridable with --dual-write-pattern / --mongo-error-pattern.
DUAL_WRITE_PATTERN = r"(?i)dual.?write.*(fail|error)"
MONGO_ERROR_PATTERN = r"Mongo(Network|NetworkTimeout|ServerSelection|TopologyClosed|PoolClosed)Error"
CPU_OUTCOME = "exceededCpu"


@dataclass(frozen=True)
class Patterns:
    """Text rules for failures that are logged as plain text or exception names."""

    dual_write: str = DUAL_WRITE_PATTERN
    mongo_error: str = MONGO_ERROR_PATTERN
    cpu_outcome: str = CPU_OUTCOME

    @property
    def is_default(self) -> bool:
        return self == Patterns()

    def compiled(self) -> Tuple[re.Pattern, re.Pattern]:  # type: ignore[type-arg]
        return re.compile(self.dual_write), re.compile(self.mongo_error)


@dataclass
class Entry:
    """One console.log call: its message items (strings or objects) and its time."""

    items: List[Any]
    timestamp_ms: int | None = None


@dataclass
class Record:
    """One record of an export, normalised: an invocation (Logpush, tail) or one row (Observability)."""

    fmt: str
    timestamp_ms: int | None = None
    outcome: str | None = None
    request_id: str | None = None
    entries: List[Entry] = field(default_factory=list)
    exceptions: List[Tuple[str, str, int | None]] = field(default_factory=list)  # (name, message, ms)


HOUR_MS = 3_600_000


class Group:
    """Samples of one (cmd, cold) group in compact arrays: pending durations with their times
    (ms, -1 unknown), and `settled`, the durations already bucketed by hour and sorted."""

    __slots__ = ("values", "times", "settled")

    def __init__(self) -> None:
        self.values = array("d")
        self.times = array("q")
        self.settled = array("d")

    def __len__(self) -> int:
        return len(self.values) + len(self.settled)


@dataclass
class Tally:
    """Everything the counting rules produce; `merge` combines tallies of files or byte ranges."""

    groups: Dict[Tuple[str, bool], Group] = field(default_factory=dict)
    records: int = 0
    cmd_timing: int = 0
    cold_unknown: int = 0
    dual_write_failures: int = 0
    mongo_connection_errors: int = 0
    malformed: int = 0
    unrecognized: int = 0
    outside_window: int = 0
    kept_without_time: int = 0  # events kept although --since/--until was asked: they carry no time
    outcomes: Counter = field(default_factory=Counter)  # non-ok outcomes of invocations without a request id
    outcome_by_request: Dict[str, str] = field(default_factory=dict)  # request id -> non-ok outcome
    first_ms: int | None = None
    last_ms: int | None = None
    formats: Counter = field(default_factory=Counter)
    fast_records: int = 0
    hourly: Dict[Tuple[int, bool], array] = field(default_factory=dict)  # (hour start ms, cold) -> durations
    unsorted_hours: Set[Tuple[int, bool]] = field(default_factory=set)  # hourly keys to sort at settle

    def settle(self) -> None:
        """Bucket pending samples by hour and sort what is not sorted yet; a process does this before
        handing its tally back, so the parent only merges sorted runs (sorted() does that in linear
        time) and sorts again only an hour that two byte ranges share."""
        from itertools import groupby
        from operator import itemgetter

        first, second = itemgetter(0), itemgetter(1)
        for (_cmd, cold), group in self.groups.items():
            if len(group.values):
                hours = [ms - ms % HOUR_MS if ms >= 0 else -1 for ms in group.times]
                for hour, run in groupby(zip(hours, group.values), key=first):
                    if hour >= 0:
                        self.hour_bucket(hour, cold).extend(map(second, run))
                group.settled.extend(group.values)
                group.values = array("d")
                group.times = array("q")
            group.settled = array("d", sorted(group.settled))
        for key in self.unsorted_hours:  # in the parent, only an hour that two byte ranges share
            self.hourly[key] = array("d", sorted(self.hourly[key]))
        self.unsorted_hours.clear()

    def hour_bucket(self, hour: int, cold: bool) -> array:
        """The durations of one UTC hour, to extend (sorted at the next settle)."""
        key = (hour, cold)
        self.unsorted_hours.add(key)
        bucket = self.hourly.get(key)
        if bucket is None:
            bucket = self.hourly[key] = array("d")
        return bucket

    def group(self, cmd: str, cold: bool) -> Group:
        key = (cmd, cold)
        found = self.groups.get(key)
        if found is None:
            found = self.groups[key] = Group()
        return found

    def seen_time(self, ms: int | None) -> None:
        if ms is None or ms < 0:
            return
        if self.first_ms is None or ms < self.first_ms:
            self.first_ms = ms
        if self.last_ms is None or ms > self.last_ms:
            self.last_ms = ms

    def outcome_counts(self) -> Counter:
        total = Counter(self.outcomes)
        total.update(self.outcome_by_request.values())
        return total

    def merge(self, other: Tally) -> None:
        for key, grp in other.groups.items():
            mine = self.group(*key)
            mine.values.extend(grp.values)
            mine.times.extend(grp.times)
            mine.settled.extend(grp.settled)
        for key, values in other.hourly.items():
            found = self.hourly.get(key)
            if not found:
                self.hourly[key] = array("d", values)
            elif len(values):
                found.extend(values)
                self.unsorted_hours.add(key)
        self.unsorted_hours.update(other.unsorted_hours)
        for name in ("records", "cmd_timing", "cold_unknown", "dual_write_failures", "mongo_connection_errors",
                     "malformed", "unrecognized", "outside_window", "kept_without_time", "fast_records"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.outcomes.update(other.outcomes)
        self.outcome_by_request.update(other.outcome_by_request)
        self.formats.update(other.formats)
        self.seen_time(other.first_ms)
        self.seen_time(other.last_ms)
