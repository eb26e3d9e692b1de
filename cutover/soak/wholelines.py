"""Which lines of a Logpush block are one whole record with Outcome "ok", proven for the whole block
at C speed: the block split at every `"Outcome":"` key is pieces, each one line's end from its
Outcome key on, its newline and the next line up to its key. A piece that is exactly a learned line
end (any integer for its last number), its close, its only newline and "{" proves both lines' parts
whole: each holds one Outcome key, "ok", and ends with the record's end. Only the lines a piece of
no learned shape touches are read one by one, as JSON. `fastpath` drives the blocks.

What this takes on trust is what the fast path documents (docs/design/analyze-soak-fast-path.md):
a line that starts with "{" and ends with the bytes of a record's end is that record, not one cut
short inside a nested object that repeats those bytes."""
from __future__ import annotations

import json
import re
import sys
from itertools import compress, repeat
from operator import and_
from typing import Dict, List, Tuple

from cutover.errors import UNDECODABLE

NL = b"\n"
OUTCOME = b'"Outcome":"'
_SKIP = len(OUTCOME)
_INT = rb"(?:0|[1-9]\d*" + (b"+" if sys.version_info >= (3, 11) else b"") + rb")"  # possessive where it can be
_LAST = re.compile(_INT + rb"\}\n\Z")
_TAIL = re.compile(rb"(.*:)(?:0|[1-9]\d*)\}", re.S)  # a record's end whose last value is an integer
MAX_SHAPES = 4  # line ends kept (a gradual deploy interleaves two ScriptVersions for hours)
_SHAPES: List[bytes] = []  # learned line ends after the Outcome key, up to the last number; newest first
_HEADS: List[bytes] = []  # learned line starts: "{" and the record's first key; newest first
_HEAD = re.compile(rb'\{"[^"\\]{1,64}":')


def line_start(data: bytes, pos: int) -> int:
    return data.rfind(NL, 0, pos) + 1


def line_end(data: bytes, pos: int) -> int:
    """Just past the newline of the line holding pos (the end of data for its last line)."""
    return data.find(NL, pos) + 1 or len(data)


def count_lines(data: bytes, a: int, b: int) -> int:
    """Lines that start in [a, b): a is a line start, b one or the end of data."""
    return data.count(NL, a, b) + (b == len(data) and b > a and not data.endswith(NL))


def line_index(data: bytes) -> Tuple[int, List[int]]:
    """How many lines data (not empty) has, and the starts of the lines that are not proven one
    whole record with Outcome "ok" (those the caller reads one by one)."""
    if not _SHAPES:
        _learn_first(data)
    pieces = data.rsplit(OUTCOME)  # the same pieces (the key cannot overlap itself in JSON); found from the end: faster
    m = len(pieces)
    bad = set(range(1, m))
    heads = tuple(_HEADS) or (b"{",)
    for lit in _SHAPES:
        bad.difference_update(_shaped(pieces, sorted(bad), lit, heads))
        if not bad:
            break
    if m == 1 or NL in pieces[0] or not data.startswith(heads):
        bad.add(0)
    touched = _touched(data, pieces, sorted(bad)) if bad else []
    if bad:
        newlines = m - 1 - len(bad) + (0 in bad) + sum(pieces[j].count(NL) for j in bad)
        lines = newlines + (not data.endswith(NL))
    else:
        lines = m - 1
    if _HEADS and not _heads_only_at_starts(data, lines, touched):
        touched = sorted(set(touched).union(_mid_line_heads(data)))
    if not touched:
        return lines, []
    return lines, _odd_lines(data, touched, learn=len(touched) * 4 > m or not _SHAPES)


def _heads_only_at_starts(data: bytes, lines: int, touched: List[int]) -> bool:
    """Every proven line starts with a learned head; there is no other head in them when the
    block holds exactly as many heads as those lines plus what the lines read one by one hold. A
    head inside a line is a record glued to one cut short (a crash, then an append): not one value."""
    inside = 0
    for a in touched:
        end = line_end(data, a)
        inside += sum(data.count(head, a, end) for head in _HEADS)
    return sum(map(data.count, _HEADS)) == lines - len(touched) + inside


def _mid_line_heads(data: bytes) -> List[int]:
    """The starts of the lines that hold a learned head anywhere but at their start."""
    found = set()
    for head in _HEADS:
        at = data.rfind(head)
        while at > 0:
            if data[at - 1] != NL[0]:
                found.add(line_start(data, at))
            at = data.rfind(head, 0, at)
    return sorted(found)


def _shaped(pieces: List[bytes], which: List[int], lit: bytes, heads: Tuple[bytes, ...]) -> List[int]:
    """Those of the pieces `which` (indexes >= 1, sorted) that are `lit`, an integer, "}" and their
    only newline, followed by a learned head (the block's last piece: by the block's end instead)."""
    if not which:
        return []
    m = len(pieces)
    last = which[-1] == m - 1
    mids = which[:-1] if last else which
    rest = pieces[1 : m - 1] if len(mids) == m - 2 else [pieces[j] for j in mids]
    k = len(lit)
    # from the learned end to just past the piece's last newline and the next line's head: exactly
    # a number, "}", that newline, the head
    if len(heads) == 1:
        ends = map((1 + len(heads[0])).__add__, map(bytes.rfind, rest, repeat(NL)))
        fits = map(_mid(heads[0]).fullmatch, rest, repeat(k), ends)
    else:
        newline = list(map(bytes.rfind, rest, repeat(NL)))
        fits = map(and_, map(bool, map(_mid(b"{").fullmatch, rest, repeat(k), map((2).__add__, newline))),
                   map(bytes.startswith, rest, repeat(heads), map((1).__add__, newline)))
    proven = list(compress(mids, map(and_, map(bytes.startswith, rest, repeat(lit)), map(bool, fits))))
    if last and pieces[-1].startswith(lit) and _LAST.fullmatch(pieces[-1], k):
        proven.append(m - 1)
    return proven


