"""Open inputs (`-` = stdin, gzip by magic bytes, UTF-16 by its BOM or zero bytes) and sniff their
container from the content, never from the name: JSON, pretty `wrangler tail` text, or CSV."""
from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import sys
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterator, Tuple

from cutover.errors import UNDECODABLE, CutoverError

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 1 << 16


class _Guarded(io.RawIOBase):
    """A gzip stream that ends (and remembers why) instead of raising on a corrupt or cut-short file."""

    def __init__(self, inner: BinaryIO) -> None:
        self.inner = inner
        self.error: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        if self.error is not None:
            return 0
        try:
            data = self.inner.read1(len(buffer))  # type: ignore[attr-defined]  # keeps what came before a cut
        except (OSError, EOFError, zlib.error) as exc:
            self.error = str(exc) or type(exc).__name__
            return 0
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


class _Counting(io.RawIOBase):
    """The file as read from disk, reporting bytes read (for progress on compressed input too)."""

    def __init__(self, raw: BinaryIO, on_read: Callable[[int], None]) -> None:
        self.raw = raw
        self.on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        got = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        if got:
            self.on_read(got)
        return got or 0

    def fileno(self) -> int:
        return self.raw.fileno()

    def close(self) -> None:
        self.raw.close()
        super().close()


class _Transcoded(io.RawIOBase):
    """A UTF-16 stream (PowerShell 5's `>` writes it) read as UTF-8 bytes, so every reader downstream
    sees one encoding. Undecodable bytes become U+FFFD (then a malformed record), never an exception."""

    def __init__(self, inner: BinaryIO, encoding: str) -> None:
        self.inner = inner
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self.pending = b""
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        while not self.pending and not self.done:
            chunk = self.inner.read1(1 << 16)  # type: ignore[attr-defined]  # what is there: a live pipe is not held back
            self.done = not chunk
            self.pending = self.decoder.decode(chunk, final=self.done).encode("utf-8")
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def close(self) -> None:
        self.inner.close()
        super().close()


_BOMS = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def text_encoding(head: bytes) -> tuple[str | None, int]:
    """(encoding to transcode from, bytes of BOM to skip); (None, 0) for UTF-8 (with or without BOM).
    UTF-16 without a BOM is told by its zero bytes: UTF-8 log text never holds a NUL."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, len(bom)
    sample = head[:512] if len(head) >= 512 else head[: len(head) - len(head) % 2]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
        if zeros_odd >= 0.7 and zeros_even < 0.05:
            return "utf-16-le", 0
        if zeros_even >= 0.7 and zeros_odd < 0.05:
            return "utf-16-be", 0
    return None, 0


@dataclass
class Source:
    """An opened input: a binary stream with its first bytes available for sniffing."""

    name: str
    stream: BinaryIO
    head: bytes
    gzipped: bool
    size: int | None  # bytes on disk for plain UTF-8 files (read again by offset), None otherwise
    guard: _Guarded | None = None
    encoding: str | None = None  # transcoded from this (UTF-16) to UTF-8

    @property
    def read_error(self) -> str | None:
        """Why a compressed input ended early (corrupt or truncated), if it did."""
        return self.guard.error if self.guard is not None else None


def open_input(name: str, stdin: BinaryIO | None = None, on_read: Callable[[int], None] | None = None,
               opened: BinaryIO | None = None) -> Source:
    """Open a file or stdin; gzip is detected by content, not by the file name. `opened`: the
    file `name` already open as a raw stream (soak-watch's followed file), read instead."""
    try:
        raw: BinaryIO = opened or ((stdin or sys.stdin.buffer) if name == "-" else open(name, "rb", buffering=0))  # noqa: SIM115
    except OSError as exc:
        raise CutoverError(f"cannot read --input {name}: {exc.strerror or exc}") from None
    if on_read is not None and name != "-":
        raw = _Counting(raw, on_read)  # type: ignore[assignment]
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw, buffer_size=1 << 16)  # type: ignore[arg-type]
    gzipped = buffered.peek(2)[:2] == GZIP_MAGIC
    guard = None
    stream: BinaryIO = buffered  # type: ignore[assignment]
    if gzipped:
        guard = _Guarded(gzip.GzipFile(fileobj=buffered, mode="rb"))  # type: ignore[arg-type]
        stream = io.BufferedReader(guard, buffer_size=1 << 20)  # type: ignore[assignment]
    try:
        head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
    except (OSError, EOFError) as exc:
        raise CutoverError(f"cannot read --input {name}: {exc}") from None
    encoding, bom = text_encoding(head)
    if encoding is not None:
        stream.read(bom)
        stream = io.BufferedReader(_Transcoded(stream, encoding), buffer_size=1 << 20)  # type: ignore[assignment]
        head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # type: ignore[attr-defined]
    size = None
    if name != "-" and not gzipped and encoding is None:
        try:
            size = os.fstat(buffered.fileno()).st_size
        except OSError:
            size = None
    return Source(name, stream, head, gzipped, size, guard, encoding)


def head_values(text: bytes, lines: int = 8) -> Iterator[Tuple[bytes, object]]:
    """(line, its JSON value) for the first complete lines of text that are one JSON value each
    (blank and unparsable lines skipped: a file cut at its start, a crash's zeros)."""
    for line in text.split(b"\n")[:lines][: text.count(b"\n")]:
        line = line.strip()
        if line:
            try:
                yield line, json.loads(line)
            except UNDECODABLE:
                continue


def _starts_json_lines(text: bytes) -> bool:
    """One of the next lines is a JSON object on a line of its own (a CSV row never starts with "{")."""
    return next((isinstance(value, dict) for line, value in head_values(text) if line.startswith(b"{")), False)


def container_of(head: bytes) -> str:
    """'json' (NDJSON, concatenated/pretty-printed objects, arrays), 'tail-pretty' (`wrangler tail`
    without --format json), 'csv', or 'empty'."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return "empty"
    if text[:1] in (b"{", b"["):
        return "json"
    from cutover.soak.formats import tailpretty

    if tailpretty.looks_like(text):
        return "tail-pretty"
    first_line, _, rest = text.partition(b"\n")
    if _starts_json_lines(rest):  # a file cut at its start: its first line is a record's tail
        return "json"
    if b"," in first_line or b";" in first_line or b"\t" in first_line:
        return "csv"
    return "json"  # not JSON either: every line will be counted as malformed
