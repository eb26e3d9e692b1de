"""BSON encode (commands) and strict decode (documents) into `cutover.mongo.values` types."""
from __future__ import annotations

import decimal
import struct
from typing import Any, Callable, Dict, List, Mapping, Tuple

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

_INT32 = struct.Struct("<i")
_UINT32 = struct.Struct("<I")
_INT64 = struct.Struct("<q")
_DOUBLE = struct.Struct("<d")
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class BSONError(ValueError):
    """Malformed BSON, or a value that cannot be encoded."""


# ---------------------------------------------------------------- decoding


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


# ---------------------------------------------------------------- decimal128

_D128_BIAS = 6176
_D128_MAX_COEFF = 10**34 - 1


def decimal128_to_string(raw: bytes) -> str:
    """The canonical string of 16 little-endian decimal128 bytes (the spec's to-string algorithm)."""
    low, high = struct.unpack("<QQ", raw)
    negative = bool(high >> 63)
    combination = (high >> 58) & 0x1F
    if combination == 0x1F:
        return "NaN"
    if combination == 0x1E:
        return "-Infinity" if negative else "Infinity"
    if (high >> 61) & 0x3 == 0x3:
        # The "11" form always exceeds the largest coefficient: the value is zero.
        exponent = ((high >> 47) & 0x3FFF) - _D128_BIAS
        coefficient = 0
    else:
        exponent = ((high >> 49) & 0x3FFF) - _D128_BIAS
        coefficient = ((high & 0x1FFFFFFFFFFFF) << 64) | low
        if coefficient > _D128_MAX_COEFF:
            coefficient = 0
    digits = tuple(int(c) for c in str(coefficient))
    # Python's Decimal prints the General Decimal Arithmetic "to-scientific-string", which is
    # exactly the algorithm the BSON decimal128 spec prescribes.
    return str(decimal.Decimal((1 if negative else 0, digits, exponent)))


def decimal128_from_string(text: str) -> bytes:
    """16 little-endian bytes for a decimal string; inexact values are an error (no rounding)."""
    # Python's Decimal also accepts surrounding blanks and digit underscores; BSON does not.
    if text != text.strip() or "_" in text:
        raise BSONError(f"not a decimal128 value: {text!r}")
    try:
        value = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise BSONError(f"not a decimal128 value: {text!r}") from None
    sign, digits, exponent = value.as_tuple()
    high_sign = (1 << 63) if sign else 0
    if value.is_nan():
        if value.is_snan() or digits not in ((), (0,)):
            raise BSONError(f"not a decimal128 value: {text!r}")
        return struct.pack("<QQ", 0, 0x7C00000000000000)
    if value.is_infinite():
        return struct.pack("<QQ", 0, high_sign | 0x7800000000000000)
    coefficient = int("".join(map(str, digits)) or "0")
    exp = int(exponent)
    # Clamp into range without changing the value: pad or strip zeros.
    while exp > 6111 and coefficient != 0 and coefficient * 10 <= _D128_MAX_COEFF:
        coefficient *= 10
        exp -= 1
    while exp < -6176 and coefficient % 10 == 0 and coefficient != 0:
        coefficient //= 10
        exp += 1
    if coefficient == 0:
        exp = min(max(exp, -6176), 6111)
    if coefficient > _D128_MAX_COEFF or not -6176 <= exp <= 6111:
        raise BSONError(f"decimal128 value out of range or inexact: {text!r}")
    biased = exp + _D128_BIAS
    high = high_sign | (biased << 49) | (coefficient >> 64)
    return struct.pack("<QQ", coefficient & 0xFFFFFFFFFFFFFFFF, high)


# ---------------------------------------------------------------- encoding


def encode(doc: Mapping[str, Any]) -> bytes:
    """A BSON document from a mapping of `values` types (field order kept)."""
    out = bytearray()
    _encode_document(out, doc)
    return bytes(out)


def _encode_document(out: bytearray, doc: Mapping[str, Any]) -> None:
    start = len(out)
    out += b"\x00\x00\x00\x00"
    for key, value in doc.items():
        if not isinstance(key, str):
            raise BSONError(f"BSON keys must be strings, got {type(key).__name__}")
        _encode_element(out, key, value)
    out += b"\x00"
    _INT32.pack_into(out, start, len(out) - start)


def _cstring_bytes(text: str) -> bytes:
    raw = text.encode("utf-8")
    if b"\x00" in raw:
        raise BSONError("BSON keys and regexes cannot contain a null byte")
    return raw + b"\x00"


def _string_bytes(text: str) -> bytes:
    raw = text.encode("utf-8")
    return _INT32.pack(len(raw) + 1) + raw + b"\x00"


def _dbref_document(ref: DBRef) -> Document:
    doc: Dict[str, Any] = {"$ref": ref.collection, "$id": ref.id}
    if ref.database is not None:
        doc["$db"] = ref.database
    doc.update(ref.extra)
    return doc


