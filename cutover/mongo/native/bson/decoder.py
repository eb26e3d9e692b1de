"""Strict BSON decoding: every length, terminator and type byte checked; values become `values` types."""
from __future__ import annotations

import struct
from typing import Any, Dict, List, Tuple

from cutover.mongo.native.bson import common as _common
from cutover.mongo.native.bson.common import BSONError
from cutover.mongo.native.bson.decimal128 import decimal128_to_string
from cutover.mongo.values import (
    Binary,
    Code,
    DateTime,
    DBPointer,
    DBRef,
    Decimal128,
    Document,
    Int64,
    MaxKey,
    MinKey,
    ObjectId,
    Regex,
    Symbol,
    Timestamp,
    Undefined,
)

# Bound by assignment, not by import: CPython 3.11+ compiles `name.method()` on a name an import
# bound without its method-call fast path (it expects a module), a bound-method object per call.
_INT32, _INT64, _DOUBLE = _common._INT32, _common._INT64, _common._DOUBLE

def decode(data: bytes) -> Document:
    """One whole BSON document; any trailing or missing byte is an error."""
    view = bytes(data)
    if len(view) < 5:
        raise BSONError("BSON document shorter than 5 bytes")
    (size,) = _INT32.unpack_from(view, 0)
    if size != len(view):
        raise BSONError(f"BSON document length {size} does not match {len(view)} bytes")
    doc, _end = _decode_document(view, 0, top=True)
    return doc


def decode_at(data: bytes, offset: int) -> Tuple[Document, int]:
    """The document starting at `offset` and the offset just after it."""
    return _decode_document(bytes(data), offset, top=True)


def _decode_document(data: bytes, offset: int, top: bool = False) -> Tuple[Document, int]:
    end = _document_end(data, offset)
    pos = offset + 4
    doc: Dict[str, Any] = {}
    while pos < end - 1:
        etype = data[pos]
        name, pos = _cstring(data, pos + 1, end - 1)
        value, pos = _decode_value(etype, data, pos, end - 1)
        doc[name] = value
    if pos != end - 1:
        raise BSONError("BSON element overruns its document")
    if not top:
        return _maybe_dbref(doc), end
    return doc, end


def _decode_array(data: bytes, offset: int) -> Tuple[List[Any], int]:
    end = _document_end(data, offset)
    pos = offset + 4
    items: List[Any] = []
    while pos < end - 1:
        etype = data[pos]
        _name, pos = _cstring(data, pos + 1, end - 1)  # keys "0","1",… are not checked (degenerate forms decode)
        value, pos = _decode_value(etype, data, pos, end - 1)
        items.append(value)
    if pos != end - 1:
        raise BSONError("BSON element overruns its array")
    return items, end


def _document_end(data: bytes, offset: int) -> int:
    if offset + 5 > len(data):
        raise BSONError("truncated BSON document")
    (size,) = _INT32.unpack_from(data, offset)
    end = offset + size
    if size < 5 or end > len(data):
        raise BSONError(f"invalid BSON document length {size}")
    if data[end - 1] != 0:
        raise BSONError("BSON document does not end with a null byte")
    return end


def _maybe_dbref(doc: Document) -> Any:
    # The DBRef convention: $ref (string) and $id, optional $db (string), any other fields kept.
    ref, db = doc.get("$ref"), doc.get("$db", "")
    if isinstance(ref, str) and "$id" in doc and isinstance(db, str):
        extra = {k: v for k, v in doc.items() if k not in ("$ref", "$id", "$db")}
        return DBRef(ref, doc["$id"], doc.get("$db"), extra)
    return doc


def _cstring(data: bytes, pos: int, limit: int) -> Tuple[str, int]:
    nul = data.find(b"\x00", pos, limit)
    if nul < 0:
        raise BSONError("unterminated BSON cstring")
    return _utf8(data[pos:nul]), nul + 1


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BSONError(f"invalid UTF-8 in BSON string: {exc.reason}") from None


def _need(pos: int, n: int, limit: int) -> int:
    if n < 0 or pos + n > limit:
        raise BSONError("BSON value overruns its document")
    return pos + n


