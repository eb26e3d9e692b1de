"""Fast path for Logpush NDJSON: our timing.js events taken by regex straight from large blocks.

Every check runs over a whole block at C speed (one split into lines and a few mapped calls, a few
bytes.find scans for failure markers, one regex scan for the events, in both message forms); a
line goes through JSON parsing only when a check points at it. A line that is not one whole record
(cut short, pretty-printed, blank) goes to the stream decoder for the lines it spans and the scan
goes on after them. Both paths produce the same tally (tests/logs/test_fastpath.py)."""
from __future__ import annotations

import io
import json
import os
import re
from array import array
from bisect import bisect_right
from itertools import accumulate, compress, repeat
from operator import itemgetter, not_
from typing import BinaryIO, Callable, Dict, List, Sequence, Tuple

from cutover.logs import jsonstream
from cutover.logs.formats import count_value
from cutover.logs.model import HOUR_MS, Tally
from cutover.logs.rules import Counter

BLOCK = 4 << 20  # big enough that per-block Python work is noise, small enough to stay bounded
MAX_REGION = 64 << 20  # lines the stream decoder needs at once beyond this: the exact path from there

# JSON numbers we do not read are checked to be valid JSON; durations are narrower (no sign, no
# exponent), so float(bytes) is what json.loads + float() gives and never inf or -0.0. In a bytes
# pattern \d is [0-9] (a faster opcode).
# Optional parts are written "(?:X|)", not "X?" or "(?:X)?": the same matches, and Python's re
# runs a branch faster than a repeat.
_JNUM = rb"(?:-|)(?:[1-9]\d*|0)(?:\.\d+|)(?:[eE][-+]?\d+|)"
_DUR = rb"(?:[1-9]\d{0,15}|0)(?:\.\d{1,17}|)"
_TXT = rb"[ !#-\[\]-~]*"  # printable ASCII without quote and backslash: the bytes are the string
# Entry times of exactly 13 digits (2001-09-09 .. 2286-11-20): compared as bytes they sort as numbers.
_MS = rb"[1-9]\d{12}"
# timing.js logs JSON.stringify(event) as the only argument of console.log; inside Logpush's
# Message array it is an escaped string. console.log(event) instead leaves the object there. One
# pattern takes both: group 1 is the backslash before the quote after "cmd_timing" (the string
# form), and every later quote of the event is escaped exactly when it is set. The match starts
# at "_timing" (a rarer first byte than "c" or a backslash, which makes the scan faster) and looks
# behind for the rest of the prefix: the event is the first key of the only message. An
# occurrence that is not our exact shape still matches, through the empty branch, with empty
# groups: FAILED.
_Q = rb'(?(1)\\)"'
_MARK = _Q + _TXT + _Q + rb":" + _JNUM
TIMING = re.compile(
    rb'_timing(?:(?:(\\)(?<="Message":\["\{\\"event\\":\\"cmd_timing\\)|(?<="Message":\[\{"event":"cmd_timing))'
    rb'",' + _Q + rb"cmd" + _Q + rb":" + _Q + rb"(" + _TXT + rb")" + _Q + rb"," + _Q + rb"durationMs" + _Q + rb":(" + _DUR + rb")"
    + rb"(?:," + _Q + rb"cold" + _Q + rb":(?:(t)rue|(f)alse)|)"
    + rb"(?:," + _Q + rb"isolateAgeMs" + _Q + rb":" + _JNUM + rb"|)"
    + rb"," + _Q + rb"marks" + _Q + rb":\{(?:" + _MARK + rb"(?:," + _MARK + rb"(?:," + _MARK + rb")*|)|)\}"  # two marks unrolled
    + rb"(?:," + _Q + rb"ok" + _Q + rb":(?:true|false)|," + _Q + rb"error" + _Q + rb":" + _Q + _TXT + _Q + rb")*"  # timing.js extras
    + rb'\}(?(1)")\],"TimestampMs":(' + _MS + rb")\}|)"
)
Found = Tuple[bytes, bytes, bytes, bytes, bytes, bytes]  # string form, cmd, duration, t, f, ms
FAILED: Found = (b"", b"", b"", b"", b"", b"")  # one-byte and empty groups cost no allocation
OUTCOME = b'"Outcome":"'

