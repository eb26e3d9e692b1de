"""Decode a stream of JSON values: NDJSON, pretty-printed objects one after another (wrangler tail
--format json), arrays (also one-line arrays of any size). Bad values are counted, never raised."""
from __future__ import annotations

import codecs
import json
import re
from typing import BinaryIO, Iterator

# A top-level value starts at a line start: NDJSON lines and JSON.stringify(x, null, 4) output both
# put nested lines behind indentation, and raw newlines cannot occur inside JSON strings.
_VALUE_START = re.compile(r"\n(?=[\[{])")
_SKIP = re.compile(r"[ \t\r\n,\]\ufeff]*")
MAX_VALUE_CHARS = 64 << 20  # one value larger than this is counted malformed instead of buffered
MALFORMED = object()


class _Buffer:
    """Decoded text with a read position; refills from the byte stream in blocks."""

    def __init__(self, stream: BinaryIO, block: int) -> None:
        self.stream = stream
        self.block = block
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""
        self.pos = 0
        self.eof = False

    def refill(self) -> bool:
        """Append one more block; False at the end of the stream."""
        if self.eof:
            return False
        chunk = self.stream.read(self.block)
        self.eof = not chunk
        if self.pos > (1 << 20) and self.pos > len(self.text) // 2:
            self.text = self.text[self.pos :]  # drop what was consumed
            self.pos = 0
        self.text += self.decoder.decode(chunk, final=self.eof)
        return True


def values(stream: BinaryIO, block: int = 1 << 20) -> Iterator[object]:
    """Yield each decoded top-level value (array elements one by one), or MALFORMED once per
    undecodable stretch, resuming at the next value that starts a line."""
    decoder = json.JSONDecoder()
    buf = _Buffer(stream, block)
    buf.refill()
    depth = 0  # open top-level arrays; one left open at the end is a truncated file
    while True:
        start = buf.pos
        buf.pos = _SKIP.match(buf.text, buf.pos).end()  # type: ignore[union-attr]
        if depth:
            depth = max(0, depth - buf.text.count("]", start, buf.pos))
        if buf.pos >= len(buf.text):
            if not buf.refill():
                if depth:
                    yield MALFORMED
                return
            continue
        if buf.text[buf.pos] == "[":
            buf.pos += 1  # an array: its elements are the values
            depth += 1
            continue
        try:
            value, end = decoder.raw_decode(buf.text, buf.pos)
        except ValueError:
            nxt = _VALUE_START.search(buf.text, buf.pos + 1)
            if nxt is None and not buf.eof and len(buf.text) - buf.pos < MAX_VALUE_CHARS:
                buf.refill()  # maybe only cut by the block boundary: read on and retry
                continue
            yield MALFORMED
            if nxt is None:
                # Nothing further starts a line in what we hold: skip it and go on with the rest.
                buf.pos = len(buf.text)
                continue
            buf.pos = nxt.end()
            continue
        if end >= len(buf.text) and not buf.eof and buf.text[buf.pos] not in "{[\"":
            # A bare number or literal right at the block end may continue in the next block.
            buf.refill()
            continue
        buf.pos = end
        yield value
