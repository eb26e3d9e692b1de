"""Decode a stream of JSON values: NDJSON, pretty-printed objects one after another (wrangler tail
--format json), or arrays. Bad values are counted, never raised."""
from __future__ import annotations

import codecs
import json
import re
from typing import BinaryIO, Iterator, Tuple

# A top-level value starts at a line start: NDJSON lines and JSON.stringify(x, null, 2) output both
# put nested lines behind indentation, and raw newlines cannot occur inside JSON strings.
_VALUE_START = re.compile(r"\n(?=[\[{])")
_WS = re.compile(r"[ \t\r\n,\]]*")
MAX_VALUE_CHARS = 64 << 20  # one value larger than this is counted malformed instead of buffered
MALFORMED = object()


def values(stream: BinaryIO, block: int = 1 << 20) -> Iterator[object]:
    """Yield each decoded top-level value, or MALFORMED once per undecodable segment."""
    decoder = json.JSONDecoder()
    text_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buf = ""
    eof = False
    while True:
        if not eof and len(buf) < block:
            chunk = stream.read(block)
            eof = not chunk
            buf += text_decoder.decode(chunk, final=eof)
        if not buf.strip():
            if eof:
                return
            buf = ""
            continue
        # Segments end where the next line-start value begins; keep the last (maybe partial) one.
        cut = buf.rfind("\n{")
        cut_arr = buf.rfind("\n[")
        cut = max(cut, cut_arr)
        if eof:
            segment, buf = buf, ""
        elif cut <= 0:
            if len(buf) > MAX_VALUE_CHARS:
                yield MALFORMED
                buf = ""
                continue
            chunk = stream.read(block)
            eof = not chunk
            buf += text_decoder.decode(chunk, final=eof)
            continue
        else:
            segment, buf = buf[: cut + 1], buf[cut + 1 :]
        yield from _decode_segment(decoder, segment)


def _decode_segment(decoder: json.JSONDecoder, segment: str) -> Iterator[object]:
    """A segment holds whole values; an undecodable part is one malformed value up to the next line-start value."""
    pos = 0
    end = len(segment)
    while True:
        pos = _WS.match(segment, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            return
        if segment[pos] == "[":
            # An array at top level: decode it element by element when it is well formed.
            try:
                value, pos = decoder.raw_decode(segment, pos)
            except ValueError:
                yield MALFORMED  # the array as a whole is broken: still take its elements one by one
                pos += 1
                continue
            yield value
            continue
        try:
            value, pos = decoder.raw_decode(segment, pos)
        except ValueError:
            yield MALFORMED
            nxt = _VALUE_START.search(segment, pos + 1)
            if nxt is None:
                return
            pos = nxt.end()
            continue
        yield value


def iter_lines_bytes(stream: BinaryIO, block: int = 1 << 24) -> Iterator[Tuple[bytes, int]]:
    """Complete lines in large blocks: (block, count) with the block ending at a newline."""
    rest = b""
    while True:
        chunk = stream.read(block)
        if not chunk:
            if rest:
                yield rest, 1
            return
        data = rest + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        rest = data[cut + 1 :]
        yield data[: cut + 1], data.count(b"\n", 0, cut + 1)
