"""Mongo values -> JSON text exactly as JavaScript's `JSON.stringify` prints it.

The single source of truth for "what a Worker would have stored": backfill-kv writes with
it, verify and drill compare with it. Plain JSON types follow ECMAScript exactly (number
formatting, string escapes, integer-like keys first). BSON types get the form the Worker
saw through the JS driver, or a documented JSON form where JS has none:

| Mongo type | JSON |
|---|---|
| DateTime | ISO-8601 string (`Date.prototype.toJSON`); outside JS's date range -> null |
| ObjectId | 24-hex string |
| Int64, int | integer digits (exact, also beyond 2^53) |
| float NaN / ±Infinity | null; -0.0 -> 0 |
| Decimal128 | string, e.g. "1.10" |
| Binary | base64 string (js-bson `Binary.toJSON`); UUID (subtype 3/4, 16 bytes) -> "8-4-4-4-12" hex |
| Symbol | string |
| Undefined | null (js-bson reads BSON undefined as null) |
| Regex | {"$regularExpression": {"pattern": p, "options": o}} |
| Timestamp | {"$timestamp": {"t": t, "i": i}} |
| Code | {"$code": c} (+ "$scope") |
| DBRef | {"$ref": coll, "$id": id} (+ "$db", extra fields) |
| DBPointer | {"$dbPointer": {"$ref": ns, "$id": hex}} |
| MinKey / MaxKey | {"$minKey": 1} / {"$maxKey": 1} |
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Callable, Dict, List

from cutover.mongo import values as v

# ECMAScript: Date values are valid within ±8.64e15 ms of the epoch; toJSON gives null beyond.
_JS_DATE_LIMIT_MS = 8_640_000_000_000_000
_MAX_ARRAY_INDEX = 2**32 - 2
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_SURROGATE_PAIR_OR_LONE = re.compile("[\ud800-\udbff][\udc00-\udfff]|[\ud800-\udfff]")


def js_number(value: float) -> str:
    """A double as ECMAScript Number::toString prints it (shortest round-trip digits)."""
    if math.isnan(value) or math.isinf(value):
        return "null"  # JSON.stringify's rule for non-finite numbers
    if value == 0:
        return "0"  # also for -0
    sign = "-" if value < 0 else ""
    # repr is the shortest round-tripping representation, the same digits ECMAScript picks.
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    int_part, _, frac_part = mantissa.partition(".")
    if frac_part == "0":
        frac_part = ""
    digits = (int_part + frac_part).lstrip("0")
    # n: position of the decimal point relative to the first significant digit.
    n = len(int_part.lstrip("0")) if int_part.strip("0") else -(len(frac_part) - len(frac_part.lstrip("0")))
    n += int(exp_text or 0)
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return sign + text


def _escape_surrogates(match: re.Match[str]) -> str:
    # A high+low pair is one character in JavaScript's UTF-16 strings; a lone one is escaped.
    text = match.group(0)
    return combine_pair(text) if len(text) == 2 else f"\\u{ord(text):04x}"


def combine_pair(pair: str) -> str:
    return chr(0x10000 + ((ord(pair[0]) - 0xD800) << 10) + (ord(pair[1]) - 0xDC00))


def combine_surrogate_pairs(text: str) -> str:
    """Python can hold a UTF-16 surrogate pair as two code points; JavaScript sees one character."""
    if not _LONE_SURROGATE.search(text):
        return text
    return _SURROGATE_PAIR.sub(lambda m: combine_pair(m.group(0)), text)


def js_string(text: str) -> str:
    """A JSON string literal as JSON.stringify writes it (non-ASCII kept, lone surrogates escaped)."""
    out = json.dumps(text, ensure_ascii=False)
    if _LONE_SURROGATE.search(out):
        out = _SURROGATE_PAIR_OR_LONE.sub(_escape_surrogates, out)
    return out


def _is_array_index(key: str) -> bool:
    # JS objects list "array index" keys first, ascending; then the rest in insertion order.
    return key.isdigit() and key.isascii() and (key == "0" or key[0] != "0") and int(key) <= _MAX_ARRAY_INDEX


def js_key_order(keys: List[str]) -> List[str]:
    """Object keys in the order JavaScript enumerates them."""
    indices = sorted((k for k in keys if _is_array_index(k)), key=int)
    if not indices:
        return keys
    return indices + [k for k in keys if not _is_array_index(k)]


def uuid_text(data: bytes) -> str:
    h = data.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def to_plain(value: Any) -> Any:
    """The JSON-compatible Python value a BSON value becomes (see the module table)."""
    converter = _CONVERTERS.get(type(value))
    if converter is not None:
        return converter(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value
    if isinstance(value, dict):
        return {str(k): to_plain(item) for k, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if value is v.Undefined:
        return None
    if value is v.MinKey:
        return {"$minKey": 1}
    if value is v.MaxKey:
        return {"$maxKey": 1}
    raise TypeError(f"cannot convert {type(value).__name__} to JSON")


def _date(value: v.DateTime) -> str | None:
    if abs(value.millis) > _JS_DATE_LIMIT_MS:
        return None
    return value.iso()


def _binary(value: v.Binary) -> str:
    return uuid_text(value.data) if value.as_uuid() is not None else value.b64()


def _code(value: v.Code) -> Dict[str, Any]:
    out: Dict[str, Any] = {"$code": value.code}
    if value.scope is not None:
        out["$scope"] = to_plain(value.scope)
    return out


def _dbref(value: v.DBRef) -> Dict[str, Any]:
    out: Dict[str, Any] = {"$ref": value.collection, "$id": to_plain(value.id)}
    if value.database is not None:
        out["$db"] = value.database
    for key, item in value.extra.items():
        out[key] = to_plain(item)
    return out


_CONVERTERS: Dict[type, Callable[[Any], Any]] = {
    v.DateTime: _date,
    v.ObjectId: lambda x: x.hex,
    v.Int64: int,
    v.Decimal128: lambda x: x.value,
    v.Binary: _binary,
    v.Symbol: str,
    v.Regex: lambda x: {"$regularExpression": {"pattern": x.pattern, "options": x.flags}},
    v.Timestamp: lambda x: {"$timestamp": {"t": x.time, "i": x.inc}},
    v.Code: _code,
    v.DBRef: _dbref,
    v.DBPointer: lambda x: {"$dbPointer": {"$ref": x.namespace, "$id": x.id.hex}},
}


def stringify(value: Any) -> str:
    """Compact JSON of a Mongo value, byte-for-byte as `JSON.stringify` would print it."""
    fast = _plain_json(value)
    if fast is not None:
        return fast
    slow = [False]
    plain = _ready(value, slow)
    if slow[0]:
        parts: List[str] = []
        _write(plain, parts.append)
        return "".join(parts)
    # Everything left prints identically through the C encoder (see `_ready`).
    out = json.dumps(plain, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if _LONE_SURROGATE.search(out):
        out = _SURROGATE_PAIR_OR_LONE.sub(_escape_surrogates, out)
    return out


def _ready(value: Any, slow: List[bool]) -> Any:
    """`to_plain` plus what makes json.dumps print as JavaScript: keys in JS order, NaN -> None,
    integral floats as ints; `slow[0]` is set when a float needs an exponent (JS and Python
    write those differently), so the caller uses the pure-Python writer."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        if value != value or value in (math.inf, -math.inf):
            return None
        if value.is_integer() and abs(value) < 1e16:
            return int(value)  # below 1e16 both print the exact integer
        if "e" in repr(value):
            slow[0] = True
        return value
    if kind is dict:
        if not all(type(k) is str for k in value):
            value = {str(k): item for k, item in value.items()}
        keys = list(value)
        if any(k[:1].isdigit() for k in keys):
            keys = js_key_order(keys)
        return {k: _ready(value[k], slow) for k in keys}
    if kind is list:
        return [_ready(item, slow) for item in value]
    return _ready(to_plain(value), slow)


