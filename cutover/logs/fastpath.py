"""Fast path for Logpush NDJSON: our timing.js events taken by regex straight from large blocks.

Every check runs once over a whole block at C speed (bytes.count/find, one regex scan each); a
line goes through full JSON parsing only when a check points at it. Both paths produce the same
tally (tests/logs/test_fastpath.py)."""
from __future__ import annotations

import io
import json
import os
import re
from array import array
from itertools import compress
from typing import BinaryIO, Callable, Dict, List, Set, Tuple

from cutover.logs import jsonstream
from cutover.logs.formats import count_value
from cutover.logs.model import HOUR_MS, Tally
from cutover.logs.rules import Counter

BLOCK = 4 << 20  # big enough that per-block Python work is noise, small enough to stay bounded

# JSON numbers we do not read are checked to be valid JSON; durations are narrower (no sign, no
# exponent), so float(bytes) is what json.loads + float() gives and never inf or -0.0. In a bytes
# pattern \d is [0-9] (a faster opcode).
# Optional parts are written "(?:X|)", not "X?" or "(?:X)?": the same matches, and Python's re
# runs a branch faster than a repeat (~20 % of this scan, the costliest of the fast path).
_JNUM = rb"(?:-|)(?:[1-9]\d*|0)(?:\.\d+|)(?:[eE][-+]?\d+|)"
_DUR = rb"(?:[1-9]\d{0,15}|0)(?:\.\d{1,17}|)"
_TXT = rb"[ !#-\[\]-~]*"  # printable ASCII without quote and backslash: the bytes are the string
# Entry times of exactly 13 digits (2001-09-09 .. 2286-11-20): compared as bytes they sort as numbers.
_MS = rb"[1-9]\d{12}"
# timing.js logs JSON.stringify(event) as the only argument of console.log; inside Logpush's
# Message array it is an escaped string. The match starts at `cmd_timing` (a rarer first byte
# than a backslash, which makes the scan several times faster) and looks behind for the rest of
# the prefix: the event is the first key of the only message. An occurrence that is not our
# exact shape still matches, through the empty branch, with empty groups: FAILED.
_S_MARK = rb'\\"' + _TXT + rb'\\":' + _JNUM
_S_EXTRA = rb'(?:,\\"ok\\":(?:true|false)|,\\"error\\":\\"' + _TXT + rb'\\")'  # timing.js extras after marks
TIMING = re.compile(
    rb'cmd_timing(?:(?<="Message":\["\{\\"event\\":\\"cmd_timing)\\",\\"cmd\\":\\"(' + _TXT
    + rb')\\",\\"durationMs\\":(' + _DUR + rb')(?:,\\"cold\\":(?:(t)rue|(f)alse)|)(?:,\\"isolateAgeMs\\":' + _JNUM
    + rb'|),\\"marks\\":\{(?:' + _S_MARK + rb'(?:,' + _S_MARK + rb'(?:,' + _S_MARK + rb')*|)|)\}'  # two marks unrolled
    + rb'(?:' + _S_EXTRA + rb'+|)'
    + rb'\}"\],"TimestampMs":(' + _MS + rb')\}|)'
)
# console.log(event) instead: Logpush keeps the object (taken line by line, it is rare).
_O_MARK = rb'"' + _TXT + rb'":' + _JNUM
TIMING_OBJECT = re.compile(
    rb'cmd_timing(?:(?<="Message":\[\{"event":"cmd_timing)","cmd":"(' + _TXT + rb')","durationMs":(' + _DUR
    + rb')(?:,"cold":(?:(t)rue|(f)alse)|)(?:,"isolateAgeMs":' + _JNUM + rb'|),"marks":\{(?:' + _O_MARK + rb'(?:,' + _O_MARK
    + rb')*|)\}(?:,"ok":(?:true|false)|,"error":"' + _TXT + rb'")*\}\],"TimestampMs":(' + _MS + rb')\}|)'
)
FAILED = (b"", b"", b"", b"", b"")  # cmd, duration, t, f, ms: one-byte groups cost no allocation
# From a line's first Outcome to its end, when it ends with "}" and the next line starts with "{";
# group 1 is set when that Outcome is "ok".
ANY_LINE = re.compile(rb'Outcome(?<="Outcome)":"(?:(ok")|)[^\n]*\}\n(?=\{|\Z)')
OUTCOME = b'"Outcome":"'
NOT_OK = re.compile(rb'Outcome(?<="Outcome)":"(?!ok")')
# Bytes a line must contain for the text rules or the failure events to count it: "mongo" in any
# letter case (the driver's error names "Mongo…Error" and the mongo_connection_error event), and
# "dual" in any letter case (the dual-write rule and event). Both are found in one scan of a copy
# of the block translated 1:1 (same offsets): letters to lower case, then u/o -> 1, a/n -> 2 and
# l/g -> 3, so that "dual" and "mongo" share the literal "\1\2\3" (raw control bytes cannot
# appear in JSON text, and few words hold it). The "mongo_connect" key of timing.js's marks is
# skipped by a look-ahead: neither rule can start there. No non-ASCII character case-folds to one
# of these letters. A line of a false hit only takes the slow path.
def _fold_table() -> bytes:
    table = bytearray(bytes(range(256)).lower())
    for letters, code in ((b"uo", 1), (b"an", 2), (b"lg", 3)):
        for letter in letters:
            table[letter] = table[letter - 32] = code
    return bytes(table)


