"""The wrapper decoders: each Extended JSON wrapper (v2 canonical and relaxed, legacy v1) to its
`values` type, and `object_hook`, which `json` calls for every decoded object."""
from __future__ import annotations

import base64
import binascii
import decimal
import math
import re
from typing import Any, Callable, Dict

from cutover.mongo.ejson.common import (
    _INT32_MAX,
    _INT32_MIN,
    _INT64_MAX,
    _INT64_MIN,
    _UINT32_MAX,
    EJSONError,
    _fail,
    _is_int,
    _only,
    _short,
)
from cutover.mongo.ejson.dates import _export_date_millis, _parse_date
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

_INT_RE = re.compile(r"-?[0-9]+", re.ASCII)
_DOUBLE_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_DECIMAL_RE = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan|snan)", re.ASCII | re.IGNORECASE
)
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)

# The decimal128 value space (IEEE 754-2008, 34 digits); Inexact/Overflow mean "cannot
# be represented", which the spec treats as a parse error rather than a silent rounding.
_DEC128 = decimal.Context(
    prec=34,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-6143,
    Emax=6144,
    capitals=1,
    clamp=1,
    traps=[decimal.InvalidOperation, decimal.Overflow, decimal.Inexact],
)


# -- numbers --------------------------------------------------------------------------


def _parse_int32(doc: Dict[str, Any]) -> int:
    value = _only(doc, "$numberInt")
    if not isinstance(value, str) or not _INT_RE.fullmatch(value):
        raise _fail("$numberInt", doc, "expected a decimal integer string")
    number = int(value)
    if not _INT32_MIN <= number <= _INT32_MAX:
        raise _fail("$numberInt", doc, "outside the int32 range")
    return number


def _parse_int64(doc: Dict[str, Any]) -> Int64:
    value = _only(doc, "$numberLong")
    if not isinstance(value, str) or not _INT_RE.fullmatch(value):
        raise _fail("$numberLong", doc, "expected a decimal integer string")
    number = int(value)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise _fail("$numberLong", doc, "outside the int64 range")
    return Int64(number)


def _parse_double(doc: Dict[str, Any]) -> float:
    value = _only(doc, "$numberDouble")
    if not isinstance(value, str):
        raise _fail("$numberDouble", doc, "expected a string")
    if value in ("NaN", "Infinity", "-Infinity"):
        return float(value)
    if not _DOUBLE_RE.fullmatch(value):
        raise _fail("$numberDouble", doc, "not a number")
    number = float(value)
    if math.isinf(number):
        raise _fail("$numberDouble", doc, "outside the double range")
    return number


def canonical_decimal128(text: str) -> str:
    """The canonical string of a decimal128 literal; EJSONError if it is not one exactly."""
    if not _DECIMAL_RE.fullmatch(text):
        raise EJSONError(f"bad $numberDecimal (not a decimal number): {_short(text)}")
    try:
        value = _DEC128.create_decimal(text)
    except decimal.DecimalException:
        raise EJSONError(f"bad $numberDecimal (not representable in 128 bits without rounding): {_short(text)}") from None
    if value.is_nan():
        return "NaN"
    return str(value)


def _parse_decimal(doc: Dict[str, Any]) -> Decimal128:
    value = _only(doc, "$numberDecimal")
    if not isinstance(value, str):
        raise _fail("$numberDecimal", doc, "expected a string")
    return Decimal128(canonical_decimal128(value))


# -- identifiers, binary, misc ------------------------------------------------------------


def _parse_oid(doc: Dict[str, Any]) -> ObjectId:
    value = _only(doc, "$oid")
    if not isinstance(value, str) or len(value) != 24:
        raise _fail("$oid", doc, "expected 24 hex digits")
    try:
        return ObjectId(bytes.fromhex(value))
    except ValueError:
        raise _fail("$oid", doc, "expected 24 hex digits") from None


