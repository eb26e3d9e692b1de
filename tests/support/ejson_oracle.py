"""Conversions between our value types and pymongo's `bson` types: the oracle for EJSON tests."""
from __future__ import annotations

import datetime
import math
import re
import uuid
from typing import Any

import bson
from bson.binary import Binary as PyBinary
from bson.code import Code as PyCode
from bson.datetime_ms import DatetimeMS
from bson.dbref import DBRef as PyDBRef
from bson.decimal128 import Decimal128 as PyDecimal128
from bson.int64 import Int64 as PyInt64
from bson.max_key import MaxKey as PyMaxKey
from bson.min_key import MinKey as PyMinKey
from bson.objectid import ObjectId as PyObjectId
from bson.regex import Regex as PyRegex
from bson.timestamp import Timestamp as PyTimestamp

from cutover.mongo import values as v

_FLAG_LETTERS = [(re.IGNORECASE, "i"), (re.LOCALE, "l"), (re.MULTILINE, "m"), (re.DOTALL, "s"), (re.UNICODE, "u"), (re.VERBOSE, "x")]


def to_pymongo(value: Any) -> Any:
    """Ours -> pymongo (to encode as BSON with `bson.encode`)."""
    if isinstance(value, dict):
        return {k: to_pymongo(x) for k, x in value.items()}
    if isinstance(value, list):
        return [to_pymongo(x) for x in value]
    if isinstance(value, v.Int64):
        return PyInt64(int(value))
    if isinstance(value, v.ObjectId):
        return PyObjectId(value.binary)
    if isinstance(value, v.DateTime):
        return DatetimeMS(value.millis)
    if isinstance(value, v.Decimal128):
        return PyDecimal128(value.value)
    if isinstance(value, v.Binary):
        return PyBinary(value.data, value.subtype)
    if isinstance(value, v.Timestamp):
        return PyTimestamp(value.time, value.inc)
    if isinstance(value, v.Regex):
        return PyRegex(value.pattern, value.flags)
    if isinstance(value, v.Code):
        return PyCode(value.code, None if value.scope is None else to_pymongo(value.scope))
    if isinstance(value, v.DBRef):
        return PyDBRef(value.collection, to_pymongo(value.id), value.database, **to_pymongo(value.extra))
    if isinstance(value, v.DBPointer):
        return PyDBRef(value.namespace, PyObjectId(value.id.binary))
    if isinstance(value, v.Symbol):
        return str(value)
    if value is v.MinKey:
        return PyMinKey()
    if value is v.MaxKey:
        return PyMaxKey()
    if value is v.Undefined:
        return None
    return value


def from_pymongo(value: Any) -> Any:
    """pymongo -> ours (to compare what json_util decoded with what we decoded)."""
    if isinstance(value, dict):
        return {k: from_pymongo(x) for k, x in value.items()}
    if isinstance(value, list):
        return [from_pymongo(x) for x in value]
    if isinstance(value, PyInt64):
        return v.Int64(int(value))
    if isinstance(value, PyCode):  # a str subclass: before the plain types
        return v.Code(str(value), None if value.scope is None else from_pymongo(dict(value.scope)))
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, PyObjectId):
        return v.ObjectId(value.binary)
    if isinstance(value, DatetimeMS):
        return v.DateTime(int(value))
    if isinstance(value, datetime.datetime):
        return v.DateTime.from_datetime(value)
    if isinstance(value, PyDecimal128):
        return v.Decimal128(str(value))
    if isinstance(value, uuid.UUID):
        return v.Binary(value.bytes, 4)
    if isinstance(value, PyBinary):
        return v.Binary(bytes(value), value.subtype)
    if isinstance(value, bytes):
        return v.Binary(value, 0)
    if isinstance(value, PyTimestamp):
        return v.Timestamp(value.time, value.inc)
    if isinstance(value, PyRegex):
        flags = value.flags
        if isinstance(flags, int):
            flags = "".join(letter for bit, letter in _FLAG_LETTERS if flags & bit)
        return v.Regex(value.pattern, "".join(sorted(flags)))
    if isinstance(value, PyCode):
        return v.Code(str(value), None if value.scope is None else from_pymongo(dict(value.scope)))
    if isinstance(value, PyDBRef):
        extra = {k: from_pymongo(x) for k, x in value.as_doc().items() if k not in ("$ref", "$id", "$db")}
        return v.DBRef(value.collection, from_pymongo(value.id), value.database, extra)
    if isinstance(value, PyMinKey):
        return v.MinKey
    if isinstance(value, PyMaxKey):
        return v.MaxKey
    raise TypeError(f"no conversion for {type(value).__name__}")


def comparable(value: Any, strict_ints: bool = True) -> Any:
    """A structure that compares equal exactly when two decoded values are the same BSON value.

    Floats compare by repr (NaN == NaN, -0.0 != 0.0); with `strict_ints` off, Int64 and int
    are the same (relaxed EJSON does not keep the difference).
    """
    if isinstance(value, dict):
        return ("doc", [(k, comparable(x, strict_ints)) for k, x in value.items()])
    if isinstance(value, list):
        return ("list", [comparable(x, strict_ints) for x in value])
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, float):
        return ("float", "nan" if math.isnan(value) else repr(value))
    if isinstance(value, v.Int64):
        return ("int64" if strict_ints else "int", int(value))
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, v.Symbol):
        return ("symbol", str(value))
    if isinstance(value, v.Code):
        return ("code", value.code, None if value.scope is None else comparable(value.scope, strict_ints))
    if isinstance(value, v.DBRef):
        return ("dbref", value.collection, comparable(value.id, strict_ints), value.database, comparable(value.extra, strict_ints))
    return (type(value).__name__, value)


def encode_bson(doc: Any) -> bytes:
    return bson.encode(to_pymongo(doc))
