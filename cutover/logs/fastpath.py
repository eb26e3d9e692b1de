"""Fast path for Logpush NDJSON: our timing.js events taken by regex straight from large blocks.

A line is parsed as JSON (the slow path) whenever the fast path cannot vouch for it: it may hold
a failure marker, a non-ok outcome, an odd shape, or a cmd_timing the regex does not take.
Both paths produce the same tally (tests/logs/test_fastpath.py)."""
from __future__ import annotations

import json
import re
from array import array
from typing import Callable, List, Tuple

from cutover.logs.formats import count_value
from cutover.logs.model import HOUR_MS, Tally
from cutover.logs.rules import Counter

_NUM = rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
_CMD = rb"[ !#-\[\]-~]*"  # printable ASCII without quote and backslash: the bytes are the string
# timing.js logs JSON.stringify(event): inside Logpush's Message array it is an escaped string.
_TAIL = rb"(?:,\\\"isolateAgeMs\\\":" + _NUM + rb")?,\\\"marks\\\":\{[^{}]*\}\}\"\],\"TimestampMs\":([0-9]{1,15})\}"
TIMING_STRING = re.compile(
    rb"\\\"event\\\":\\\"cmd_timing\\\",\\\"cmd\\\":\\\"(" + _CMD + rb")\\\",\\\"durationMs\\\":(" + _NUM
    + rb")(?:,\\\"cold\\\":(true|false))?" + _TAIL
)
# console.log(event) instead: Logpush keeps the object.
TIMING_OBJECT = re.compile(
    rb"\"event\":\"cmd_timing\",\"cmd\":\"(" + _CMD + rb")\",\"durationMs\":(" + _NUM
    + rb")(?:,\"cold\":(true|false))?(?:,\"isolateAgeMs\":" + _NUM + rb")?,\"marks\":\{[^{}]*\}\}\],\"TimestampMs\":([0-9]{1,15})\}"
)
NOT_OK = re.compile(rb"\"Outcome\":\"(?!ok\")")
# Bytes a line must contain for the text rules or the failure events to count it: "Mongo" for the
# driver's error names, the mongo_connection_error event, and "dual" in any ASCII case (searched in
# a lowercased copy) for the dual-write rule and event.
MARKERS = (b"Mongo", b"mongo_connection_error")
MARKERS_ANY_CASE = (b"dual",)


def fast_path_usable(counter: Counter) -> bool:
    """The markers above are only a sound filter for the default text rules."""
    return counter.patterns.is_default


def looks_like_logpush_lines(head: bytes) -> bool:
    """The first line is a whole Logpush record on one line (NDJSON)."""
    line = head.split(b"\n", 1)[0].strip()
    if not line.startswith(b"{") or b"\n" not in head:
        return False
    try:
        obj = json.loads(line)
    except ValueError:
        return False
    return isinstance(obj, dict) and "Outcome" in obj and ("Logs" in obj or "EventTimestampMs" in obj)


def slow_line(counter: Counter, line: bytes) -> None:
    """One line through full JSON parsing and the generic rules."""
    if not line.strip():
        return
    try:
        value = json.loads(line)
    except ValueError:
        counter.tally.malformed += 1
        return
    count_value(counter, value)


def _line_start(buf: bytes, pos: int) -> int:
    return buf.rfind(b"\n", 0, pos) + 1


def _hard_lines(buf: bytes, start: int, end: int) -> Tuple[List[int], int]:
    """Starts of the lines in buf[start:end] that must go through the slow path, and the line count."""
    hard = set()
    lowered = buf.lower()  # ASCII only: same length, same offsets
    for haystack, markers in ((buf, MARKERS), (lowered, MARKERS_ANY_CASE)):
        for marker in markers:
            pos = haystack.find(marker, start, end)
            while pos >= 0:
                hard.add(_line_start(buf, pos))
                nxt = haystack.find(b"\n", pos, end)
                if nxt < 0:
                    break
                pos = haystack.find(marker, nxt, end)
    for m in NOT_OK.finditer(buf, start, end):
        hard.add(_line_start(buf, m.start()))
    # Every line must be one Logpush record: one Outcome key per line, ending in "}". A line cut
    # short (a truncated file) or of another shape fails this and is located line by line.
    lines = buf.count(b"\n", start, end)
    shaped = buf.count(b"\"Outcome\":\"", start, end) == lines and buf.endswith(b"}\n", 0, end)
    if not shaped:
        pos = start
        while pos < end:
            nxt = buf.find(b"\n", pos, end)
            nxt = end if nxt < 0 else nxt + 1
            line = buf[pos:nxt]
            if not (line.startswith(b"{") and line.endswith(b"}\n") and line.count(b"\"Outcome\":\"") == 1):
                hard.add(pos)
            pos = nxt
    return sorted(hard), lines


