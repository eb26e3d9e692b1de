"""NDJSON lines to documents: the export reader's hot path (`decode_lines`, `decode_checked_lines`).

Exports put their wrappers in top-level fields (`_id`, dates), so when every `$` of a line
belongs to such a field, the line is parsed without the object hook (C speed) and those fields
are converted in place; any other line takes the hooked parse. Same result either way; the
tests hold the two paths against each other. The usual `$date` and `$oid` of the previous
document's shape are decoded inline in `decode_lines`: a call per line costs 0.7% (measured).
"""
from __future__ import annotations

from typing import IO, Any, Callable, Iterable, Iterator, List, Tuple

from cutover.errors import UNDECODABLE
from cutover.mongo.ejson import dates as _dates
from cutover.mongo.ejson import text as _text
from cutover.mongo.ejson.common import EJSONError
from cutover.mongo.ejson.dates import _date_in_new_minute
from cutover.mongo.ejson.text import (
    _check_keys,
    _scan_hooked,
    _scan_plain,
    as_document,
    error_reason,
    loads_document,
)
from cutover.mongo.ejson.wrappers import _NOT_FAST, _fast_wrapper, _new, _set_binary, _set_millis
from cutover.mongo.values import DateTime, Document, ObjectId

# Bound by assignment, not by import: CPython 3.11+ compiles `name.method()` on a name an import
# bound without its method-call fast path (it expects a module), which costs a bound-method
# object per call: +4% per line here (measured with callgrind).
_MINUTES, _SECONDS_MS, _MILLIS_Z = _dates._MINUTES, _dates._SECONDS_MS, _dates._MILLIS_Z
_decoder = _text._decoder

_Shape = Tuple[Tuple[str, str], ...]  # (field, wrapper key) of each top-level wrapper field


def decode_lines(
    lines: Iterable[bytes], on_error: Callable[[int, str], None], first: int = 1, parsed: List[Any] | None = None
) -> Iterator[Document]:
    """The documents of NDJSON lines, blank lines skipped; a bad line goes to `on_error(lineno, reason)`
    (`first` is the number of the first line), which raises to stop or returns to skip it.
    `parsed`: the plain parse of each line, already made (see `decode_checked_lines`)."""
    shape: _Shape = ()  # the previous document's: documents of an export share theirs
    for lineno, line in enumerate(lines, first):
        try:
            text = line.decode("utf-8")
            escaped = "\\" in text  # memchr: most lines have no escapes
            dollars = text.count("$")
            # an escaped "$" (\u0024) may start a wrapper key that counting cannot see
            if dollars > 8 or escaped and "\\u0024" in text:
                value, end = _scan_hooked(text, 0)
            else:
                if parsed is None:
                    value, end = _scan_plain(text, 0)
                else:
                    value, end = parsed[lineno - first], len(text)
                if dollars:
                    # the fields of the previous document's shape first, the usual $date and $oid
                    # inlined (this runs a few times per line); anything else: _convert_top_level
                    found = 0
                    if value.__class__ is dict:
                        for key, kind in shape:
                            field = value.get(key)
                            if field.__class__ is not dict or len(field) != 1:
                                break
                            raw = field.get(kind)
                            if raw.__class__ is not str:
                                break
                            if kind == "$date":
                                millis = _MINUTES.get(raw[:16])
                                if millis is not None:
                                    seconds = _SECONDS_MS.get(raw[16:20])
                                    fraction = _MILLIS_Z.get(raw[20:])
                                    millis = None if seconds is None or fraction is None else millis + seconds + fraction
                                if millis is None:
                                    millis = _date_in_new_minute(raw)  # or not the usual form
                                    if millis is None:
                                        break
                                converted: Any = _new(DateTime)
                                _set_millis(converted, millis)
                            elif kind == "$oid" and len(raw) == 24:
                                try:
                                    binary = bytes.fromhex(raw)
                                except ValueError:
                                    break
                                if len(binary) != 12:
                                    break
                                converted = _new(ObjectId)
                                _set_binary(converted, binary)
                            else:
                                break
                            value[key] = converted
                            found += 1
                    if found != dollars:
                        rest = _convert_top_level(value, dollars - found)
                        if rest is None:
                            value, end = _scan_hooked(text, 0)
                        else:
                            shape = shape[:found] + rest
            # the usual line is "{...}\n"; anything else after the value must be blank
            if text[end:] != "\n" and end != len(text) and not text[end:].isspace():
                _decoder.decode(text)  # raises json's "Extra data" error with its position
            if value.__class__ is not dict:
                value = as_document(value)
            if escaped and "\\u0000" in text:
                _check_keys(value)
        except StopIteration:  # no JSON value at column 0: a blank line, or leading blanks
            value = _not_at_column_zero(line, lineno, on_error)
            if value is None:
                continue
        except UNDECODABLE as exc:  # JSONDecodeError, EJSONError, UnicodeDecodeError; nested too deep
            on_error(lineno, error_reason(exc))
            continue
        yield value