FOLD = _fold_table()
MARKER = re.compile(rb'\x01\x02\x03(?:(?<=d\x01\x02\x03)|(?<=m\x01\x02\x03)(?!\x01_c\x01\x02\x02ect[\\"]))')


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


_BLANK = b" \t\r\n"  # what the stream decoder skips between values (bytes.strip() would take more)


class NotPlain(Exception):
    """A line that is not one whole object on its own line (blank lines aside): from here on only
    the stream decoder (the exact path) knows where values begin. Raised before anything is counted."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset  # of the block holding the line, relative to the data scanned


def exact_stream(counter: Counter, stream: BinaryIO) -> None:
    """The exact path: every value through the stream decoder and the generic rules."""
    for value in jsonstream.values(stream):
        if value is jsonstream.MALFORMED:
            counter.tally.malformed += 1
        else:
            count_value(counter, value)


def slow_line(counter: Counter, line: bytes) -> None:
    """One line as the stream decoder reads it (bad UTF-8 replaced, values after a value kept)."""
    if line.strip(_BLANK):
        exact_stream(counter, io.BytesIO(line))


def _plain(buf: bytes, start: int, stop: int) -> bool:
    """The line is one "{...}" on its own, or blank: the stream decoder reads it on its own too."""
    return (buf.startswith(b"{", start, stop) and buf.endswith(b"}\n", start, stop)) or not buf[start:stop].strip(_BLANK)


def _line_start(buf: bytes, pos: int) -> int:
    return buf.rfind(b"\n", 0, pos) + 1


def _line_end(buf: bytes, start: int, end: int) -> int:
    stop = buf.find(b"\n", start, end)
    return end if stop < 0 else stop + 1


def _lines_of(buf: bytes, end: int) -> List[Tuple[int, int]]:
    spans = []
    pos = 0
    while pos < end:
        stop = _line_end(buf, pos, end)
        spans.append((pos, stop))
        pos = stop
    return spans


def _shaped(buf: bytes, start: int, end: int) -> bool:
    """One line on its own: starts with "{", holds exactly one Outcome, ends with "}"."""
    return (buf.startswith(b"{", start, end) and buf.count(OUTCOME, start, end) == 1
            and len(ANY_LINE.findall(buf, start, end)) == 1)


def _marked(buf: bytes, end: int) -> Set[int]:
    """Starts of the lines in buf[:end] holding a failure marker or bytes that are not UTF-8."""
    hard = {_line_start(buf, m.start()) for m in MARKER.finditer(buf.translate(FOLD), 0, end)}
    if not buf.isascii():
        try:
            buf[:end].decode("utf-8")
        except UnicodeDecodeError:  # json.loads rejects the line: the slow path counts it malformed
            for start, stop in _lines_of(buf, end):
                try:
                    buf[start:stop].decode("utf-8")
                except UnicodeDecodeError:
                    hard.add(start)
    return hard


def hard_lines(buf: bytes, lines: int, end: int) -> List[int]:
    """Starts of the lines of buf[:end] (whole lines, newline-terminated) that need full JSON parsing.

    A line is taken fast when it starts with "{", ends with "}", holds exactly one Outcome (one
    Logpush record: two values on a line hold two), "ok", and no failure marker or bytes that are
    not UTF-8. One scan per marker, one count and one scan for the shape of the whole block."""
    hard = _marked(buf, end)
    # Per line from its first Outcome: 1 when "ok", else where that Outcome is (a position, never 1).
    firsts = [m.lastindex or m.start() for m in ANY_LINE.finditer(buf, 0, end)]
    # One match per line <=> every line holds an Outcome and the "}\n{" shape (a match runs to the
    # end of its line); as many Outcomes as lines then means exactly one on each.
    if buf.startswith(b"{") and len(firsts) == lines and buf.count(OUTCOME, 0, end) == lines:
        hard.update(_line_start(buf, at) for at in filter((1).__ne__, firsts))
    else:  # an odd shape somewhere: every line on its own, and an Outcome not "ok" anywhere counts
        hard.update(_line_start(buf, m.start()) for m in NOT_OK.finditer(buf, 0, end))
        hard.update(start for start, stop in _lines_of(buf, end) if not _shaped(buf, start, stop))
    return sorted(hard)


def _bucket(tally: Tally, cmd: bytes, is_cold: bool, hour: int, values: array) -> None:
    tally.group(cmd.decode("ascii"), is_cold).settled.extend(values)
    tally.hour_bucket(hour, is_cold).extend(values)


def _take(counter: Counter, found: List[Tuple[bytes, bytes, bytes, bytes, bytes]]) -> None:
    tally = counter.tally
    windowed = counter.since_ms is not None or counter.until_ms is not None
    lists: Dict[Tuple[bytes, bytes, bytes], Tuple[List[bytes], List[bytes]]] = {}
    for cmd, duration, cold, warm, ms in found:
        pair = lists.get((cmd, cold, warm))
        if pair is None:
            pair = lists[cmd, cold, warm] = ([], [])
        pair[0].append(duration)
        pair[1].append(ms)
    for (cmd, cold, warm), (durations, times) in lists.items():
        is_cold = cold == b"t"
        if windowed:
            keep = [i for i, ms in enumerate(times) if counter.in_window(int(ms))]
            durations = [durations[i] for i in keep]
            times = [times[i] for i in keep]
            if not durations:
                continue
        values = array("d", map(float, durations))
        lo, hi = int(min(times)), int(max(times))  # 13 digits each: bytes order is number order
        first, last = lo - lo % HOUR_MS, hi - hi % HOUR_MS
        if first == last:  # one block of a time-ordered export mostly falls in one hour
            _bucket(tally, cmd, is_cold, first, values)
        elif last == first + HOUR_MS:  # or straddles one hour boundary: split it at C speed
            boundary = b"%d" % last
            _bucket(tally, cmd, is_cold, first, array("d", compress(values, map(boundary.__gt__, times))))
            _bucket(tally, cmd, is_cold, last, array("d", compress(values, map(boundary.__le__, times))))
        else:
            group = tally.group(cmd.decode("ascii"), is_cold)
            group.values.extend(values)
            group.times.extend(array("q", map(int, times)))
        tally.cmd_timing += len(values)
        if not cold and not warm:
            tally.cold_unknown += len(values)
        tally.seen_time(lo)
        tally.seen_time(hi)


def _segment_lines(counter: Counter, buf: bytes, start: int, end: int) -> int:
    """Some cmd_timing in buf[start:end] is not the string shape: decide line by line; returns the
    number of lines taken on the fast path (the caller counts them as records)."""
    fast = 0
    pos = start
    while pos < end:
        nxt = _line_end(buf, pos, end)
        got: List[Tuple[bytes, bytes, bytes, bytes, bytes]] = []
        if buf.find(b"cmd_timing", pos, nxt) >= 0:
            got = TIMING.findall(buf, pos, nxt)
            if FAILED in got:
                got = TIMING_OBJECT.findall(buf, pos, nxt)
                if FAILED in got:
                    slow_line(counter, buf[pos:nxt])
                    pos = nxt
                    continue
        fast += 1
        if got:
            _take(counter, got)
        pos = nxt
    return fast


def scan_block(counter: Counter, buf: bytes | bytearray, end: int | None = None, final: bool = True) -> None:
    """Count buf[:end], which holds whole lines (the last one may lack its newline). Raises NotPlain,
    having counted nothing, when a line (other than the input's last) is not one object alone."""
    data = buf if isinstance(buf, bytes) else bytes(buf)
    end = len(data) if end is None else end
    if not end:
        return
    if data[end - 1] != 10:  # the file's last line without its newline
        data = data[:end] + b"\n"
        end += 1
    lines = data.count(b"\n", 0, end)
    hard = hard_lines(data, lines, end)
    for line_start in hard:
        stop = _line_end(data, line_start, end)
        if not (_plain(data, line_start, stop) or (final and stop == end)):
            raise NotPlain(0)
    fast = lines - len(hard)
    found: List[Tuple[bytes, bytes, bytes, bytes, bytes]] = []
    pos = 0
    for line_start in hard + [end]:
        if line_start > pos:
            got = TIMING.findall(data, pos, line_start)
            if FAILED in got:
                fast += _segment_lines(counter, data, pos, line_start) - data.count(b"\n", pos, line_start)
            else:
                found += got
        if line_start < end:
            pos = _line_end(data, line_start, end)
            slow_line(counter, data[line_start:pos])
    tally = counter.tally
    tally.records += fast
    tally.fast_records += fast
    tally.formats["logpush"] += fast
    if found:
        _take(counter, found)


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


def scan_stream(counter: Counter, readinto: Callable[[memoryview], int], block: int = BLOCK) -> None:
    """A stream (stdin, .gz) in blocks ending at a newline, read into one reused buffer."""
    buf = bytearray(block)
    view = memoryview(buf)
    filled = 0
    while True:
        room = block - filled
        got = readinto(view[filled : filled + room]) if room > 0 else 0
        got = got or 0
        filled += got
        if got == 0:
            if filled:
                try:
                    scan_block(counter, bytes(view[:filled]))
                except NotPlain:
                    exact_stream(counter, io.BytesIO(bytes(view[:filled])))
            return
        cut = buf.rfind(b"\n", 0, filled) + 1
        if cut == 0:
            if filled == block:  # one line longer than the block: grow
                view.release()
                buf.extend(bytes(block))
                block *= 2
                view = memoryview(buf)
            continue
        try:
            scan_block(counter, buf, cut, final=False)
        except NotPlain:  # the exact path from this block on: it starts at a line after whole values
            head = bytes(view[:filled])
            view.release()
            exact_stream(counter, io.BufferedReader(_Chain(head, readinto), buffer_size=BLOCK))
            return
        rest = filled - cut
        buf[:rest] = view[cut:filled].tobytes()
        filled = rest


def scan_file_range(counter: Counter, handle: BinaryIO, start: int, end: int, block: int = BLOCK,
                    on_read: Callable[[int], None] | None = None) -> None:
    """Bytes [start, end) of a plain file (whole lines) in blocks cut at a newline, read by offset.
    NotPlain carries the file offset of the block; a range that reaches the end of the file
    (end is its size) goes on with the exact path from there itself."""
    pos = start
    size = block
    at_eof = end >= _size(handle)  # only the input's last line may be cut short or odd
    whole = start == 0 and at_eof
    while pos < end:
        size = min(size, end - pos)
        handle.seek(pos)
        data = handle.read(size) or b""
        if not data:
            return
        cut = len(data)
        if pos + len(data) < end:
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # one line longer than the block: grow
                size *= 2
                continue
        if on_read is not None:
            on_read(cut)
        try:
            scan_block(counter, data, cut, final=at_eof and pos + cut >= end)
        except NotPlain:
            if not whole:
                raise NotPlain(pos) from None
            handle.seek(pos)
            exact_stream(counter, handle)
            return
        pos += cut
        size = block


def _size(handle: BinaryIO) -> int:
    return os.fstat(handle.fileno()).st_size


def new_tally_counter(template: Counter) -> Counter:
    return Counter(Tally(), template.patterns, template.since_ms, template.until_ms)
