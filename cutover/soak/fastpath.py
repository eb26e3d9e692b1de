"""Fast path for Logpush NDJSON: our timing.js events taken by regex straight from large blocks.

Every check runs over a whole block at C speed (one split at the Outcome keys and a few mapped
calls that prove lines whole, a few bytes.find scans for failure markers, one regex scan for the
events, in both message forms); a line goes through JSON parsing only when a check points at it.
A line that is not one whole record (cut short, pretty-printed, blank) goes to the stream decoder
for the lines it spans and the scan goes on after them. Positions are byte offsets; lines are
only counted. Both paths produce the same tally (tests/soak/test_fastpath.py)."""
from __future__ import annotations

import io
import json
import os
import re
from typing import BinaryIO, Callable, List

from cutover.errors import UNDECODABLE
from cutover.soak import jsonstream
from cutover.soak.fastlines import Found, marked, take, timings
from cutover.soak.formats import count_value
from cutover.soak.inputs import head_values
from cutover.soak.model import Tally
from cutover.soak.rules import Counter
from cutover.soak.wholelines import count_lines, line_end, line_index

BLOCK = 4 << 20  # big enough that per-block Python work is noise, small enough to stay bounded
MAX_REGION = 64 << 20  # lines the stream decoder needs at once beyond this: the exact path from there

def fast_path_usable(counter: Counter) -> bool:
    """The markers above are only a sound filter for the default text rules."""
    return counter.patterns.is_default


def looks_like_logpush_lines(head: bytes) -> bool:
    """The first of the head's first lines that is a JSON value is a whole Logpush record on one
    line (NDJSON). Lines before it that are not JSON (a file cut at its start, a crash's zeros) are
    malformed lines like any other."""
    for _line, obj in head_values(head):
        return isinstance(obj, dict) and "Outcome" in obj and ("Logs" in obj or "EventTimestampMs" in obj)
    return False


def exact_stream(counter: Counter, stream: BinaryIO) -> None:
    """The exact path: every value through the stream decoder and the generic rules."""
    for value in jsonstream.values(stream):
        if value is jsonstream.MALFORMED:
            counter.tally.malformed += 1
        else:
            count_value(counter, value)


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


_DECODER = json.JSONDecoder()
_BLANK = re.compile(r"[ \t\r\n]*")  # JSON's blanks


def _one_line(counter: Counter, data: bytes, start: int, end: int, final: bool) -> bool:
    """The line [start, end) (its newline included) when the stream decoder, at its start, reads
    it as exactly one thing, counted as the decoder counts it: one whole JSON value with blanks
    around it (whatever the value is: an outcome, a marker, an odd event), or a line that starts
    an object and breaks inside itself (a record cut short) followed by a line that starts a value
    or by the input's end: one malformed value, and the decoder goes on at the next line. False,
    having counted nothing, when only the decoder itself can tell."""
    text = data[start:end].decode("utf-8", "replace")
    try:
        value, stop = _DECODER.raw_decode(text, _BLANK.match(text).end())  # type: ignore[union-attr]
    except UNDECODABLE as error:
        if text.startswith("{") and _broken_whatever_follows(error, text, data[end : end + 1], final and end == len(data)):
            counter.tally.malformed += 1
            return True
        return False
    if _BLANK.match(text, stop).end() != len(text):  # type: ignore[union-attr]
        return False
    count_value(counter, value)
    return True


def _broken_whatever_follows(error: Exception, text: str, follows: bytes, at_end: bool) -> bool:
    """JSON fails on this line whatever comes after it, and the decoder then goes on at the next
    line. An error inside the line's own text (its newline included) is where JSON fails whatever
    follows. One at its end fails too when the next line starts with "{" or "[" and the line's last
    token is not one after which a value may come (":", ",", "[" or "{": the next line could be
    that value, and lines further on could close it); the decoder then skips to the next newline
    followed by "{" or "[": this line's own. At the input's end nothing follows at all."""
    if at_end:
        return True
    pos = getattr(error, "pos", None)  # None: nested too deep (RecursionError): the decoder decides
    if pos is None or follows not in (b"{", b"["):
        return False
    return pos < len(text) or text.rstrip()[-1:] not in (":", ",", "[", "{")


# -- blocks -------------------------------------------------------------------------------------

def scan_block(counter: Counter, data: bytes, final: bool = True) -> int:
    """Count the lines of data (whole lines; the input's last line may lack its newline when final).
    Returns how far it got: len(data), or the start of a line from which the stream decoder needs
    bytes beyond data (nothing from there on is counted)."""
    if not data:
        return 0
    lines, odd = line_index(data)
    size = len(data)
    todo = sorted(set(odd).union(marked(data))) if odd else marked(data)
    todo.append(size)
    slow = 0  # lines not taken fast
    found: List[Found] = []
    pos = 0  # the start of the next line not yet counted
    k = 0
    while pos < size:
        while todo[k] < pos:
            k += 1
        nxt = todo[k]
        if nxt > pos:  # the lines from pos to nxt are taken fast, up to a line with an odd event
            got, pos = timings(data, pos, nxt)
            found += got
            if pos == nxt:
                continue
        end = line_end(data, pos)
        if _one_line(counter, data, pos, end, final):  # a line the decoder reads as one thing: counted so
            slow += 1
            pos = end
            continue
        stop = _region(counter, data, pos, final)
        if stop is None:
            _close(counter, lines - slow - count_lines(data, pos, size), found)
            return pos
        slow += count_lines(data, pos, stop)
        pos = stop
    _close(counter, lines - slow, found)
    return size


def _close(counter: Counter, fast: int, found: List[Found]) -> None:
    tally = counter.tally
    tally.records += fast
    tally.fast_records += fast
    tally.formats["logpush"] += fast
    take(counter, found)


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
    newline, read by offset into one reused buffer (each block then copied once, up to its cut).
    Returns where the counting stopped: end, or further when the lines of a value (or a cut-short
    line) that starts before end run on past it."""
    size_of_file = _size(handle)
    buf = bytearray(block)
    pos = start
    while pos < end:
        want = min(len(buf), end - pos)
        handle.seek(pos)
        got = handle.readinto(memoryview(buf)[:want]) or 0  # type: ignore[attr-defined]
        if not got:
            return pos
        cut = got
        if pos + got < end:
            cut = buf.rfind(b"\n", 0, got) + 1
            if cut == 0:  # one line longer than the block: grow
                buf = bytearray(2 * len(buf))
                continue
        data = bytes(memoryview(buf)[:cut])
        if on_read is not None:
            on_read(cut)
        done = scan_block(counter, data, final=pos + cut >= size_of_file)
        pos += done
        if len(buf) > block:
            buf = bytearray(block)
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
