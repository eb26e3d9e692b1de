"""Convert between pymongo's bson types and ours, and a type-exact comparison key (tests only)."""
from __future__ import annotations

import math
import re
import struct
from typing import Any

import bson
import bson.binary
import bson.code
import bson.dbref
import bson.decimal128
import bson.int64
import bson.max_key
import bson.min_key
import bson.objectid
import bson.regex
import bson.timestamp
from bson.codec_options import CodecOptions, DatetimeConversion

from cutover.mongo import values as v

OPTIONS = CodecOptions(datetime_conversion=DatetimeConversion.DATETIME_MS)
_FLAGS = [(re.I, "i"), (re.L, "l"), (re.M, "m"), (re.S, "s"), (re.U, "u"), (re.X, "x")]


def from_pymongo(x: Any) -> Any:
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, bson.int64.Int64):
        return v.Int64(int(x))
    if isinstance(x, bson.code.Code):  # a str subclass: before str
        return v.Code(str(x), None if x.scope is None else from_pymongo(x.scope))
    if isinstance(x, (int, float, str)):
        return x
    if isinstance(x, dict):
        return {k: from_pymongo(val) for k, val in x.items()}
    if isinstance(x, list):
        return [from_pymongo(i) for i in x]
    if isinstance(x, bson.objectid.ObjectId):
        return v.ObjectId(x.binary)
    if isinstance(x, bson.datetime_ms.DatetimeMS):
        return v.DateTime(int(x))
    if isinstance(x, bson.binary.Binary):
        return v.Binary(bytes(x), x.subtype)
    if isinstance(x, bytes):
        return v.Binary(x, 0)
    if isinstance(x, bson.decimal128.Decimal128):
        return v.Decimal128(str(x))
    if isinstance(x, bson.timestamp.Timestamp):
        return v.Timestamp(x.time, x.inc)
    if isinstance(x, bson.regex.Regex):
        flags = x.flags if isinstance(x.flags, str) else "".join(c for f, c in _FLAGS if x.flags & f)
        return v.Regex(x.pattern, flags)
    if isinstance(x, bson.dbref.DBRef):
        return v.DBRef(x.collection, from_pymongo(x.id), x.database, {k: from_pymongo(i) for k, i in x._DBRef__kwargs.items()})
    if isinstance(x, bson.min_key.MinKey):
        return v.MinKey
    if isinstance(x, bson.max_key.MaxKey):
        return v.MaxKey
    raise TypeError(f"unexpected pymongo type {type(x)}")


def to_pymongo(x: Any) -> Any:
    if isinstance(x, bool) or x is None:
        return x
    if isinstance(x, v.Int64):
        return bson.int64.Int64(int(x))
    if isinstance(x, v.Symbol):
        return str(x)
    if isinstance(x, (int, float, str)):
        return x
    if isinstance(x, dict):
        return {k: to_pymongo(val) for k, val in x.items()}
    if isinstance(x, list):
        return [to_pymongo(i) for i in x]
    if isinstance(x, v.ObjectId):
        return bson.objectid.ObjectId(x.binary)
    if isinstance(x, v.DateTime):
        return bson.datetime_ms.DatetimeMS(x.millis)
    if isinstance(x, v.Binary):
        return bson.binary.Binary(x.data, x.subtype)
    if isinstance(x, v.Decimal128):
        return bson.decimal128.Decimal128(x.value)
    if isinstance(x, v.Timestamp):
        return bson.timestamp.Timestamp(x.time, x.inc)
    if isinstance(x, v.Regex):
        return bson.regex.Regex(x.pattern, x.flags)
    if isinstance(x, v.Code):
        return bson.code.Code(x.code, None if x.scope is None else to_pymongo(x.scope))
    if isinstance(x, v.DBRef):
        return bson.dbref.DBRef(x.collection, to_pymongo(x.id), x.database, **to_pymongo(x.extra))
    if x is v.MinKey:
        return bson.min_key.MinKey()
    if x is v.MaxKey:
        return bson.max_key.MaxKey()
    raise TypeError(f"unexpected value type {type(x)}")


def key(x: Any) -> Any:
    """A type-exact, NaN-safe comparison key (1 != 1.0 != Int64(1); -0.0 != 0.0; field order counts)."""
    if isinstance(x, float):
        return ("float", "nan" if math.isnan(x) else struct.pack("<d", x))
    if isinstance(x, dict):
        return ("dict", tuple((k, key(i)) for k, i in x.items()))
    if isinstance(x, list):
        return ("list", tuple(key(i) for i in x))
    if isinstance(x, v.Code):
        return ("code", x.code, None if x.scope is None else key(x.scope))
    if isinstance(x, v.DBRef):
        return ("dbref", x.collection, key(x.id), x.database, key(x.extra))
    return (type(x).__name__, x)


def pymongo_view(x: Any) -> Any:
    """Our value as pymongo can represent it (it reads Undefined as None and DBPointer as DBRef)."""
    if x is v.Undefined:
        return None
    if isinstance(x, v.DBPointer):
        return v.DBRef(x.namespace, x.id, None, {})
    if isinstance(x, v.Symbol):
        return str(x)
    if isinstance(x, dict):
        return {k: pymongo_view(i) for k, i in x.items()}
    if isinstance(x, list):
        return [pymongo_view(i) for i in x]
    if isinstance(x, v.Code):
        return v.Code(x.code, None if x.scope is None else pymongo_view(x.scope))
    if isinstance(x, v.DBRef):
        return v.DBRef(x.collection, pymongo_view(x.id), x.database, pymongo_view(x.extra))
    return x


def pymongo_decode(data: bytes) -> Any:
    return from_pymongo(bson.decode(data, OPTIONS))


def pymongo_encode(doc: Any) -> bytes:
    return bson.encode(to_pymongo(doc))