# Bytes a line must contain for the default text rules or the failure events to count it: "dual"
# in any letter case (the dual-write rule ignores case; its event names it too), "Mongo" (the
# driver's error names, matched with case), "mongo_connection_error" (the event, an exact value),
# and a \u escape of an ASCII letter, which could spell any of them. Each is found by bytes.find,
# "dual" in a lowercased copy (same offsets): no non-ASCII character case-folds to one of its
# letters. timing.js's own "mongo_connect" mark is none of them. A false hit only costs its line
# the slow path.
LOWER_MARKERS = (b"dual",)
EXACT_MARKERS = (b"Mongo", b"mongo_connection_error")
ESCAPE = b"\\u00"
ESCAPED_LETTER = frozenset(b"4567")  # \u0041-\u007F: the ASCII letters and a few signs
_ONES = bytes(range(256)).translate(bytes.maketrans(b"0123456789", b"1111111111"))


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


def exact_stream(counter: Counter, stream: BinaryIO) -> None:
    """The exact path: every value through the stream decoder and the generic rules."""
    for value in jsonstream.values(stream):
        if value is jsonstream.MALFORMED:
            counter.tally.malformed += 1
        else:
            count_value(counter, value)


# -- which lines need JSON ----------------------------------------------------------------------

_TAILS: Dict[bytes, bool] = {}  # a line's end from its last Outcome (digits as 1) -> it ends a whole record, "ok"


def _tail_closes(end: bytes) -> bool:
    """From the last Outcome in a line's end on, the bytes close the object that Outcome is a key
    of, at the line's end, and the value is "ok". The line starts with "{" and holds one Outcome,
    so with that Outcome a key of the top level this is the whole record: a line cut short
    anywhere ends before its close."""
    at = end.rfind(OUTCOME)
    if at < 0 or not end.startswith(b'"Outcome":"ok"', at):
        return False
    try:
        obj = json.loads(b"{" + end[at:])
    except ValueError:
        return False
    return isinstance(obj, dict) and obj.get("Outcome") == "ok"


def _whole_ok(data: bytes, lines: List[bytes]) -> List[bool]:
    """Per line: one record of the common shape (starts with "{", holds one Outcome, "ok", and ends
    with the close of the object it is a key of). Each line's end from its last Outcome on (found
    from the line's end: Logpush puts Outcome near it) differs from other lines' mostly in digits
    (WallTimeMs), so each distinct end (digits as 1) is checked once."""
    ats = map(bytes.rfind, lines, repeat(OUTCOME))  # -1 (no Outcome): the last byte, never a whole end
    keys = list(map(bytes.translate, map(bytes.__getitem__, lines, map(slice, ats, repeat(None))), repeat(_ONES)))
    fresh = set(keys).difference(_TAILS)
    if fresh:
        if len(_TAILS) + len(fresh) > 4096:  # bounded: an export of ever-new line ends
            _TAILS.clear()
            fresh = set(keys)
        for key in fresh:
            _TAILS[key] = _tail_closes(key)
    whole = list(map(_TAILS.__getitem__, keys))
    # As many Outcomes in the block as whole lines have (one each, the one found from the end)
    # plus those in the other lines: no whole line holds a second one.
    twice = data.count(OUTCOME) != whole.count(True) + sum(line.count(OUTCOME) for line in compress(lines, map(not_, whole)))
    if twice or not all(map(bytes.startswith, lines, repeat(b"{"))):
        whole = [w and line.startswith(b"{") and line.count(OUTCOME) == 1 for w, line in zip(whole, lines)]
    return whole


def _line_of(starts: Sequence[int], pos: int) -> int:
    return bisect_right(starts, pos) - 1