def _encode_element(out: bytearray, key: str, value: Any) -> None:
    name = _cstring_bytes(key)
    for kind, encoder in _ENCODERS:
        if isinstance(value, kind):
            encoder(out, name, value)
            return
    if value is None:
        out += b"\x0a" + name
    elif value is MinKey:
        out += b"\xff" + name
    elif value is MaxKey:
        out += b"\x7f" + name
    elif value is Undefined:
        out += b"\x06" + name
    else:
        raise BSONError(f"cannot encode {type(value).__name__} as BSON")


def _enc_bool(out: bytearray, name: bytes, value: bool) -> None:
    out += b"\x08" + name + (b"\x01" if value else b"\x00")


def _enc_int64(out: bytearray, name: bytes, value: int) -> None:
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise BSONError(f"integer {value} does not fit in int64")
    out += b"\x12" + name + _INT64.pack(value)


def _enc_int(out: bytearray, name: bytes, value: int) -> None:
    if _INT32_MIN <= value <= _INT32_MAX:
        out += b"\x10" + name + _INT32.pack(value)
    else:
        _enc_int64(out, name, value)


def _enc_float(out: bytearray, name: bytes, value: float) -> None:
    out += b"\x01" + name + _DOUBLE.pack(value)


def _enc_symbol(out: bytearray, name: bytes, value: Symbol) -> None:
    out += b"\x0e" + name + _string_bytes(str(value))


def _enc_str(out: bytearray, name: bytes, value: str) -> None:
    out += b"\x02" + name + _string_bytes(value)


def _enc_dict(out: bytearray, name: bytes, value: Mapping[str, Any]) -> None:
    out += b"\x03" + name
    _encode_document(out, value)


def _enc_list(out: bytearray, name: bytes, value: Any) -> None:
    out += b"\x04" + name
    _encode_document(out, {str(i): item for i, item in enumerate(value)})


def _enc_binary(out: bytearray, name: bytes, value: Binary) -> None:
    data = bytes(value.data)
    if value.subtype == 0x02:
        data = _INT32.pack(len(data)) + data
    out += b"\x05" + name + _INT32.pack(len(data)) + bytes([value.subtype]) + data


def _enc_bytes(out: bytearray, name: bytes, value: bytes) -> None:
    _enc_binary(out, name, Binary(bytes(value), 0))


def _enc_oid(out: bytearray, name: bytes, value: ObjectId) -> None:
    out += b"\x07" + name + value.binary


def _enc_datetime(out: bytearray, name: bytes, value: DateTime) -> None:
    out += b"\x09" + name + _INT64.pack(value.millis)


def _enc_regex(out: bytearray, name: bytes, value: Regex) -> None:
    out += b"\x0b" + name + _cstring_bytes(value.pattern) + _cstring_bytes(value.flags)


def _enc_dbpointer(out: bytearray, name: bytes, value: DBPointer) -> None:
    out += b"\x0c" + name + _string_bytes(value.namespace) + value.id.binary


def _enc_code(out: bytearray, name: bytes, value: Code) -> None:
    if value.scope is None:
        out += b"\x0d" + name + _string_bytes(value.code)
        return
    body = bytearray(_string_bytes(value.code))
    _encode_document(body, value.scope)
    out += b"\x0f" + name + _INT32.pack(len(body) + 4) + body


def _enc_timestamp(out: bytearray, name: bytes, value: Timestamp) -> None:
    out += b"\x11" + name + struct.pack("<II", value.inc, value.time)


def _enc_decimal(out: bytearray, name: bytes, value: Decimal128) -> None:
    out += b"\x13" + name + decimal128_from_string(value.value)


def _enc_dbref(out: bytearray, name: bytes, value: DBRef) -> None:
    _enc_dict(out, name, _dbref_document(value))


# Order matters: bool before int, Int64 before int, Symbol before str.
_ENCODERS: Tuple[Tuple[type, Callable[[bytearray, bytes, Any], None]], ...] = (
    (bool, _enc_bool),
    (Int64, _enc_int64),
    (int, _enc_int),
    (float, _enc_float),
    (Symbol, _enc_symbol),
    (str, _enc_str),
    (dict, _enc_dict),
    ((list, tuple), _enc_list),  # type: ignore[arg-type]
    (Binary, _enc_binary),
    ((bytes, bytearray), _enc_bytes),  # type: ignore[arg-type]
    (ObjectId, _enc_oid),
    (DateTime, _enc_datetime),
    (Regex, _enc_regex),
    (DBPointer, _enc_dbpointer),
    (Code, _enc_code),
    (Timestamp, _enc_timestamp),
    (Decimal128, _enc_decimal),
    (DBRef, _enc_dbref),
)

__all__ = ["BSONError", "decode", "decode_at", "encode", "decimal128_to_string", "decimal128_from_string"]
