"""MongoDB Extended JSON (v2 canonical and relaxed, legacy v1) decoding into `values` types.

`loads(text)` is `json.loads` with an object hook: dicts without a `$`-key are returned
untouched (one C-level set test), wrapper dicts become value types. `dumps` writes canonical
EJSON v2 (for Data API filters, checkpoints and tests).
"""
from __future__ import annotations

import base64
import binascii
import datetime as _dt
import decimal
import json
import math
import re
from typing import IO, Any, Callable, Dict, Iterable, Iterator, List, Tuple

from cutover.core.timespec import iso_millis
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


class EJSONError(ValueError):
    """Input is JSON but not valid Extended JSON (bad wrapper, out of range value)."""


_INT_RE = re.compile(r"-?[0-9]+", re.ASCII)
_DOUBLE_RE = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_DECIMAL_RE = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan|snan)", re.ASCII | re.IGNORECASE
)
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", re.ASCII)
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT32_MAX = 2**32 - 1

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


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 120 else text[:117] + "..."


def _fail(kind: str, doc: Any, why: str) -> EJSONError:
    return EJSONError(f"bad {kind} ({why}): {_short(doc)}")


def _only(doc: Dict[str, Any], key: str) -> Any:
    if len(doc) != 1:
        raise _fail(key, doc, "extra fields")
    return doc[key]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- dates ----------------------------------------------------------------------------


def parse_iso_millis(text: str) -> int:
    """Milliseconds since the epoch for an ISO-8601 date-time; no offset means UTC (as pymongo)."""
    try:
        return iso_millis(text)
    except ValueError as exc:
        raise EJSONError(f"bad $date ({exc}): {_short(text)}") from None


_EPOCH_NAIVE = _dt.datetime(1970, 1, 1)
_ONE_MS = _dt.timedelta(milliseconds=1)
_fromisoformat = _dt.datetime.fromisoformat