def _touched(data: bytes, pieces: List[bytes], bad: List[int]) -> List[int]:
    """The starts of the lines a piece not proven touches (from the one holding the Outcome key
    before it to the one holding the key after it)."""
    size = len(data)
    starts: List[int] = []
    reach = 0
    at = prev = 0  # where piece prev starts
    for j in bad:
        at += sum(map(len, pieces[prev:j])) + _SKIP * (j - prev)
        prev = j
        a = max(line_start(data, max(at - _SKIP, 0)), reach)
        b = at + len(pieces[j])
        b = size if b >= size else line_end(data, b)
        if a < b:
            starts.append(a)
            starts.extend(nl + 1 for nl in _newlines(data, a, b) if nl + 1 < b)
            reach = b
    return starts


_MIDS: Dict[bytes, re.Pattern[bytes]] = {}


def _mid(head: bytes) -> re.Pattern[bytes]:
    """A number, "}", a newline and the head (the head's own "{" included)."""
    got = _MIDS.get(head)
    if got is None:
        got = _MIDS[head] = re.compile(_INT + rb"\}\n" + re.escape(head))
    return got


def _odd_lines(data: bytes, starts: List[int], learn: bool) -> List[int]:
    """Of the lines at `starts`, those that are not whole records with Outcome "ok": a line of a
    learned shape is proven as the block's lines are (the neighbours of a damaged line mostly),
    any other is read as JSON."""
    odd = []
    heads = tuple(_HEADS) or (b"{",)
    for a in starts:
        line = data[a : line_end(data, a)].rstrip(NL)
        if _proven(line, heads):
            continue
        record = _whole_record(line)
        if record is None:
            odd.append(a)
        elif learn:  # lines of another end than those learned: learn theirs
            learn = not _learn(line, record)
    return odd


_CLOSE = re.compile(_INT + rb"\}")


def _proven(line: bytes, heads: Tuple[bytes, ...]) -> bool:
    """The block's proof for one line (without its newline): a learned head at its start and no
    other head in it, one Outcome key, after it a learned end, an integer and "}" to its end."""
    at = line.find(OUTCOME)
    if at < 0 or line.find(OUTCOME, at + 1) >= 0 or not line.startswith(heads):
        return False
    if _HEADS and sum(map(line.count, _HEADS)) != 1:
        return False
    at += _SKIP
    return any(line.startswith(lit, at) and _CLOSE.fullmatch(line, at + len(lit)) for lit in _SHAPES)


def _whole_record(line: bytes) -> dict | None:
    """The record, when the line is one (JSON itself says so) with a top-level Outcome "ok"."""
    if not line.startswith(b"{"):
        return None
    try:
        record = json.loads(line)
    except UNDECODABLE:
        return None
    return record if isinstance(record, dict) and record.get("Outcome") == "ok" else None


def _learn_first(data: bytes, lines: int = 16) -> None:
    """Learn a line end from the first whole records of the data, before the block is proven."""
    a = 0
    for _ in range(lines):
        b = line_end(data, a)
        line = data[a:b].rstrip(NL)
        record = _whole_record(line)
        if (record is not None and _learn(line, record)) or b >= len(data):
            return
        a = b


def _learn(line: bytes, record: dict) -> bool:
    """Keep the line's end after its last Outcome key up to its last number as a shape, when that
    end is the top level's: read as an object it holds that Outcome and only the record's own
    values (a nested Outcome's end is not valid there, or differs). Keep its start too: "{" and the
    record's first key (a record glued inside a line shows by it). True when either is new (a line
    of shapes already known teaches nothing: learning goes on to the next line)."""
    tail = line[line.rfind(OUTCOME) :]
    got = _TAIL.fullmatch(tail)
    if not got:
        return False
    try:
        end = json.loads(b"{" + tail)
    except UNDECODABLE:
        return False
    if not isinstance(end, dict) or end.get("Outcome") != "ok" or any(record.get(key, end) != value for key, value in end.items()):
        return False
    lit = got.group(1)[_SKIP:]
    head = _HEAD.match(line)  # the record's first key, as written
    if head and (not record or head.group()[2:-2] != next(iter(record)).encode("utf-8", "replace")):
        head = None
    learned = False
    for kept, new in ((_SHAPES, lit), (_HEADS, head.group() if head else None)):
        if new is not None:
            if new in kept:
                kept.remove(new)
            else:
                learned = True
            kept.insert(0, new)
            del kept[MAX_SHAPES:]
    return learned


def _newlines(data: bytes, a: int, b: int) -> List[int]:
    found = []
    at = data.find(NL, a, b)
    while at >= 0:
        found.append(at)
        at = data.find(NL, at + 1, b)
    return found
