"""Decode a stream of JSON values: NDJSON, pretty-printed objects one after another (wrangler tail
--format json), arrays (also one-line arrays of any size). Bad values are counted, never raised."""
from __future__ import annotations

import codecs
import json
import re
from typing import BinaryIO, Iterator

from cutover.errors import UNDECODABLE

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
        self.dropped_lines = 0  # newlines in the text dropped so far (a line count is a byte position too)
        self.max_block = max(block, 1 << 20)

    def refill(self) -> bool:
        """Append one more block; False at the end of the stream."""
        if self.eof:
            return False
        chunk = self.stream.read(self.block)
        self.block = min(self.block * 2, self.max_block)  # a small first read grows (fastpath's regions)
        self.eof = not chunk
        if self.pos > (1 << 20) and self.pos > len(self.text) // 2:
            self.dropped_lines += self.text.count("\n", 0, self.pos)
            self.text = self.text[self.pos :]  # drop what was consumed
            self.pos = 0
        self.text += self.decoder.decode(chunk, final=self.eof)
        return True


# How far before the end of the text a decode error may still be the text's end, not the value's:
# a partial literal or escape ("-Infinit", "\\u12") is reported where it starts.
_TOKEN_REACH = 16


def _maybe_cut(error: ValueError, text_len: int) -> bool:
    """The error may only mean that the text ends (more of the stream could make the value whole)."""
    at = getattr(error, "pos", None)
    msg = getattr(error, "msg", "")
    return at is None or at >= text_len - _TOKEN_REACH or msg.startswith("Unterminated string")


class Decoder:
    """The stream decoder with its state in view: fastpath runs it over a region of lines and must
    know when it is back at a line start between values (`resume_lines`)."""

    def __init__(self, stream: BinaryIO, block: int = 1 << 20) -> None:
        self.buf = _Buffer(stream, block)
        self.depth = 0  # open top-level arrays; one left open at the end is a truncated file

    def resume_lines(self) -> int | None:
        """After a yielded item: the newlines read up to the next line start when a fresh decoder
        started there would go on exactly as this one (no array open, only skippable bytes before
        it); None while inside an array or when another value follows on the same line."""
        if self.depth:
            return None
        buf = self.buf
        text, pos = buf.text, buf.pos
        if pos and text[pos - 1] != "\n":
            pos = text.rfind("\n", pos, _SKIP.match(text, pos).end()) + 1  # type: ignore[union-attr]
            if not pos:
                return None
        return buf.dropped_lines + text.count("\n", 0, pos)

    def pending_text(self) -> str:
        """What the decoder holds but has not read yet (the text after the last value it gave)."""
        return self.buf.text[self.buf.pos :]

    def __iter__(self) -> Iterator[object]:
        decoder = json.JSONDecoder()
        buf = self.buf
        if not buf.text:
            buf.refill()
        while True:
            start = buf.pos
            buf.pos = _SKIP.match(buf.text, buf.pos).end()  # type: ignore[union-attr]
            if self.depth:
                self.depth = max(0, self.depth - buf.text.count("]", start, buf.pos))
            if buf.pos >= len(buf.text):
                if not buf.refill():
                    if self.depth:
                        yield MALFORMED
                    return
                continue
            if buf.text[buf.pos] == "[":
                buf.pos += 1  # an array: its elements are the values
                self.depth += 1
                continue
            try:
                value, end = decoder.raw_decode(buf.text, buf.pos)
            except UNDECODABLE as error:
                cut = isinstance(error, ValueError) and _maybe_cut(error, len(buf.text))  # too deep is never a cut
                if not buf.eof and len(buf.text) - buf.pos < MAX_VALUE_CHARS and cut:
                    buf.refill()  # maybe only cut by the block boundary: read on and retry
                    continue
                nxt = _VALUE_START.search(buf.text, buf.pos + 1)
                if nxt is None and not buf.eof and len(buf.text) - buf.pos < MAX_VALUE_CHARS:
                    buf.refill()  # where the next value starts is further on
                    continue
                # Nothing further starts a line in what we hold: skip it and go on with the rest.
                buf.pos = len(buf.text) if nxt is None else nxt.end()
                yield MALFORMED
                continue
            if end > len(buf.text) - _TOKEN_REACH and not buf.eof and buf.text[buf.pos] not in "{[\"":
                # A bare number or literal near the block end may continue in the next block ("1e" "5").
                buf.refill()
                continue
            buf.pos = end
            yield value


def values(stream: BinaryIO, block: int = 1 << 20) -> Iterator[object]:
    """Yield each decoded top-level value (array elements one by one), or MALFORMED once per
    undecodable stretch, resuming at the next value that starts a line."""
    return iter(Decoder(stream, block))