def _find_all(haystack: bytes, needle: bytes) -> List[int]:
    found = []
    at = haystack.find(needle)
    while at >= 0:
        found.append(at)
        at = haystack.find(needle, at + 1)
    return found


def _marked(data: bytes, starts: Sequence[int]) -> List[int]:
    """Indexes of the lines holding a failure marker or bytes that are not UTF-8."""
    at = [pos for pos in _find_all(data, ESCAPE) if data[pos + 4 : pos + 5] and data[pos + 4] in ESCAPED_LETTER]
    for needle in EXACT_MARKERS:
        at += _find_all(data, needle)
    lowered = data.lower()
    for needle in LOWER_MARKERS:
        at += _find_all(lowered, needle)
    hard = {_line_of(starts, pos) for pos in at}
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:  # the decoder replaces them: those lines go through it
            for i, (a, b) in enumerate(zip(starts, starts[1:])):
                try:
                    data[a:b].decode("utf-8")
                except UnicodeDecodeError:
                    hard.add(i)
    return sorted(hard)


# -- taking the events --------------------------------------------------------------------------

_DURATION, _TRUE, _FALSE, _TIME = (itemgetter(i) for i in range(2, 6))


def _hour_of(ms: int) -> int:
    return ms - ms % HOUR_MS


def _take(counter: Counter, found: List[Found]) -> None:
    """The events a block's regex scans found, grouped by (cmd, cold) and hour: one plain loop that
    files each duration's bytes under its group (cheaper than any chain of mapped calls that builds
    keys and sorts), then one float conversion per group."""
    if not found:
        return
    tally = counter.tally
    if counter.since_ms is not None or counter.until_ms is not None:
        found = [event for event in found if counter.in_window(int(event[5]))]
        if not found:
            return
    times = list(map(_TIME, found))
    lo, hi = int(min(times)), int(max(times))  # 13 digits each: bytes order is number order
    tally.seen_time(lo)
    tally.seen_time(hi)
    trues = list(map(_TRUE, found)).count(b"t")
    tally.cmd_timing += len(found)
    tally.cold_unknown += len(found) - trues - list(map(_FALSE, found)).count(b"f")
    first, last = _hour_of(lo), _hour_of(hi)
    groups: Dict[tuple, List[bytes]] = {}
    get = groups.get
    if last == first:  # a block of a time-ordered export mostly falls in one hour
        for event in found:
            key = event[1], event[3]
            durations = get(key)
            if durations is None:
                durations = groups[key] = []
            durations.append(event[2])
        hours = {key: first for key in groups}
    elif last == first + HOUR_MS:  # or straddles one boundary: late or not is one more part of the key
        bound = b"%d" % last
        for event in found:
            key = event[1], event[3], event[5] >= bound
            durations = get(key)
            if durations is None:
                durations = groups[key] = []
            durations.append(event[2])
        hours = {key: last if key[2] else first for key in groups}
    else:  # an export not in time order: each event's hour
        if last > first + 64 * HOUR_MS:  # far out of order: each time as a number
            hour_of: Callable[[bytes], int] = lambda ms: _hour_of(int(ms))  # noqa: E731
        else:  # hours start at multiples of HOUR_MS; 13-digit times compare as bytes
            bounds = [b"%d" % hour for hour in range(first + HOUR_MS, last + 1, HOUR_MS)]
            hour_of = lambda ms: first + HOUR_MS * bisect_right(bounds, ms)  # noqa: E731
        for event in found:
            key = event[1], event[3], hour_of(event[5])
            durations = get(key)
            if durations is None:
                durations = groups[key] = []
            durations.append(event[2])
        hours = {key: key[2] for key in groups}
    for key, durations in groups.items():
        cold = key[1] == b"t"
        values = array("d", map(float, durations))
        tally.group(key[0].decode("ascii"), cold).settled.extend(values)
        tally.hour_bucket(hours[key], cold).extend(values)


