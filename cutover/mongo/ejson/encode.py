"""Values to Extended JSON v2: canonical (Data API filters, checkpoints) or relaxed (readable)."""
from __future__ import annotations

import datetime as _dt
import json
import math
from typing import Any, Callable, Dict

from cutover.mongo.ejson.common import _INT32_MAX, _INT32_MIN
from cutover.mongo.values import (
    Binary,
    Code,
    DateTime,
    DBPointer,
    DBRef,
    Decimal128,
    Int64,
    MaxKey,
    MinKey,
    ObjectId,
    Regex,
    Symbol,
    Timestamp,
    Undefined,
)


def _encode_double(value: float) -> Dict[str, str]:
    if math.isnan(value):
        return {"$numberDouble": "NaN"}
    if math.isinf(value):
        return {"$numberDouble": "Infinity" if value > 0 else "-Infinity"}
    text = repr(value)
    if "e" not in text and "." not in text:
        text += ".0"
    return {"$numberDouble": text.replace("e+", "E+").replace("e-", "E-")}


def _dbref(value: DBRef, convert: Callable[[Any], Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {"$ref": value.collection, "$id": convert(value.id)}
    if value.database is not None:
        out["$db"] = value.database
    out.update((k, convert(v)) for k, v in value.extra.items())
    return out


def to_canonical(value: Any) -> Any:
    """`value` as a plain JSON structure in canonical Extended JSON v2."""
    if value is None or isinstance(value, (bool, str)) and not isinstance(value, Symbol):
        return value
    if isinstance(value, Int64):
        return {"$numberLong": str(int(value))}
    if isinstance(value, int):
        if _INT32_MIN <= value <= _INT32_MAX:
            return {"$numberInt": str(value)}
        return {"$numberLong": str(value)}
    if isinstance(value, float):
        return _encode_double(value)
    if isinstance(value, dict):
        return {k: to_canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_canonical(v) for v in value]
    if isinstance(value, ObjectId):
        return {"$oid": value.hex}
    if isinstance(value, DateTime):
        return {"$date": {"$numberLong": str(value.millis)}}
    if isinstance(value, Decimal128):
        return {"$numberDecimal": value.value}
    if isinstance(value, Binary):
        return {"$binary": {"base64": value.b64(), "subType": f"{value.subtype:02x}"}}
    if isinstance(value, Timestamp):
        return {"$timestamp": {"t": value.time, "i": value.inc}}
    if isinstance(value, Regex):
        return {"$regularExpression": {"pattern": value.pattern, "options": value.flags}}
    if isinstance(value, Symbol):
        return {"$symbol": str(value)}
    if isinstance(value, Code):
        if value.scope is None:
            return {"$code": value.code}
        return {"$code": value.code, "$scope": to_canonical(value.scope)}
    if isinstance(value, DBRef):
        return _dbref(value, to_canonical)
    if isinstance(value, DBPointer):
        return {"$dbPointer": {"$ref": value.namespace, "$id": {"$oid": value.id.hex}}}
    if value is MinKey:
        return {"$minKey": 1}
    if value is MaxKey:
        return {"$maxKey": 1}
    if value is Undefined:
        return {"$undefined": True}
    if isinstance(value, _dt.datetime):
        return to_canonical(DateTime.from_datetime(value))
    raise TypeError(f"cannot encode {type(value).__name__} as Extended JSON")


def to_relaxed(value: Any) -> Any:
    """`value` as relaxed Extended JSON v2: plain JSON numbers, ISO dates for years 1970-9999."""
    if value is None or isinstance(value, (bool, str)) and not isinstance(value, Symbol):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else _encode_double(value)
    if isinstance(value, dict):
        return {k: to_relaxed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_relaxed(v) for v in value]
    if isinstance(value, DateTime) and 0 <= value.millis <= 253402300799999:
        return {"$date": value.iso()}
    if isinstance(value, Code) and value.scope is not None:
        return {"$code": value.code, "$scope": to_relaxed(value.scope)}
    if isinstance(value, DBRef):
        return _dbref(value, to_relaxed)
    return to_canonical(value)


def dumps(value: Any, relaxed: bool = False) -> str:
    """Extended JSON v2 text of `value` (canonical unless `relaxed`; compact, key order kept)."""
    plain = to_relaxed(value) if relaxed else to_canonical(value)
    return json.dumps(plain, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
