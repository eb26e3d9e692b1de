"""The cmd_timing counting rules (docs/commands/analyze-soak.md), applied to normalised records."""
from __future__ import annotations

import json
import math
from typing import Any, Tuple

from cutover.errors import UNDECODABLE
from cutover.soak.model import Patterns, Record, Tally

CMD_TIMING = "cmd_timing"
DUAL_WRITE_EVENT = "dual_write_secondary_failure"
MONGO_ERROR_EVENT = "mongo_connection_error"


def as_event(item: Any) -> Tuple[dict | None, str | None]:
    """(structured event, None) when the item is our event object or its JSON string; else (None, text)."""
    if isinstance(item, dict):
        if isinstance(item.get("event"), str):
            return item, None
        return None, _written(item, separators=(",", ":"))
    if isinstance(item, str):
        stripped = item.lstrip()
        if stripped.startswith("{"):
            try:
                obj = json.loads(stripped)
            except UNDECODABLE:
                obj = None
            if isinstance(obj, dict) and isinstance(obj.get("event"), str):
                return obj, None
        return None, item
    if item is None:
        return None, None
    return None, _written(item) if isinstance(item, list) else str(item)


def _written(item: Any, **how: Any) -> str | None:
    """A logged object or array as JSON text, for the text rules; None when it is nested too deep
    to write back (it was read at the edge of the recursion limit): no text to match."""
    try:
        return json.dumps(item, ensure_ascii=False, **how)
    except RecursionError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


_MS_LIMIT = 1 << 52  # far beyond any real time; keeps values inside the compact int64 arrays


def as_int_ms(value: Any) -> int | None:
    """Epoch ms from a number (or a numeric string); anything else, or absurdly large, is unknown."""
    if isinstance(value, bool):
        return None
    ms: int | None = None
    if isinstance(value, (int, float)) and math.isfinite(value):
        ms = int(value)
    elif isinstance(value, str) and value.strip().isdigit() and len(value.strip()) < 20:
        ms = int(value.strip())
    return ms if ms is not None and -_MS_LIMIT < ms < _MS_LIMIT else None


class Counter:
    """Applies the rules to records; one per tally, patterns compiled once."""

    def __init__(self, tally: Tally, patterns: Patterns, since_ms: int | None = None, until_ms: int | None = None) -> None:
        self.tally = tally
        self.patterns = patterns
        self.dual_re, self.mongo_re = patterns.compiled()
        self.since_ms = since_ms
        self.until_ms = until_ms

    def in_window(self, ms: int | None) -> bool:
        """Events outside --since/--until are skipped (and counted); events without a time are kept
        (and counted, so that a window that could not be applied is never silent)."""
        if self.since_ms is None and self.until_ms is None:
            return True
        if ms is None:
            self.tally.kept_without_time += 1
            return True
        if (self.since_ms is not None and ms < self.since_ms) or (self.until_ms is not None and ms >= self.until_ms):
            self.tally.outside_window += 1
            return False
        return True

    def timing(self, event: dict, ms: int | None) -> None:
        cmd = event.get("cmd")
        duration = _number(event.get("durationMs"))
        if not isinstance(cmd, str) or duration is None:
            self.tally.malformed += 1
            return
        if not self.in_window(ms):
            return
        cold = event.get("cold")
        tally = self.tally
        tally.cmd_timing += 1
        if not isinstance(cold, bool):
            tally.cold_unknown += 1
            cold = False
        group = tally.group(cmd, cold)
        group.values.append(duration)
        group.times.append(-1 if ms is None else ms)
        tally.seen_time(ms)

    def entry(self, items: list, ms: int | None) -> None:
        """One console.log call (or one row / exception): each failure kind at most once."""
        dual = mongo = False
        for item in items:
            event, text = as_event(item)
            if event is not None:
                kind = event.get("event")
                if kind == CMD_TIMING:
                    self.timing(event, ms)
                elif kind == DUAL_WRITE_EVENT:
                    dual = True
                elif kind == MONGO_ERROR_EVENT:
                    mongo = True
            elif text:
                dual = dual or self.dual_re.search(text) is not None
                mongo = mongo or self.mongo_re.search(text) is not None
        if (dual or mongo) and self.in_window(ms):
            self.tally.dual_write_failures += dual
            self.tally.mongo_connection_errors += mongo
            self.tally.seen_time(ms)

    def record(self, record: Record) -> None:
        tally = self.tally
        tally.records += 1
        tally.formats[record.fmt] += 1
        for entry in record.entries:
            self.entry(entry.items, entry.timestamp_ms if entry.timestamp_ms is not None else record.timestamp_ms)
        for name, message, ms in record.exceptions:
            self.entry([f"{name}: {message}" if name else message], ms if ms is not None else record.timestamp_ms)
        outcome = record.outcome
        if outcome and outcome != "ok" and self.in_window(record.timestamp_ms):
            if record.request_id:
                tally.outcome_by_request[record.request_id] = outcome
            else:
                tally.outcomes[outcome] += 1
            tally.seen_time(record.timestamp_ms)
