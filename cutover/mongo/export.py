"""`export:` source: mongoexport output (NDJSON or --jsonArray, plain or gzip), streamed.

A directory holds `<collection>.json` or `<collection>.json.gz`; a single file is the
collection named by its file name. A damaged line stops the read with file:line unless
`skip_bad_lines`, which skips and counts it (see `bad_lines`, `bad_line_samples`).
"""
from __future__ import annotations

import gc
import gzip
import hashlib
import io
import itertools
import json
import os
import zlib
from typing import IO, Any, Dict, Iterator, List, Tuple

from cutover.errors import UNDECODABLE, ConfigError, CutoverError
from cutover.mongo import ejson
from cutover.mongo.base import Batch, MongoSource, ScanOptions
from cutover.mongo.filtering import DocumentFilter
from cutover.mongo.values import Document

SUFFIXES = (".json", ".json.gz", ".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz")
# A document above this size in an array/pretty export means the file is not what we think.
_MAX_DOCUMENT_CHARS = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
_SAMPLES = 10
_FINGERPRINT_SPAN = 1024 * 1024


def _collection_of(filename: str) -> str:
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if filename.endswith(suffix):
            return filename[: -len(suffix)]
    return os.path.splitext(filename)[0]


class ExportSource(MongoSource):
    """Reads mongoexport files; stable order = file order; resume = after the `_id` in that order."""

    def __init__(self, path: str, skip_bad_lines: bool = False) -> None:
        self.path = os.path.abspath(os.path.expanduser(path))
        self.description = f"export:{path}"
        self.skip_bad_lines = skip_bad_lines
        # damage seen by the latest read of each collection (a re-read replaces, not adds)
        self._damage: Dict[str, _Damage] = {}
        # collection -> (file signature, documents) of a complete read that found no damage
        self._validated: Dict[str, Tuple[Tuple[Any, ...], int]] = {}
        if os.path.isdir(self.path):
            self.directory: str | None = self.path
        elif os.path.isfile(self.path):
            self.directory = None
        else:
            raise ConfigError(f"{self.description}: no such file or directory")
        self._counts: Dict[Tuple[Any, ...], int] = {}

    @property
    def bad_lines(self) -> int:
        """Damaged lines skipped (with `skip_bad_lines`) by the latest read of each collection."""
        return sum(d.count for d in self._damage.values())

    @property
    def bad_line_samples(self) -> List[str]:
        """`FILE:LINE: reason` of the first few skipped lines."""
        return [sample for d in self._damage.values() for sample in d.samples][:_SAMPLES]

    # -- locating files --------------------------------------------------------------
    def collections(self) -> List[str]:
        """Collections this export holds (file names without their suffix)."""
        if self.directory is None:
            return [_collection_of(os.path.basename(self.path))]
        names = set()
        for entry in sorted(os.listdir(self.directory)):
            if entry.endswith(SUFFIXES) and os.path.isfile(os.path.join(self.directory, entry)):
                names.add(_collection_of(entry))
        return sorted(names)

    def file_for(self, collection: str) -> str:
        """The one file holding `collection`; ConfigError naming what was looked for."""
        if self.directory is None:
            held = _collection_of(os.path.basename(self.path))
            if held != collection:
                raise ConfigError(
                    f"{self.description}: this file holds collection {held!r} (from its name), not "
                    f"{collection!r}; name it {collection}.json or point the source at a directory"
                )
            return self.path
        found = [
            os.path.join(self.directory, collection + suffix)
            for suffix in SUFFIXES
            if os.path.isfile(os.path.join(self.directory, collection + suffix))
        ]
        if not found:
            raise ConfigError(
                f"{self.description}: no export for collection {collection!r} "
                f"(looked for {collection}.json and {collection}.json.gz)"
            )
        if len(found) > 1:
            names = ", ".join(os.path.basename(f) for f in found)
            raise ConfigError(f"{self.description}: collection {collection!r} has several exports ({names}); keep one")
        return found[0]

    # -- reading ---------------------------------------------------------------------
    def _bad(self, damage: _Damage, where: str, reason: str) -> None:
        if not self.skip_bad_lines:
            raise CutoverError(
                f"{where}: malformed document ({reason}); the export is damaged - "
                "re-export it, or pass --skip-bad-lines to skip and count such lines"
            )
        damage.count += 1
        if len(damage.samples) < _SAMPLES:
            damage.samples.append(f"{where}: {reason}")

    def iter_documents(self, collection: str, checked: bool = False) -> Iterator[Document]:
        """Every document of the file, in file order (no filtering).

        `checked`: `validate` has just read this file without damage, so NDJSON lines may be
        parsed in blocks (faster; see `ejson.decode_checked_lines`)."""
        path = self.file_for(collection)
        damage = self._damage[collection] = _Damage()
        try:
            with _open_binary(path) as handle:
                start, first = _sniff(handle)
                handle.seek(start)
                if first == b"[":
                    yield from self._stream(path, handle, array=True)
                elif first == b"{" and _first_line_is_open_brace(handle, start):
                    # mongoexport --pretty: one document spans many lines; read it as a stream.
                    yield from self._stream(path, handle, array=False)
                else:
                    decode = ejson.decode_checked_lines if checked else ejson.decode_lines
                    yield from decode(handle, lambda lineno, why: self._bad(damage, f"{path}:{lineno}", why))
        except (OSError, EOFError, zlib.error) as exc:
            raise CutoverError(f"{path}: cannot read ({_describe(exc)})") from None

    def _stream(self, path: str, handle: IO[bytes], array: bool) -> Iterator[Document]:
        # Whole JSON values one after another (pretty output) or inside one array. A
        # damaged value cannot be skipped reliably here, so it always stops the read.
        reader = io.TextIOWrapper(handle, encoding="utf-8", errors="strict")
        buf = ""
        pos = 0
        line = 1
        eof = False
        started = not array
        ended = False

        def more() -> bool:
            nonlocal buf, pos, eof
            if eof:
                return False
            try:
                chunk = reader.read(_CHUNK)
            except UnicodeDecodeError as exc:
                self._fatal(path, line, f"not UTF-8: {exc.reason}")
            if not chunk:
                eof = True
                return False
            buf = buf[pos:] + chunk
            pos = 0
            return True

        def skip_ws() -> bool:
            nonlocal pos, line
            while True:
                while pos < len(buf) and buf[pos] in " \t\r\n":
                    if buf[pos] == "\n":
                        line += 1
                    pos += 1
                if pos < len(buf):
                    return True
                if not more():
                    return False

        try:
            while True:
                if not skip_ws():
                    if array and not ended:
                        self._fatal(path, line, "the JSON array is not closed (file truncated?)")
                    return
                ch = buf[pos]
                if ended:
                    self._fatal(path, line, "data after the end of the JSON array")
                if not started:
                    pos += 1  # the opening "["
                    started = True
                    continue
                if array and ch == "]":
                    pos += 1
                    ended = True
                    continue
                if array and ch == ",":
                    pos += 1
                    continue
                while True:
                    try:
                        doc, end = ejson.decode_raw(buf, pos)
                        break
                    except json.JSONDecodeError as exc:
                        if _ran_out(exc, buf) and len(buf) - pos < _MAX_DOCUMENT_CHARS and more():
                            continue
                        self._fatal(path, line + buf.count("\n", pos, exc.pos), exc.msg)
                    except UNDECODABLE as exc:
                        self._fatal(path, line, ejson.error_reason(exc))
                if doc.__class__ is not dict or "\\u0000" in buf[pos:end]:  # rare: the usual document goes on as parsed
                    try:
                        doc = _settled(doc, buf[pos:end])
                    except ValueError as exc:
                        self._fatal(path, line, ejson.error_reason(exc))
                line += buf.count("\n", pos, end)
                pos = end
                yield doc
        finally:
            reader.detach()  # the caller's with-block closes the file

    @staticmethod
    def _fatal(path: str, line: int, reason: str) -> None:
        raise CutoverError(
            f"{path}:{line}: malformed document ({reason}); the export is damaged - re-export it "
            "(in a JSON array or pretty-printed export a damaged document cannot be skipped)"
        )

    # -- MongoSource -----------------------------------------------------------------
    def validate(self, collection: str) -> int:
        """Read the whole file once (no filters) and return its document count; damage raises here.

        Done before the first batch of a scan, so a damaged export stops the run before
        anything is written; remembered (in memory, for the life of this source) per file identity,
        size and times, so count() + scan() read twice, not three times.
        """
        signature = self._signature(collection)
        known = self._validated.get(collection)
        if known is not None and known[0] == signature:
            return known[1]
        total = 0
        for _doc in self.iter_documents(collection):
            total += 1
        if not self._damage[collection].count:
            self._validated[collection] = (signature, total)
        return total

    def _signature(self, collection: str) -> Tuple[Any, ...]:
        path = self.file_for(collection)
        try:
            st = os.stat(path)
        except OSError as exc:
            raise CutoverError(f"{path}: cannot read ({_describe(exc)})") from None
        # a file replaced or rewritten in place (same size, mtime set back) changes inode or ctime
        return (path, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def fingerprint(self, collection: str) -> Dict[str, Any]:
        """Size, modification time and SHA-256 of the first and last MiB of the collection's file."""
        path = self.file_for(collection)
        try:
            with open(path, "rb") as handle:
                st = os.fstat(handle.fileno())
                head = hashlib.sha256(handle.read(_FINGERPRINT_SPAN)).hexdigest()
                handle.seek(max(0, st.st_size - _FINGERPRINT_SPAN))
                tail = hashlib.sha256(handle.read(_FINGERPRINT_SPAN)).hexdigest()
        except OSError as exc:
            raise CutoverError(f"{path}: cannot read ({_describe(exc)})") from None
        return {"file": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "head_sha256": head, "tail_sha256": tail}

    def scan(self, collection: str, options: ScanOptions = ScanOptions()) -> Iterator[Batch]:
        """Batches in file order; the whole file is validated first unless `skip_bad_lines`."""
        checked = not self.skip_bad_lines
        if checked:
            self.validate(collection)
        size = max(1, options.batch_size)
        docs = self._filtered(collection, options, checked)
        while True:
            # Parsed documents are acyclic, and a batch of them alive at once makes the cyclic
            # GC re-scan them again and again (a third of the read time); so no GC while one
            # batch is built. The previous state is restored before the caller runs.
            enabled = gc.isenabled()
            gc.disable()
            try:
                batch = list(itertools.islice(docs, size))
            finally:
                if enabled:
                    gc.enable()
            if not batch:
                return
            last = len(batch) < size
            yield batch
            # Let go before the next batch is built: two batches alive at once cost more memory
            # traffic (cache misses) than the parsing itself.
            del batch
            if last:
                return

    def documents(self, collection: str, options: ScanOptions = ScanOptions()) -> Iterator[Document]:
        # Unbatched: holding a batch of parsed documents costs more than the parsing itself.
        checked = not self.skip_bad_lines
        if checked:
            self.validate(collection)
        return self._filtered(collection, options, checked)

    def _filtered(self, collection: str, options: ScanOptions, checked: bool = False) -> Iterator[Document]:
        docs = self.iter_documents(collection, checked)
        if options.after_id is not None:
            docs = self._after(docs, collection, options.after_id)
        keep = DocumentFilter(options)
        if keep.since is not None or keep.projecting:
            docs = (keep.project(d) for d in docs if keep.matches(d))
        return docs

    def _after(self, docs: Iterator[Document], collection: str, after_id: Any) -> Iterator[Document]:
        for doc in docs:
            if doc.get("_id") == after_id:
                yield from docs
                return
        raise CutoverError(
            f"{self.description}: resume position _id {ejson.dumps(after_id)} is not in the "
            f"export of {collection!r}; the file changed since the checkpoint - start over without --resume"
        )

    def count(self, collection: str, options: ScanOptions = ScanOptions()) -> int | None:
        """Exact count; reads the whole file (and so finds damage before anything is written)."""
        if options.since is None and options.after_id is None:
            if self.skip_bad_lines:
                return sum(1 for _ in self.iter_documents(collection))
            return self.validate(collection)
        key = (collection, self._signature(collection), options.since, options.since_field, ejson.dumps(options.after_id))
        if key not in self._counts:
            self._counts[key] = sum(1 for _ in self.documents(collection, options))
        return self._counts[key]


class _Damage:
    """Lines skipped in one read of one file."""

    def __init__(self) -> None:
        self.count = 0
        self.samples: List[str] = []


def _ran_out(exc: json.JSONDecodeError, buf: str) -> bool:
    """The streamed value ran out of text (vs. a real syntax error): the error sits at the end of
    the buffer, or an unterminated string started before it."""
    return exc.pos >= len(buf) - 16 or exc.msg.startswith("Unterminated string")


def _settled(value: Any, text: str) -> Document:
    """A streamed top-level value as a document, its field names checked if `text` (its JSON)
    holds a \\u0000 escape; ValueError if it is no document or a name holds a NUL."""
    doc = value if value.__class__ is dict else ejson.as_document(value)
    if "\\u0000" in text:
        ejson.check_nul_keys(doc)
    return doc


def _open_binary(path: str) -> IO[bytes]:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115 - closed by the caller's with-block


def _sniff(handle: IO[bytes]) -> Tuple[int, bytes]:
    """(offset after a UTF-8 BOM, first non-blank byte)."""
    head = handle.read(4096)
    start = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    return start, head[start:].lstrip()[:1]


def _first_line_is_open_brace(handle: IO[bytes], start: int) -> bool:
    first = handle.readline(4096).strip()
    handle.seek(start)
    return first == b"{"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "compressed file ends early - truncated download or copy?"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
