"""The running figures: analyze-soak's own Counter and Tally fed record by record, plus the
failure counts of each event-hour (the core's counts before and after a record, attributed to
its hour), the gate command's cold samples per hour (--gate-cmd), and which hours have been
judged against the stop-conditions."""
from __future__ import annotations

from array import array
from typing import Any, Dict, List, Set, Tuple

from cutover.soak.formats import count_value
from cutover.soak.jsonstream import MALFORMED
from cutover.soak.model import HOUR_MS, Patterns, Record, Tally
from cutover.soak.persist import pack_values, tally_from_json, tally_to_json, unpack_values
from cutover.soak.rules import Counter
from cutover.soakwatch.conditions import HourCounts, Limits, Stop, empty_hour, failure_rates, sustained_cold


def hour_of(ms: int) -> int:
    return ms - ms % HOUR_MS


class Watch:
    def __init__(self, patterns: Patterns, since_ms: int | None = None, until_ms: int | None = None,
                 tally: Tally | None = None, gate_cmd: str | None = None) -> None:
        self.counter = Counter(tally or Tally(), patterns, since_ms, until_ms)
        self.hours: HourCounts = {}  # hour start ms -> [cmd_timing, dual-write, mongo, cpu]
        # --gate-cmd: that command's cold durations per hour (the tally's hours hold all commands)
        self.gate_cmd = gate_cmd
        self.gate_hours: Dict[int, array] = {}
        self._gate_unsorted: Set[int] = set()
        self.first_ms: int | None = None  # oldest / newest record time seen (also outside the window)
        self.latest_ms: int | None = None
        self.judged_hour: int | None = None  # hours up to this one were judged complete
        self._horizon_hour: int | None = None  # the hour that was incomplete when last judged

    @property
    def tally(self) -> Tally:
        return self.counter.tally

    def count_value(self, value: object) -> None:
        """One decoded JSON value (a record or a container of records), or jsonstream.MALFORMED."""
        if value is MALFORMED:
            self.tally.malformed += 1
        else:
            count_value(self, value)  # analyze-soak's walk over the value, each record to `record`

    def record(self, record: Record) -> None:
        """One record through the counting rules, its failures also filed under its event-hour."""
        tally = self.tally
        dual, mongo, timing = tally.dual_write_failures, tally.mongo_connection_errors, tally.cmd_timing
        # Only a record with the CPU outcome can change the CPU count (the rules count it per invocation).
        cpu_outcome = self.counter.patterns.cpu_outcome
        cpu = self._cpu_count(record) if record.outcome == cpu_outcome else 0
        gate_before = self._gate_pending()
        self.counter.record(record)
        if self.gate_cmd is not None:
            self._file_gate_samples(gate_before)
        ts = record.timestamp_ms
        if ts is None:
            return
        if self.first_ms is None or ts < self.first_ms:
            self.first_ms = ts
        if self.latest_ms is None or ts > self.latest_ms:
            self.latest_ms = ts
        deltas = (tally.cmd_timing - timing, tally.dual_write_failures - dual, tally.mongo_connection_errors - mongo,
                  (self._cpu_count(record) - cpu) if record.outcome == cpu_outcome else 0)
        if any(deltas):
            bucket = self.hours.setdefault(hour_of(ts), empty_hour())
            for i, delta in enumerate(deltas):
                bucket[i] += delta

    def _gate_pending(self) -> int:
        """How many of the gate command's cold samples wait in the tally for the next settle."""
        group = self.tally.groups.get((self.gate_cmd, True)) if self.gate_cmd is not None else None
        return len(group.values) if group is not None else 0

    def _file_gate_samples(self, before: int) -> None:
        """The gate command's cold samples the last record added, filed under their hours."""
        group = self.tally.groups.get((self.gate_cmd or "", True))
        if group is None:
            return
        for value, ms in zip(group.values[before:], group.times[before:]):
            if ms >= 0:  # as the tally's own hours: a sample without a time has no hour
                hour = hour_of(ms)
                self.gate_hours.setdefault(hour, array("d")).append(value)
                self._gate_unsorted.add(hour)

    def cold_by_hour(self) -> Dict[Tuple[int, bool], array]:
        """(hour, True) -> sorted cold durations the latency condition judges: the gate command's
        with --gate-cmd, else all commands' (the tally's, settled)."""
        if self.gate_cmd is None:
            return self.tally.hourly
        for hour in self._gate_unsorted:
            self.gate_hours[hour] = array("d", sorted(self.gate_hours[hour]))
        self._gate_unsorted.clear()
        return {(hour, True): values for hour, values in self.gate_hours.items()}

    def _cpu_count(self, record: Record) -> int:
        tally = self.tally
        cpu = self.counter.patterns.cpu_outcome
        mine = record.request_id is not None and tally.outcome_by_request.get(record.request_id) == cpu
        return tally.outcomes.get(cpu, 0) + int(mine)

    def new_hour_known(self, horizon_ms: int | None = None) -> bool:
        """True when an hour became complete since the last judgement (cheap; judge() does the work)."""
        boundary = self._boundary(horizon_ms, eof=False)
        return boundary is not None and (self._horizon_hour is None or boundary > self._horizon_hour)

    def _boundary(self, horizon_ms: int | None, eof: bool) -> int | None:
        """Start of the oldest hour not known to be complete (None: none is)."""
        marks = []
        if self.latest_ms is not None:
            marks.append(hour_of(self.latest_ms))  # an event of a later hour arrived
        if horizon_ms is not None:
            marks.append(hour_of(horizon_ms + 1))  # the API returned everything up to horizon_ms
        if eof:
            return None if not marks else max(marks) + HOUR_MS
        return max(marks) if marks else None

    def judge(self, limits: Limits, horizon_ms: int | None = None, eof: bool = False) -> Stop | None:
        """Judge each hour that is now complete and was not judged yet, oldest first; the first
        stop-condition found is returned."""
        boundary = self._boundary(horizon_ms, eof)
        if boundary is None:
            return None
        self._horizon_hour = boundary
        tally = self.tally
        tally.settle()
        cold = self.cold_by_hour()
        hours = sorted({hour for hour, _cold in tally.hourly} | set(self.hours))
        for hour in hours:
            if self.judged_hour is not None and hour <= self.judged_hour:
                continue
            if hour >= boundary:
                break
            self.judged_hour = hour
            stop = sustained_cold(cold, hour, limits) or failure_rates(self.hours.get(hour, empty_hour()), hour, limits)
            if stop is not None:
                return stop
        return None

    def hour_rows(self) -> List[Dict[str, Any]]:
        return [{"hour": hour, "cmd_timing": c[0], "dual_write_failures": c[1], "mongo_connection_errors": c[2],
                 "cpu_time_exceeded": c[3]} for hour, c in sorted(self.hours.items())]

    def to_json(self) -> Dict[str, Any]:
        return {"tally": tally_to_json(self.tally), "hours": [[h, list(c)] for h, c in sorted(self.hours.items())],
                "first_ms": self.first_ms, "latest_ms": self.latest_ms, "judged_hour": self.judged_hour,
                "gate_cmd": self.gate_cmd,
                "gate_hours": [[h, pack_values(v)] for h, v in sorted(self.gate_hours.items())]}

    @classmethod
    def from_json(cls, saved: Dict[str, Any], patterns: Patterns, since_ms: int | None, until_ms: int | None,
                  where: str, gate_cmd: str | None = None) -> Watch:
        from cutover.errors import CutoverError

        started_with = saved.get("gate_cmd")  # absent: a watch saved before --gate-cmd, on all commands
        if started_with != gate_cmd:
            def flag(cmd: str | None) -> str:
                return f"--gate-cmd {cmd}" if cmd else "no --gate-cmd"

            raise CutoverError(f"{where} was started with {flag(started_with)}, not {flag(gate_cmd)}: its hours "
                               f"were judged on those samples; run again with {flag(started_with)}, or with a new "
                               "--state to start over")
        watch = cls(patterns, since_ms, until_ms, tally_from_json(saved.get("tally"), where), gate_cmd)
        try:
            watch.gate_hours = {int(h): unpack_values(packed) for h, packed in saved.get("gate_hours") or []}
            watch.hours = {int(h): [int(n) for n in counts] for h, counts in saved["hours"]}
            watch.first_ms = None if saved["first_ms"] is None else int(saved["first_ms"])
            watch.latest_ms = None if saved["latest_ms"] is None else int(saved["latest_ms"])
            watch.judged_hour = None if saved["judged_hour"] is None else int(saved["judged_hour"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CutoverError(f"{where}: saved watch is damaged ({exc}); move the file away to start over") from None
        return watch