def _timings(data: bytes, a: int, b: int, starts: Sequence[int]) -> Tuple[List[Found], int]:
    """The events of whole record lines from a on, up to b or to the first line holding a cmd_timing
    that is not our exact shape (it needs JSON); returns them and where they end."""
    got = TIMING.findall(data, starts[a], starts[b])
    if FAILED not in got:
        return got, b
    odd = next(m.start() for m in TIMING.finditer(data, starts[a], starts[b]) if m.lastindex is None)
    stop = _line_of(starts, odd)
    return TIMING.findall(data, starts[a], starts[stop]), stop


# -- lines that are not one whole record --------------------------------------------------------

class _NeedMore(Exception):
    """The stream decoder reached the end of the bytes in hand, and they do not end the input."""


class _Bytes(io.RawIOBase):
    """Bytes in memory as a stream; at their end the input ends (final) or more is needed."""

    def __init__(self, view: memoryview, final: bool) -> None:
        self.view = view
        self.final = final

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        n = min(len(buffer), len(self.view))
        if not n:
            if self.final:
                return 0
            raise _NeedMore
        buffer[:n] = self.view[:n]
        self.view = self.view[n:]
        return n


def _after_lines(data: bytes, start: int, lines: int) -> int:
    pos = start
    for _ in range(lines):
        pos = data.index(b"\n", pos) + 1
    return pos


def _region(counter: Counter, data: bytes, start: int, final: bool) -> int | None:
    """The stream decoder from the line at `start` until it is back at a line start between values
    (a cut-short line: that line, malformed; a pretty-printed value: its lines). Returns where it
    stopped, having counted what it read; None, having counted nothing, when it needs bytes beyond
    `data` (which do not end the input)."""
    scratch = new_tally_counter(counter)
    line_len = data.find(b"\n", start) - start
    decoder = jsonstream.Decoder(_Bytes(memoryview(data)[start:], final), block=max(1 << 14, 2 * line_len))
    stop = len(data)
    try:
        for value in decoder:
            if value is jsonstream.MALFORMED:
                scratch.tally.malformed += 1
            else:
                count_value(scratch, value)
            lines = decoder.resume_lines()
            if lines is not None:
                stop = _after_lines(data, start, lines)
                break
    except _NeedMore:
        return None
    counter.tally.merge(scratch.tally)
    return stop


def _one_line(counter: Counter, line: bytes) -> bool:
    """A line that is one JSON value (with blanks around it) on its own is read by the stream
    decoder as just that value, whatever else the line is (an outcome, a marker, an odd event)."""
    try:
        value = json.loads(line.decode("utf-8", "replace"))
    except ValueError:
        return False
    count_value(counter, value)
    return True


# -- blocks -------------------------------------------------------------------------------------

def scan_block(counter: Counter, data: bytes, final: bool = True) -> int:
    """Count the lines of data (whole lines; the input's last line may lack its newline when final).
    Returns how far it got: len(data), or the start of a line from which the stream decoder needs
    bytes beyond data (nothing from there on is counted)."""
    if not data:
        return 0
    lines = data.split(b"\n")
    if not lines[-1]:
        lines.pop()
    n = len(lines)
    whole = _whole_ok(data, lines)
    starts = list(accumulate(map((1).__add__, map(len, lines)), initial=0))
    starts[-1] = min(starts[-1], len(data))  # the input's last line without its newline
    hard = set(compress(range(n), map(not_, whole))) if not all(whole) else set()
    hard.update(_marked(data, starts))
    fast = 0
    found: List[Found] = []
    pos = 0  # the next line not yet counted
    todo = sorted(hard) + [n]
    k = 0
    while pos < n:
        while todo[k] < pos:
            k += 1
        nxt = todo[k]
        if nxt > pos:  # lines [pos, nxt) are taken fast, up to a line with an odd event
            got, stop = _timings(data, pos, nxt, starts)
            found += got
            fast += stop - pos
            pos = stop
            if stop == nxt:
                continue
        if _one_line(counter, lines[pos]):  # one whole value alone on its line: the decoder reads it so too
            pos += 1
            continue
        stop = _region(counter, data, starts[pos], final)
        if stop is None:
            _close(counter, fast, found)
            return starts[pos]
        pos = _line_of(starts, stop) if stop < len(data) else n
    _close(counter, fast, found)
    return len(data)