def _not_at_column_zero(line: bytes, lineno: int, on_error: Callable[[int, str], None]) -> Document | None:
    """A line with no JSON value at its first column: None if blank (or rejected: `on_error` was told)."""
    if line.isspace() or not line:
        return None
    try:
        return loads_document(line.decode("utf-8"))
    except UNDECODABLE as exc:
        on_error(lineno, error_reason(exc))
        return None


# Lines per C scanner call in decode_checked_lines: the scanner shares key strings within one
# call, so documents of a block share theirs (less memory per held document, faster batches).
_BLOCK_BYTES = 16 * 1024


def decode_checked_lines(handle: IO[bytes], on_error: Callable[[int, str], None]) -> Iterator[Document]:
    """`decode_lines` for a file that one `decode_lines` pass has just accepted: same documents,
    but a block of lines is parsed as one JSON array per scanner call.

    Only for checked files: joining lines could hide a damaged line (two broken lines may join
    into one valid document). A block that does not parse into one document per line (blank
    lines, damage since the check) goes through `decode_lines` as it is.
    """
    lineno = 0
    readlines = handle.readlines
    while True:
        lines = readlines(_BLOCK_BYTES)
        if not lines:
            return
        first = lineno + 1
        lineno += len(lines)
        try:
            body = b",".join(lines)
            text = "[" + body.decode("utf-8") + "]"
            docs, end = _scan_plain(text, 0)
        except (*UNDECODABLE, StopIteration):  # blank lines (",,") or damage: the exact path decides
            docs, end = None, 0
        if docs is not None and (end != len(text) or len(docs) != len(lines)):
            docs = None
        yield from decode_lines(lines, on_error, first, docs)


def _convert_top_level(value: Any, dollars: int) -> _Shape | None:
    """Convert the top-level wrapper fields of a plainly parsed document in place, if they account
    for `dollars` (every `$` of the line not accounted for yet: no wrapper is left anywhere);
    returns the converted fields, else None."""
    if value.__class__ is not dict:
        return None
    converted = []
    for key, field in value.items():
        if field.__class__ is not dict or len(field) != 1:
            continue
        ((kind, _raw),) = field.items()
        if kind[:1] != "$":
            continue  # a one-field subdocument, not a wrapper
        result = _fast_wrapper(field)
        if result is _NOT_FAST:
            return None
        value[key] = result
        converted.append((key, kind))
    return tuple(converted) if len(converted) == dollars else None


def decode_line(line: bytes) -> Document:
    """One NDJSON line through the export reader's path (`decode_lines`); ValueError if it is bad."""
    def fail(lineno: int, reason: str) -> None:
        raise EJSONError(reason)

    for doc in decode_lines([line], fail):
        return doc
    raise EJSONError("blank line")
