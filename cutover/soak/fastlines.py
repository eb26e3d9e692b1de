"""What the fast path takes from a block without parsing JSON: timing.js's `cmd_timing` events
(one regex, both message forms), and the checks that say which lines it may not take that way
(failure markers, odd outcomes, a line not closed as a record). `fastpath` drives the blocks."""
from __future__ import annotations

import re
import sys
from array import array
from bisect import bisect_right
from operator import itemgetter
from typing import Callable, Dict, List, Set, Tuple

from cutover.soak.model import HOUR_MS
from cutover.soak.rules import Counter
from cutover.soak.wholelines import line_end, line_start

# Numbers are taken in a narrow form of JSON's (no sign, no exponent): what timing.js writes. A
# number outside it (valid JSON or not) fails the match and its line goes to the exact path, so
# the form only has to be a subset of JSON's. For durations float(bytes) is then what json.loads +
# float() gives and never inf or -0.0. In a bytes pattern \d is [0-9] (a faster opcode).
# Optional parts are written "(?:X|)", not "X?" or "(?:X)?": the same matches, and Python's re
# runs a branch faster than a repeat; repeats that never give back are possessive ("*+").
_P = b"+" if sys.version_info >= (3, 11) else b""  # possessive repeats (Python 3.11+): the same matches here
_JNUM = rb"(?:[1-9]\d*" + _P + rb"|0)(?:\.\d+" + _P + rb"|)"
_DUR = rb"(?:[1-9]\d{0,15}" + _P + rb"|0)(?:\.\d{1,17}" + _P + rb"|)"
_TXT = rb"[ !#-\[\]-~]*" + _P  # printable ASCII without quote and backslash: the bytes are the string
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
    + rb"," + _Q + rb"marks" + _Q + rb":\{(?:" + _MARK + rb"(?:," + _MARK + rb"(?:," + _MARK + rb")*" + _P + rb"|)|)\}"  # two marks unrolled
    + rb"(?:," + _Q + rb"ok" + _Q + rb":(?:true|false)|," + _Q + rb"error" + _Q + rb":" + _Q + _TXT + _Q + rb")*" + _P  # timing.js extras
    + rb'\}(?(1)")\],"TimestampMs":(' + _MS + rb")\}|)"
)
Found = Tuple[bytes, bytes, bytes, bytes, bytes, bytes]  # string form, cmd, duration, t, f, ms
FAILED: Found = (b"", b"", b"", b"", b"", b"")  # one-byte and empty groups cost no allocation

# Bytes a line must contain for the default text rules or the failure events to count it: "dual"
# in any letter case (the dual-write rule ignores case; its event names it too), "Mongo" (the
# driver's error names, matched with case), "mongo_connection_error" (the event, an exact value),
# and a \u escape of an ASCII letter, which could spell any of them. Each is found by bytes.rfind,
# "dual" in a lower-cased copy (same offsets): no non-ASCII character case-folds to one of its
# letters. timing.js's own "mongo_connect" mark is none of them. A false hit only costs its line the
# slow path. A line holding a control byte other than the newline (a zeroed byte, the zeros a crash
# leaves in unwritten blocks, a raw tab in a string) or bytes that are not UTF-8 is read by JSON
# too: JSON allows no control byte raw in a string (tab and CR only as blanks outside one). One
# deleting translate keeps just those bytes: almost always nothing.
LOWER_MARKERS = (b"dual",)
EXACT_MARKERS = (b"Mongo", b"mongo_connection_error")
ESCAPE = b"\\u00"
ESCAPED_LETTER = frozenset(b"4567")  # \u0041-\u007F: the ASCII letters and a few signs
_PLAIN = bytes([0x0A, *range(0x20, 0x80)])  # deleted: what remains is control or non-ASCII bytes


def _find_all(haystack: bytes, needle: bytes) -> List[int]:
    """Where needle is in haystack (in any order). Found from the end: rfind's scan is faster than
    find's for these needles (it keys on the needle's first byte, rarer than its last)."""
    found = []
    at = haystack.rfind(needle)
    while at >= 0:
        found.append(at)
        at = haystack.rfind(needle, 0, at + len(needle) - 1)
    return found


def marked(data: bytes) -> List[int]:
    """Starts of the lines holding a failure marker, a control byte or bytes that are not UTF-8."""
    at = [pos for pos in _find_all(data, ESCAPE) if data[pos + 4 : pos + 5] and data[pos + 4] in ESCAPED_LETTER]
    for needle in EXACT_MARKERS:
        at += _find_all(data, needle)
    lowered = data.lower()
    for needle in LOWER_MARKERS:
        at += _find_all(lowered, needle)
    hard = {line_start(data, pos) for pos in at}
    odd = data.translate(None, _PLAIN)
    if odd:
        _odd_bytes(data, odd, hard)
    return sorted(hard)


def _odd_bytes(data: bytes, odd: bytes, hard: Set[int]) -> None:
    """Add the starts of the lines that hold control bytes (each kind found by memrchr, one find
    per line) or bytes that are not UTF-8 (the decoder replaces them: those lines go through it)."""
    for byte in set(odd):
        if byte < 0x80:
            control = bytes((byte,))
            at = data.rfind(control)
            while at >= 0:
                start = line_start(data, at)
                hard.add(start)
                at = data.rfind(control, 0, start)
    if max(odd) >= 0x80:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            a = 0
            while a < len(data):
                b = line_end(data, a)
                try:
                    data[a:b].decode("utf-8")
                except UnicodeDecodeError:
                    hard.add(a)
                a = b


# -- taking the events --------------------------------------------------------------------------

_DURATION, _TRUE, _FALSE, _TIME = (itemgetter(i) for i in range(2, 6))


def _hour_of(ms: int) -> int:
    return ms - ms % HOUR_MS


def take(counter: Counter, found: List[Found]) -> None:
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


def timings(data: bytes, a: int, b: int) -> Tuple[List[Found], int]:
    """The events of the whole record lines in [a, b), up to b or to the start of the first line
    holding a cmd_timing that is not our exact shape (it needs JSON); returns them and where they end."""
    got = TIMING.findall(data, a, b)
    if FAILED not in got:
        return got, b
    odd = next(m.start() for m in TIMING.finditer(data, a, b) if m.lastindex is None)
    stop = max(line_start(data, odd), a)
    return TIMING.findall(data, a, stop), stop