def _close(counter: Counter, fast: int, found: List[Found]) -> None:
    tally = counter.tally
    tally.records += fast
    tally.fast_records += fast
    tally.formats["logpush"] += fast
    _take(counter, found)


def scan_stream(counter: Counter, readinto: Callable[[memoryview], int], block: int = BLOCK) -> None:
    """A stream (stdin, .gz) in blocks ending at a newline, read into one reused buffer."""
    buf = bytearray(block)
    view = memoryview(buf)
    filled = 0
    while True:
        room = block - filled
        got = (readinto(view[filled : filled + room]) or 0) if room > 0 else 0
        filled += got
        if got == 0 and filled < block:  # the end of the input
            if filled:
                scan_block(counter, bytes(view[:filled]), final=True)
            return
        cut = buf.rfind(b"\n", 0, filled) + 1
        done = scan_block(counter, bytes(view[:cut]), final=False) if cut else 0
        if done == 0 and filled == block:  # one line, or one region of lines, longer than the block
            if block >= MAX_REGION:  # the exact path for the rest
                head = bytes(view[:filled])
                view.release()
                exact_stream(counter, io.BufferedReader(_Chain(head, readinto), buffer_size=BLOCK))
                return
            view.release()
            buf.extend(bytes(block))
            block *= 2
            view = memoryview(buf)
            continue
        if done:
            buf[: filled - done] = view[done:filled].tobytes()
            filled -= done


class _Chain(io.RawIOBase):
    """Bytes already read, then the rest of the stream."""

    def __init__(self, head: bytes, readinto: Callable[[memoryview], int]) -> None:
        self.head = head
        self.rest = readinto

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        return self.rest(memoryview(buffer).cast("B")) or 0


def scan_file_range(counter: Counter, handle: BinaryIO, start: int, end: int, block: int = BLOCK,
                    on_read: Callable[[int], None] | None = None) -> int:
    """Bytes [start, end) of a plain file (start and end right after a newline) in blocks cut at a
    newline, read by offset. Returns where the counting stopped: end, or further when the lines of
    a value (or a cut-short line) that starts before end run on past it."""
    size_of_file = _size(handle)
    pos = start
    size = block
    while pos < end:
        data = _pread(handle, pos, min(size, end - pos))
        if not data:
            return pos
        cut = len(data)
        if pos + cut < end:
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # one line longer than the block: grow
                size *= 2
                continue
            data = data[:cut]
        if on_read is not None:
            on_read(cut)
        done = scan_block(counter, data, final=pos + cut >= size_of_file)
        pos += done
        size = block
        if done < cut:  # the decoder needs what follows: the lines from there in a bigger block
            pos = _region_from(counter, handle, pos, block, size_of_file)
    return pos


def _region_from(counter: Counter, handle: BinaryIO, pos: int, block: int, size_of_file: int) -> int:
    """The stream decoder from the line at pos, over as many bytes as it needs (up to MAX_REGION,
    then the exact path to the end of the file); returns where it stopped."""
    size = 2 * block
    while True:
        data = _pread(handle, pos, size)
        final = pos + len(data) >= size_of_file
        if not final:
            data = data[: data.rfind(b"\n") + 1]
        stop = _region(counter, data, 0, final) if data else None
        if stop is not None:
            return pos + stop
        if size >= MAX_REGION:
            handle.seek(pos)
            exact_stream(counter, handle)
            return size_of_file
        size *= 2


def _pread(handle: BinaryIO, pos: int, size: int) -> bytes:
    handle.seek(pos)
    return handle.read(size) or b""


def _size(handle: BinaryIO) -> int:
    return os.fstat(handle.fileno()).st_size


def new_tally_counter(template: Counter) -> Counter:
    return Counter(Tally(), template.patterns, template.since_ms, template.until_ms)