def _take(counter: Counter, found: List[Tuple[bytes, bytes, bytes, bytes]]) -> None:
    tally = counter.tally
    windowed = counter.since_ms is not None or counter.until_ms is not None
    lists: dict = {}
    for cmd, duration, cold, ms in found:
        try:
            lists[cmd, cold].append((duration, ms))
        except KeyError:
            lists[cmd, cold] = [(duration, ms)]
    for (cmd, cold), pairs in lists.items():
        durations, times = zip(*pairs)
        values = list(map(float, durations))
        stamps = list(map(int, times))
        if windowed:
            keep = [i for i, ms in enumerate(stamps) if counter.in_window(ms)]
            values = [values[i] for i in keep]
            stamps = [stamps[i] for i in keep]
        if not values:
            continue
        is_cold = cold == b"true"
        group = tally.group(cmd.decode("ascii"), is_cold)
        lo, hi = min(stamps), max(stamps)
        if lo - lo % HOUR_MS == hi - hi % HOUR_MS:
            # One block of a time-ordered export mostly falls in one hour: bucket it whole.
            group.settled.extend(values)
            bucket = tally.hourly.get((lo - lo % HOUR_MS, is_cold))
            if bucket is None:
                bucket = tally.hourly[lo - lo % HOUR_MS, is_cold] = array("d")
            bucket.extend(values)
        else:
            group.values.extend(values)
            group.times.extend(stamps)
        tally.cmd_timing += len(values)
        if not cold:
            tally.cold_unknown += len(values)
        tally.seen_time(lo)
        tally.seen_time(hi)


def _segment(counter: Counter, buf: bytes, start: int, end: int) -> int:
    """Lines in buf[start:end] the fast path vouches for, except those holding an odd cmd_timing."""
    if start >= end:
        return 0
    expected = buf.count(b"cmd_timing", start, end)
    found = TIMING_STRING.findall(buf, start, end) if expected else []
    if expected != len(found) and buf.find(b"\"event\":\"cmd_timing\"", start, end) >= 0:
        found += TIMING_OBJECT.findall(buf, start, end)
    if expected == len(found):
        lines = buf.count(b"\n", start, end)
        counter.tally.records += lines
        _take(counter, found)
        return lines
    fast = 0
    # Some cmd_timing is in another shape: decide line by line within this segment.
    pos = start
    while pos < end:
        nxt = buf.find(b"\n", pos, end)
        nxt = end if nxt < 0 else nxt + 1
        if buf.find(b"cmd_timing", pos, nxt) < 0:
            counter.tally.records += 1
            fast += 1
        else:
            line = buf[pos:nxt]
            got = TIMING_STRING.findall(line) + TIMING_OBJECT.findall(line)
            if len(got) == line.count(b"cmd_timing"):
                counter.tally.records += 1
                fast += 1
                _take(counter, got)
            else:
                slow_line(counter, line)
        pos = nxt
    return fast


def scan_block(counter: Counter, buf: bytes | bytearray, end: int | None = None) -> None:
    """Count buf[:end], which holds whole lines (the last one may lack its newline)."""
    end = len(buf) if end is None else end
    if end and buf[end - 1] != 10:  # the file's last line without its newline
        buf = bytes(buf[:end]) + b"\n"
        end += 1
    hard, lines = _hard_lines(buf, 0, end)
    segments: List[Tuple[int, int]] = []
    hard_spans: List[Tuple[int, int]] = []
    pos = 0
    for line_start in hard:
        segments.append((pos, line_start))
        nxt = buf.find(b"\n", line_start, end)
        nxt = end if nxt < 0 else nxt + 1
        hard_spans.append((line_start, nxt))
        pos = nxt
    segments.append((pos, end))
    # Common case: every cmd_timing outside the hard lines is taken by the string-shape regex.
    found: List[Tuple[bytes, bytes, bytes, bytes]] = []
    for start, stop in segments:
        if stop > start:
            found += TIMING_STRING.findall(buf, start, stop)
    in_hard = sum(buf.count(b"cmd_timing", start, stop) for start, stop in hard_spans)
    if len(found) + in_hard == buf.count(b"cmd_timing", 0, end):
        fast = lines - len(hard)
        counter.tally.records += fast
        _take(counter, found)
    else:
        fast = sum(_segment(counter, buf, start, stop) for start, stop in segments)
    for start, stop in hard_spans:
        slow_line(counter, buf[start:stop])
    counter.tally.fast_records += fast
    counter.tally.formats["logpush"] += fast


def scan_stream(counter: Counter, readinto: Callable[[memoryview], int], block: int = 1 << 20,
                limit: int | None = None) -> None:
    """Blocks ending at a newline, read into one reused buffer; stops after `limit` bytes when given."""
    buf = bytearray(block)
    view = memoryview(buf)
    filled = 0
    taken = 0
    while True:
        room = block - filled
        if limit is not None:
            room = min(room, limit - taken)
        got = readinto(view[filled : filled + room]) if room > 0 else 0
        got = got or 0
        taken += got
        filled += got
        if got == 0:
            if filled:
                scan_block(counter, bytes(view[:filled]))
            return
        cut = buf.rfind(b"\n", 0, filled) + 1
        if cut == 0:
            if filled == block:  # one line longer than the block: grow
                view.release()
                buf.extend(bytes(block))
                block *= 2
                view = memoryview(buf)
            continue
        scan_block(counter, buf, cut)
        rest = filled - cut
        buf[:rest] = view[cut:filled].tobytes()
        filled = rest


def new_tally_counter(template: Counter) -> Counter:
    return Counter(Tally(), template.patterns, template.since_ms, template.until_ms)