def _write(value: Any, out: Callable[[str], Any]) -> None:
    if value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif isinstance(value, str):
        out(js_string(value))
    elif isinstance(value, int):
        out(str(value))
    elif isinstance(value, float):
        out(js_number(value))
    elif isinstance(value, dict):
        out("{")
        first = True
        for key in js_key_order(list(value)):
            if not first:
                out(",")
            first = False
            out(js_string(key))
            out(":")
            _write(value[key], out)
        out("}")
    else:  # list
        out("[")
        for i, item in enumerate(value):
            if i:
                out(",")
            _write(item, out)
        out("]")


def _plain_json(value: Any) -> str | None:
    """Fastest path: plain trees whose Python and JS spellings agree go straight to the C
    encoder, with no copy (most documents); else None."""
    if _json_safe(value):
        if _C_ENCODE is not None:
            return "".join(_C_ENCODE(value, 0))
        return _JSON_ENCODER.encode(value)
    return None


_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _c_encoder() -> Any:
    # JSONEncoder.encode builds its C encoder on every call (half the cost for small values);
    # build the same one once. The values are trees (no cycle check needed).
    try:
        from json import encoder as _json_encoder

        make = getattr(_json_encoder, "c_make_encoder", None)
        if make is None:
            return None
        encode = make(None, None, _json_encoder.encode_basestring, None, ":", ",", False, False, True)
        return encode if "".join(encode({"a": [1, "é\n"]}, 0)) == '{"a":[1,"é\\n"]}' else None
    except Exception:  # noqa: BLE001 - an interpreter without the C accelerator: use the slow path
        return None


_C_ENCODE = _c_encoder()
_DIGITS = frozenset("0123456789")


def _json_safe(value: Any) -> bool:
    """Only plain JSON whose Python and JavaScript spellings agree (iterative: no call per node)."""
    stack = [value]
    pop = stack.pop
    push = stack.append
    while stack:
        item = pop()
        kind = type(item)
        if kind is str:
            if not item.isascii() and _LONE_SURROGATE.search(item):
                return False
        elif kind is dict:
            for key, child in item.items():
                # JS lists integer-like keys first; leave such objects to jsvalue
                if type(key) is not str or (key and key[0] in _DIGITS):
                    return False
                if not key.isascii() and _LONE_SURROGATE.search(key):
                    return False
                push(child)
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            # repr switches to exponents outside [1e-4, 1e16) and prints '3.0' for 3; JS does not
            if not (1e-4 <= abs(item) < 1e16) or item.is_integer():
                return False
        elif not (kind is int or kind is bool or item is None):
            return False
    return True