def _b64(text: Any, doc: Any, kind: str) -> bytes:
    if not isinstance(text, str):
        raise _fail(kind, doc, "base64 payload must be a string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _fail(kind, doc, "invalid base64") from None


def _parse_binary(doc: Dict[str, Any]) -> Binary:
    if "$type" in doc:  # legacy v1: {"$binary": "<b64>", "$type": "<hex>"}
        if len(doc) != 2:
            raise _fail("$binary", doc, "extra fields")
        kind = doc["$type"]
        if _is_int(kind):
            subtype = kind
        elif isinstance(kind, str) and kind and len(kind) <= 8 and all(c in "0123456789abcdefABCDEF" for c in kind):
            subtype = int(kind, 16)
            if subtype >= 0xFFFFFF80:  # old mongoexport sign-extended user subtypes
                subtype &= 0xFF
        else:
            raise _fail("$binary", doc, "$type must be a hex string")
        if not 0 <= subtype <= 0xFF:
            raise _fail("$binary", doc, "subtype out of range")
        return Binary(_b64(doc["$binary"], doc, "$binary"), subtype)
    inner = _only(doc, "$binary")
    if not isinstance(inner, dict) or set(inner) != {"base64", "subType"}:
        raise _fail("$binary", doc, 'expected {"base64": ..., "subType": ...}')
    subtype_hex = inner["subType"]
    if not isinstance(subtype_hex, str) or not 1 <= len(subtype_hex) <= 2:
        raise _fail("$binary", doc, "subType must be 1-2 hex digits")
    try:
        subtype = int(subtype_hex, 16)
    except ValueError:
        raise _fail("$binary", doc, "subType must be 1-2 hex digits") from None
    return Binary(_b64(inner["base64"], doc, "$binary"), subtype)


def _parse_uuid(doc: Dict[str, Any]) -> Binary:
    value = _only(doc, "$uuid")
    if not isinstance(value, str) or not _UUID_RE.fullmatch(value):
        raise _fail("$uuid", doc, "expected 8-4-4-4-12 hex digits")
    return Binary(bytes.fromhex(value.replace("-", "")), 4)


def _parse_timestamp(doc: Dict[str, Any]) -> Timestamp:
    inner = _only(doc, "$timestamp")
    if not isinstance(inner, dict) or set(inner) != {"t", "i"}:
        raise _fail("$timestamp", doc, 'expected {"t": ..., "i": ...}')
    t, i = inner["t"], inner["i"]
    if not (_is_int(t) and _is_int(i) and 0 <= t <= _UINT32_MAX and 0 <= i <= _UINT32_MAX):
        raise _fail("$timestamp", doc, "t and i must be unsigned 32-bit integers")
    return Timestamp(int(t), int(i))


def _regex(pattern: Any, options: Any, doc: Any, kind: str) -> Regex:
    if not isinstance(pattern, str) or not isinstance(options, str):
        raise _fail(kind, doc, "pattern and options must be strings")
    if "\x00" in pattern or "\x00" in options:
        raise _fail(kind, doc, "NUL byte")
    return Regex(pattern, "".join(sorted(options)))  # BSON stores options sorted


def _parse_regular_expression(doc: Dict[str, Any]) -> Regex:
    inner = _only(doc, "$regularExpression")
    if not isinstance(inner, dict) or set(inner) != {"pattern", "options"}:
        raise _fail("$regularExpression", doc, 'expected {"pattern": ..., "options": ...}')
    return _regex(inner["pattern"], inner["options"], doc, "$regularExpression")


def _parse_legacy_regex(doc: Dict[str, Any]) -> Any:
    pattern = doc["$regex"]
    if not isinstance(pattern, str):
        return doc  # the $regex query operator, e.g. {"$regex": {"$regularExpression": ...}}
    if any(k not in ("$regex", "$options") for k in doc):
        raise _fail("$regex", doc, "extra fields")
    return _regex(pattern, doc.get("$options", ""), doc, "$regex")


def _parse_code(doc: Dict[str, Any]) -> Code:
    if any(k not in ("$code", "$scope") for k in doc):
        raise _fail("$code", doc, "extra fields")
    code = doc["$code"]
    if not isinstance(code, str):
        raise _fail("$code", doc, "code must be a string")
    scope = doc.get("$scope")
    if "$scope" in doc and not isinstance(scope, dict):
        raise _fail("$code", doc, "$scope must be a document")
    return Code(code, scope)


def _parse_symbol(doc: Dict[str, Any]) -> Symbol:
    value = _only(doc, "$symbol")
    if not isinstance(value, str):
        raise _fail("$symbol", doc, "expected a string")
    return Symbol(value)


def _key_one(name: str, result: Any) -> Callable[[Dict[str, Any]], Any]:
    def parse(doc: Dict[str, Any]) -> Any:
        value = _only(doc, name)
        if not (_is_int(value) and value == 1):
            raise _fail(name, doc, "value must be 1")
        return result

    return parse


def _parse_undefined(doc: Dict[str, Any]) -> Any:
    if _only(doc, "$undefined") is not True:
        raise _fail("$undefined", doc, "value must be true")
    return Undefined


def _parse_dbref(doc: Dict[str, Any]) -> Any:
    ref, db = doc["$ref"], doc.get("$db")
    if not (isinstance(ref, str) and "$id" in doc and (db is None or isinstance(db, str))):
        return doc  # a document that merely has a "$ref" field, as pymongo treats it
    extra = {k: v for k, v in doc.items() if k not in ("$ref", "$id", "$db")}
    return DBRef(ref, doc["$id"], db, extra)


def _parse_dbpointer(doc: Dict[str, Any]) -> DBPointer:
    inner = _only(doc, "$dbPointer")
    # the inner {"$ref", "$id"} was already turned into a DBRef by the hook (bottom-up)
    if not isinstance(inner, DBRef) or inner.database is not None or inner.extra or not isinstance(inner.id, ObjectId):
        raise _fail("$dbPointer", doc, 'expected {"$ref": <string>, "$id": {"$oid": ...}}')
    return DBPointer(inner.collection, inner.id)


_PARSERS: Dict[str, Callable[[Dict[str, Any]], Any]] = {
    "$oid": _parse_oid,
    "$date": _parse_date,
    "$numberLong": _parse_int64,
    "$numberInt": _parse_int32,
    "$numberDouble": _parse_double,
    "$numberDecimal": _parse_decimal,
    "$binary": _parse_binary,
    "$uuid": _parse_uuid,
    "$timestamp": _parse_timestamp,
    "$regularExpression": _parse_regular_expression,
    "$regex": _parse_legacy_regex,
    "$code": _parse_code,
    "$symbol": _parse_symbol,
    "$minKey": _key_one("$minKey", MinKey),
    "$maxKey": _key_one("$maxKey", MaxKey),
    "$undefined": _parse_undefined,
    "$ref": _parse_dbref,
    "$dbPointer": _parse_dbpointer,
}
_WRAPPER_KEYS = frozenset(_PARSERS)


_new = object.__new__
# frozen dataclasses with slots, built by hand in the hot paths: the slot is set directly
_set_millis = DateTime.__dict__["millis"].__set__
_set_binary = ObjectId.__dict__["binary"].__set__


_NOT_FAST = object()


def _fast_wrapper(wrapper: Dict[str, Any]) -> Any:
    """A one-key `$date`/`$oid`/`$numberLong` wrapper in the form exports write, else _NOT_FAST.

    Built directly (no dataclass __init__): this runs millions of times per export. Anything
    unusual is left to the full parsers, which also explain what is wrong.
    """
    ((key, value),) = wrapper.items()
    if value.__class__ is not str:
        return _NOT_FAST
    if key == "$date":
        millis = _export_date_millis(value)
        if millis is None:
            return _NOT_FAST
        date = _new(DateTime)
        _set_millis(date, millis)
        return date
    if key == "$oid" and len(value) == 24:
        try:
            binary = bytes.fromhex(value)
        except ValueError:
            return _NOT_FAST
        if len(binary) == 12:
            oid = _new(ObjectId)
            _set_binary(oid, binary)
            return oid
    elif key == "$numberLong" and value.isdigit() and value.isascii() and len(value) < 19:
        return Int64(value)  # under 19 digits: inside the int64 range
    return _NOT_FAST


def object_hook(doc: Dict[str, Any]) -> Any:
    """`json` object hook: a wrapper dict becomes its value type, any other dict is kept."""
    if _WRAPPER_KEYS.isdisjoint(doc):
        return doc
    if len(doc) == 1:
        fast = _fast_wrapper(doc)
        if fast is not _NOT_FAST:
            return fast
    for key in doc:
        parser = _PARSERS.get(key)
        if parser is not None:
            return parser(doc)
    return doc  # pragma: no cover - isdisjoint said a wrapper key is present