def _parse_iso_date(text: str) -> DateTime:
    # Fast path for what mongoexport writes (`…:SS.mmmZ` / `…:SSZ`): C-level parsing and
    # range checks; anything else (offsets, other precisions) takes the general parser.
    size = len(text)
    if (size == 24 and text[19] == "." or size == 20) and text[-1] == "Z" and text[10] == "T" and text[7] == "-" and text[4] == "-":
        try:
            return DateTime((_fromisoformat(text[:-1]) - _EPOCH_NAIVE) // _ONE_MS)
        except (ValueError, TypeError):  # TypeError: an offset slipped in (aware - naive)
            pass
    return DateTime(parse_iso_millis(text))


def _parse_date(doc: Dict[str, Any]) -> DateTime:
    value = _only(doc, "$date")
    if isinstance(value, str):
        return _parse_iso_date(value)
    # {"$numberLong": "..."} arrives already decoded as Int64; a bare integer is the legacy
    # v1 form (mongoexport < 2.6 wrote {"$date": <ms>}), which we accept deliberately.
    if _is_int(value):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise _fail("$date", doc, "outside the int64 range")
        return DateTime(int(value))
    raise _fail("$date", doc, "expected an ISO string, {$numberLong} or milliseconds")


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

# The fast `$date` path: dates in an export cluster in time, so the epoch millis of each minute
# ("YYYY-MM-DDTHH:MM") is remembered once fromisoformat has accepted a date in it; seconds and
# millis then come from two exact lookups. Bounded: cleared when full (the working set of an
# export in file order is a few minutes).
_MINUTES: Dict[str, int] = {}
_MINUTES_MAX = 4096
_SECONDS_MS = {f":{s:02d}.": s * 1000 for s in range(60)}  # ":SS." -> ms (no leap second 60)
_MILLIS_Z = {f"{ms:03d}Z": ms for ms in range(1000)}  # "mmmZ" -> ms


def _export_date_millis(text: str) -> int | None:
    """Millis of `YYYY-MM-DDTHH:MM:SS.mmmZ` (what mongoexport writes); None for anything else,
    which the full parser then decides (and explains). `text` is a str."""
    minute = _MINUTES.get(text[:16])
    if minute is not None:
        seconds = _SECONDS_MS.get(text[16:20])
        millis = _MILLIS_Z.get(text[20:])
        if seconds is not None and millis is not None:
            return minute + seconds + millis
    return _date_in_new_minute(text)


def _date_in_new_minute(text: str) -> int | None:
    """`_export_date_millis` past its cache: fromisoformat decides, and the minute is remembered."""
    # the exact shape, so every Python version's fromisoformat accepts the same strings
    if not (len(text) == 24 and text[23] == "Z" and text[19] == "." and text[10] == "T" and text[7] == "-"):
        return None
    try:
        total: int = (_fromisoformat(text[:23]) - _EPOCH_NAIVE) // _ONE_MS
    except (ValueError, TypeError):
        return None
    if text[4] == "-" and text[13] == ":" and text[16] == ":":  # accepted and in the canonical form
        if len(_MINUTES) >= _MINUTES_MAX:
            _MINUTES.clear()
        _MINUTES[text[:16]] = total - total % 60_000  # UTC has no leap seconds: minutes are 60,000 ms
    return total


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


_decoder = json.JSONDecoder(object_hook=object_hook)
decode_raw = _decoder.raw_decode  # (text, index) -> (value, end), for streaming readers
# json's C scanners, called directly: (text, index) -> (value, end); StopIteration when no
# value starts at index. The plain one has no object hook (see decode_lines).
_scan_hooked = _decoder.scan_once
_scan_plain = json.JSONDecoder().scan_once


_Shape = Tuple[Tuple[str, str], ...]  # (field, wrapper key) of each top-level wrapper field


def decode_lines(
    lines: Iterable[bytes], on_error: Callable[[int, str], None], first: int = 1, parsed: List[Any] | None = None
) -> Iterator[Document]:
    """The documents of NDJSON lines, blank lines skipped; a bad line goes to `on_error(lineno, reason)`
    (`first` is the number of the first line), which raises to stop or returns to skip it.

    Exports put their wrappers in top-level fields (`_id`, dates), so when every `$` of a line
    belongs to such a field, the line is parsed without the object hook (C speed) and those
    fields are converted in place; any other line takes the hooked parse. Same result either
    way; the tests hold the two paths against each other. `parsed`: the plain parse of each
    line, already made (see `decode_checked_lines`).
    """
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
            if line.isspace() or not line:
                continue
            try:
                value = loads_document(line.decode("utf-8"))
            except ValueError as exc:
                on_error(lineno, _reason(exc))
                continue
        except ValueError as exc:  # JSONDecodeError, EJSONError, UnicodeDecodeError
            on_error(lineno, _reason(exc))
            continue
        yield value


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
        except (ValueError, StopIteration):  # blank lines (",,") or damage: the exact path decides
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


def _reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8: {exc.reason}"
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def _check_keys(value: Any) -> None:
    # Only reached when the text holds a \u0000 escape: BSON keys are C strings.
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                raise EJSONError(f"NUL byte in field name {_short(key)}")
            _check_keys(item)
    elif isinstance(value, list):
        for item in value:
            _check_keys(item)
    elif isinstance(value, Code) and value.scope is not None:
        _check_keys(value.scope)
    elif isinstance(value, DBRef):
        _check_keys(value.extra)
        _check_keys(value.id)


def check_nul_keys(value: Any) -> None:
    """Raise EJSONError if a field name anywhere in `value` holds a NUL byte."""
    _check_keys(value)


def loads(text: str | bytes) -> Any:
    """Decode Extended JSON text (any JSON value) into `values` types."""
    value = _decoder.decode(text if isinstance(text, str) else text.decode("utf-8"))
    if ("\\u0000" in text) if isinstance(text, str) else (b"\\u0000" in text):
        _check_keys(value)
    return value


def loads_document(text: str | bytes) -> Document:
    """Decode one Extended JSON document; EJSONError if the top level is not an object."""
    return as_document(loads(text))


def as_document(value: Any) -> Document:
    """A decoded top-level value as a document: a DBRef-shaped document stays a document."""
    if value.__class__ is dict:
        return value
    if isinstance(value, DBRef):
        doc: Document = {"$ref": value.collection, "$id": value.id}
        if value.database is not None:
            doc["$db"] = value.database
        doc.update(value.extra)
        return doc
    raise EJSONError(f"expected a document (JSON object), got {_json_kind(value)}")


def decode(value: Any) -> Any:
    """Decode an already-parsed JSON structure (plain dicts/lists) into `values` types."""
    if isinstance(value, dict):
        return object_hook({k: decode(v) for k, v in value.items()})
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


# -- encoding (canonical Extended JSON v2) ----------------------------------------------


def _encode_double(value: float) -> Dict[str, str]:
    if math.isnan(value):
        return {"$numberDouble": "NaN"}
    if math.isinf(value):
        return {"$numberDouble": "Infinity" if value > 0 else "-Infinity"}
    text = repr(value)
    if "e" not in text and "." not in text:
        text += ".0"
    return {"$numberDouble": text.replace("e+", "E+").replace("e-", "E-")}


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
        out: Dict[str, Any] = {"$ref": value.collection, "$id": to_canonical(value.id)}
        if value.database is not None:
            out["$db"] = value.database
        out.update((k, to_canonical(v)) for k, v in value.extra.items())
        return out
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
        out: Dict[str, Any] = {"$ref": value.collection, "$id": to_relaxed(value.id)}
        if value.database is not None:
            out["$db"] = value.database
        out.update((k, to_relaxed(v)) for k, v in value.extra.items())
        return out
    return to_canonical(value)


def dumps(value: Any, relaxed: bool = False) -> str:
    """Extended JSON v2 text of `value` (canonical unless `relaxed`; compact, key order kept)."""
    plain = to_relaxed(value) if relaxed else to_canonical(value)
    return json.dumps(plain, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