def _string(data: bytes, pos: int, limit: int) -> Tuple[str, int]:
    _need(pos, 4, limit)
    (length,) = _INT32.unpack_from(data, pos)
    if length < 1:
        raise BSONError(f"invalid BSON string length {length}")
    end = _need(pos + 4, length, limit)
    if data[end - 1] != 0:
        raise BSONError("BSON string does not end with a null byte")
    return _utf8(data[pos + 4 : end - 1]), end


def _decode_value(etype: int, data: bytes, pos: int, limit: int) -> Tuple[Any, int]:
    if etype == 0x01:
        end = _need(pos, 8, limit)
        return _DOUBLE.unpack_from(data, pos)[0], end
    if etype == 0x02:
        return _string(data, pos, limit)
    if etype == 0x03:
        _need(pos, 5, limit)
        doc, end = _decode_document(data, pos)
        if end > limit + 1:
            raise BSONError("embedded document overruns its parent")
        return doc, end
    if etype == 0x04:
        _need(pos, 5, limit)
        items, end = _decode_array(data, pos)
        if end > limit + 1:
            raise BSONError("embedded array overruns its parent")
        return items, end
    if etype == 0x05:
        return _binary(data, pos, limit)
    if etype == 0x06:
        return Undefined, pos
    if etype == 0x07:
        end = _need(pos, 12, limit)
        return ObjectId(data[pos:end]), end
    if etype == 0x08:
        _need(pos, 1, limit)
        if data[pos] not in (0, 1):
            raise BSONError(f"invalid BSON boolean byte {data[pos]}")
        return data[pos] == 1, pos + 1
    if etype == 0x09:
        end = _need(pos, 8, limit)
        return DateTime(_INT64.unpack_from(data, pos)[0]), end
    if etype == 0x0A:
        return None, pos
    if etype == 0x0B:
        pattern, pos = _cstring(data, pos, limit)
        flags, pos = _cstring(data, pos, limit)
        return Regex(pattern, "".join(sorted(flags))), pos
    if etype == 0x0C:
        namespace, pos = _string(data, pos, limit)
        end = _need(pos, 12, limit)
        return DBPointer(namespace, ObjectId(data[pos:end])), end
    if etype == 0x0D:
        code, end = _string(data, pos, limit)
        return Code(code), end
    if etype == 0x0E:
        text, end = _string(data, pos, limit)
        return Symbol(text), end
    if etype == 0x0F:
        return _code_w_scope(data, pos, limit)
    if etype == 0x10:
        end = _need(pos, 4, limit)
        return _INT32.unpack_from(data, pos)[0], end
    if etype == 0x11:
        end = _need(pos, 8, limit)
        inc, time = struct.unpack_from("<II", data, pos)
        return Timestamp(time, inc), end
    if etype == 0x12:
        end = _need(pos, 8, limit)
        return Int64(_INT64.unpack_from(data, pos)[0]), end
    if etype == 0x13:
        end = _need(pos, 16, limit)
        return Decimal128(decimal128_to_string(data[pos:end])), end
    if etype == 0xFF:
        return MinKey, pos
    if etype == 0x7F:
        return MaxKey, pos
    raise BSONError(f"unknown BSON type 0x{etype:02x}")


def _binary(data: bytes, pos: int, limit: int) -> Tuple[Binary, int]:
    _need(pos, 5, limit)
    (length,) = _INT32.unpack_from(data, pos)
    subtype = data[pos + 4]
    start = pos + 5
    end = _need(start, length, limit)
    if subtype == 0x02:
        # The old binary subtype repeats the length inside the payload.
        if length < 4 or _INT32.unpack_from(data, start)[0] != length - 4:
            raise BSONError("invalid length in old-style binary (subtype 2)")
        return Binary(data[start + 4 : end], subtype), end
    return Binary(data[start:end], subtype), end


def _code_w_scope(data: bytes, pos: int, limit: int) -> Tuple[Code, int]:
    _need(pos, 4, limit)
    (total,) = _INT32.unpack_from(data, pos)
    end = _need(pos, total, limit)
    if total < 14:
        raise BSONError("code with scope too short")
    code, scope_at = _string(data, pos + 4, end)
    # top=True: a scope is a plain document even when it looks like a DBRef.
    scope, scope_end = _decode_document(data, scope_at, top=True)
    if scope_end != end:
        raise BSONError("code with scope length does not match its parts")
    return Code(code, scope), end
