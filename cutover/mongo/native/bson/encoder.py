"""BSON encoding of a mapping of `values` types (commands to the server; field order kept)."""
from __future__ import annotations

import struct
from typing import Any, Callable, Dict, Mapping, Tuple

from cutover.mongo.native.bson.common import (  # commands only, a few per batch: no hot path here
    _DOUBLE,
    _INT32,
    _INT32_MAX,
    _INT32_MIN,
    _INT64,
    _INT64_MAX,
    _INT64_MIN,
    BSONError,
)
from cutover.mongo.native.bson.decimal128 import decimal128_from_string
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
