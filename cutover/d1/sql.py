"""SQL literals for SQLite / D1: pure functions from Mongo values to SQL text.

Rules (docs/commands/backfill-d1.md): strings quoted with `'` doubled; strings holding NUL or raw
bytes (surrogate-escaped invalid UTF-8) as `CAST(X'…' AS TEXT)` so they round-trip byte for
byte; other lone surrogates are rejected (or replaced by U+FFFD when asked); booleans 1/0;
dates per column (ISO text, epoch ms, epoch s, or SQLite's `YYYY-MM-DD HH:MM:SS`);
Decimal128 as text; nested values as JSON text (`JSON.stringify` form); NaN/±Infinity ->
NULL (noted); integers beyond ±2^53 noted; beyond int64 an error.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from cutover.mongo import jsvalue
from cutover.mongo import values as v

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_SAFE_INTEGER = 2**53 - 1  # beyond this, D1's JSON API (JavaScript numbers) loses digits

# Notes a caller may count and report (value rendered, but not exactly as stored in Mongo).
NOTE_NON_FINITE = "non_finite_float"  # NaN/±Infinity written as NULL
NOTE_UNSAFE_INTEGER = "integer_beyond_2^53"  # exact in SQLite, rounded when read through D1's API
NOTE_SURROGATE_REPLACED = "lone_surrogate_replaced"  # replaced by U+FFFD (--replace-lone-surrogates)
NOTE_DATE_OUT_OF_RANGE = "date_out_of_js_range"

DATE_UNITS = ("iso", "ms", "s", "sqlite")

_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_JS_DATE_LIMIT_MS = 8_640_000_000_000_000
_EPOCH_NAIVE = _dt.datetime(1970, 1, 1)
_ISO_FAST_MIN = -62135596800000  # 0001-01-01T00:00:00.000Z
_ISO_FAST_MAX = 253402300800000  # 10000-01-01T00:00:00.000Z

Notes = Optional[List[str]]


class LiteralError(ValueError):
    """A value that cannot be written to D1 without losing data (the message says why)."""


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def column_affinity(declared_type: str) -> str:
    """SQLite's type affinity rules (section 3.1 of datatype3): INTEGER, TEXT, BLOB, REAL, NUMERIC."""
    t = declared_type.upper()
    if "INT" in t:
        return "INTEGER"
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return "TEXT"
    if "BLOB" in t or not t.strip():
        return "BLOB"
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return "REAL"
    return "NUMERIC"


def default_date_unit(declared_type: str) -> str:
    """Epoch milliseconds for INTEGER columns (JavaScript's Date.now()), ISO text otherwise."""
    return "ms" if column_affinity(declared_type) == "INTEGER" else "iso"


def hex_text_literal(data: bytes) -> str:
    return "CAST(X'" + data.hex().upper() + "' AS TEXT)"


def blob_literal(data: bytes) -> str:
    return "X'" + data.hex().upper() + "'"


def _join_pair(match: re.Match[str]) -> str:
    high, low = match.group(0)
    return chr(0x10000 + ((ord(high) - 0xD800) << 10) + (ord(low) - 0xDC00))


def text_bytes(text: str, replace_lone_surrogates: bool = False, notes: Notes = None) -> bytes:
    """The UTF-8 bytes D1 should store for `text`.

    Surrogate pairs are joined (as JavaScript would), U+DC80..U+DCFF are raw bytes that a
    decoder kept with `surrogateescape` (invalid UTF-8 in the source) and are restored as
    such; any other lone surrogate cannot be stored in UTF-8 and is an error unless
    `replace_lone_surrogates` (then U+FFFD, as a Worker's TextEncoder would write).
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    text = _SURROGATE_PAIR.sub(_join_pair, text)
    out = bytearray()
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(code - 0xDC00)
        elif 0xD800 <= code <= 0xDFFF:
            if not replace_lone_surrogates:
                raise LiteralError(
                    f"string holds a lone surrogate U+{code:04X}, which UTF-8 (D1) cannot store "
                    "(--replace-lone-surrogates writes U+FFFD instead)"
                )
            if notes is not None:
                notes.append(NOTE_SURROGATE_REPLACED)
            out += "\ufffd".encode("utf-8")
        else:
            out += ch.encode("utf-8")
    return bytes(out)


# wrangler (d1 execute --file) deletes the first "BEGIN TRANSACTION;" and "COMMIT;" it finds
# anywhere in the file - inside string literals too - and refuses a file with two; so that
# phrase is never written whole. A text holding it is written as hex (CAST(X'…' AS TEXT)):
# one term whatever the text, where splitting the phrase with `||` made an expression one
# level deeper per occurrence (D1 refuses more than 100).
TXN_PHRASE = "BEGIN TRANSACTION"
_TXN = TXN_PHRASE


def quote_text(text: str) -> str:
    """`text` (valid UTF-8, no NUL) as a literal that survives wrangler's file handling."""
    if _TXN in text:
        return hex_text_literal(text.encode("utf-8", "surrogatepass"))
    return "'" + text.replace("'", "''") + "'" if "'" in text else "'" + text + "'"


def text_literal(text: str, replace_lone_surrogates: bool = False, notes: Notes = None) -> str:
    """A SQL string literal that stores exactly `text` (see `text_bytes` for surrogates)."""
    if text.isascii():
        if "\x00" in text:
            return hex_text_literal(text.encode("ascii"))
    else:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            data = text_bytes(text, replace_lone_surrogates, notes)
            if b"\x00" in data:
                return hex_text_literal(data)
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                return hex_text_literal(data)  # raw invalid UTF-8: only a byte literal keeps it
        if "\x00" in text:
            return hex_text_literal(text.encode("utf-8"))
    return quote_text(text)


def integer_literal(value: int, notes: Notes = None) -> str:
    if value > MAX_SAFE_INTEGER or value < -MAX_SAFE_INTEGER:
        if value > INT64_MAX or value < INT64_MIN:
            raise LiteralError(f"integer {value} does not fit SQLite's 64-bit INTEGER")
        if notes is not None:
            notes.append(NOTE_UNSAFE_INTEGER)
    return str(value)


def real_literal(value: float, notes: Notes = None) -> str:
    """Shortest round-tripping digits; NaN/±Infinity become NULL (D1 and JSON have neither)."""
    magnitude = abs(value)
    if _REPR_SAFE_MIN <= magnitude < _REPR_SAFE_MAX or magnitude == 0.0:
        # repr: shortest digits that round-trip; repr(1e16) == '1e+16' is still REAL to SQLite.
        return repr(value)
    if math.isnan(value) or math.isinf(value):
        if notes is not None:
            notes.append(NOTE_NON_FINITE)
        return "NULL"
    return exact_real_expression(value)


# SQLite >= 3.43 (D1) reads repr() digits back exactly in this range; beyond it (and in
# every range on older SQLite) its decimal parser can be off by one unit in the last place.
_REPR_SAFE_MIN = 1e-80
_REPR_SAFE_MAX = 1e80
_TWO_62 = str(2**62)


def exact_real_expression(value: float) -> str:
    """`value` as mantissa x powers of two: each step is exact in IEEE arithmetic, so the
    result is bit-exact whatever SQLite's decimal parser does."""
    mantissa, exponent = math.frexp(value)
    digits = int(mantissa * (1 << 53))
    exponent -= 53
    while digits and digits % 2 == 0:  # shorter text, same value
        digits //= 2
        exponent += 1
    op = " * " if exponent >= 0 else " / "
    steps = abs(exponent)
    parts = [f"CAST({digits} AS REAL)"]
    while steps >= 62:
        parts.append(_TWO_62)
        steps -= 62
    if steps:
        parts.append(str(2**steps))
    return "(" + op.join(parts) + ")"


def date_literal(value: v.DateTime, unit: str = "iso", notes: Notes = None) -> str:
    if unit == "ms":
        return integer_literal(value.millis, notes)
    if unit == "s":
        seconds, rest = divmod(value.millis, 1000)
        return str(seconds) if rest == 0 else repr(value.millis / 1000.0)
    millis = value.millis
    if _ISO_FAST_MIN <= millis < _ISO_FAST_MAX:
        # C isoformat: the same text as DateTime.iso() for years 1..9999, several times faster
        iso = (_EPOCH_NAIVE + _dt.timedelta(milliseconds=millis)).isoformat(timespec="milliseconds") + "Z"
    else:
        if abs(millis) > _JS_DATE_LIMIT_MS and notes is not None:
            notes.append(NOTE_DATE_OUT_OF_RANGE)
        iso = value.iso()
    if unit == "sqlite":  # CURRENT_TIMESTAMP's form: 'YYYY-MM-DD HH:MM:SS' (ms kept when non-zero)
        iso = iso[:-1].replace("T", " ")
        if iso.endswith(".000"):
            iso = iso[:-4]
    return "'" + iso + "'"


def json_text_literal(value: Any, notes: Notes = None) -> str:
    """Nested values as JSON text, exactly as JSON.stringify would print them."""
    return text_literal(jsvalue.stringify(value), notes=notes)


def _binary_literal(value: v.Binary, affinity: str) -> str:
    if affinity == "BLOB":
        return blob_literal(value.data)
    return "'" + jsvalue.to_plain(value) + "'"  # UUID text or base64: both plain ASCII


def render(
    value: Any,
    affinity: str = "BLOB",
    date_unit: str = "iso",
    notes: Notes = None,
    replace_lone_surrogates: bool = False,
) -> str:
    """One Mongo value as a SQL literal for a column of the given affinity; may raise LiteralError."""
    kind = type(value)
    if kind is str:
        if value.isascii() and "\x00" not in value and _TXN not in value:  # fast path: the common case
            return "'" + value.replace("'", "''") + "'" if "'" in value else "'" + value + "'"
        return text_literal(value, replace_lone_surrogates, notes)
    if value is None:
        return "NULL"
    if kind is bool:
        return "1" if value else "0"
    if kind is int or kind is v.Int64:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return str(int(value))
        return integer_literal(int(value), notes)
    if kind is float:
        return real_literal(value, notes)
    if kind is v.DateTime:
        return date_literal(value, date_unit, notes)
    if kind is v.ObjectId:
        return "'" + value.hex + "'"
    if kind is v.Decimal128:
        return text_literal(value.value)
    if kind is v.Binary:
        return _binary_literal(value, affinity)
    if value is v.Undefined:
        return "NULL"
    if isinstance(value, str):  # Symbol and other str subclasses
        return text_literal(str(value), replace_lone_surrogates, notes)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return integer_literal(int(value), notes)
    return json_text_literal(value, notes)


Renderer = Callable[[Any, Notes], str]


def _int_literal(value: int, notes: Notes) -> str:
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return int.__repr__(value)  # not str(): Int64's repr is "Int64(…)"
    return integer_literal(int(value), notes)


def _bool_literal(value: bool, notes: Notes) -> str:
    return "1" if value else "0"


def _null_literal(value: Any, notes: Notes) -> str:
    return "NULL"


def _object_id_literal(value: v.ObjectId, notes: Notes) -> str:
    return "'" + value.binary.hex() + "'"


def _decimal_literal(value: v.Decimal128, notes: Notes) -> str:
    text = value.value
    if text.isascii() and "'" not in text and "\x00" not in text:  # canonical forms always are
        return "'" + text + "'"
    return text_literal(text)


_DAYS: Dict[int, str] = {}  # day number -> 'YYYY-MM-DD' (a collection spans few distinct days)
_EPOCH_DATE = _dt.date(1970, 1, 1)


def _iso_literal(value: v.DateTime, notes: Notes) -> str:
    """'…T…Z' exactly as DateTime.iso() prints it, without building datetime objects."""
    millis = value.millis
    if _ISO_FAST_MIN <= millis < _ISO_FAST_MAX:
        days, rest = divmod(millis, 86_400_000)
        day = _DAYS.get(days)
        if day is None:
            day = (_EPOCH_DATE + _dt.timedelta(days=days)).isoformat()
            if len(_DAYS) < 200_000:
                _DAYS[days] = day
        seconds, ms = divmod(rest, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return f"'{day}T{hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}Z'"
    return date_literal(value, "iso", notes)


def _ms_literal(value: v.DateTime, notes: Notes) -> str:
    return _int_literal(value.millis, notes)


def column_renderers(
    affinity: str, date_unit: str, replace_lone_surrogates: bool = False
) -> Tuple[Dict[type, Renderer], Renderer]:
    """Per-type renderers for one column, and the general one for anything else. Callers
    quote plain ASCII strings themselves (see `render`'s fast path) before using these."""

    def _text(value: str, notes: Notes) -> str:
        return text_literal(value, replace_lone_surrogates, notes)

    def _date(value: v.DateTime, notes: Notes) -> str:
        return date_literal(value, date_unit, notes)

    date_renderer = {"iso": _iso_literal, "ms": _ms_literal}.get(date_unit, _date)

    def _binary(value: v.Binary, notes: Notes) -> str:
        return _binary_literal(value, affinity)

    def _general(value: Any, notes: Notes) -> str:
        return render(value, affinity, date_unit, notes, replace_lone_surrogates)

    table: Dict[type, Renderer] = {
        str: _text,
        int: _int_literal,
        v.Int64: _int_literal,
        bool: _bool_literal,
        type(None): _null_literal,
        float: real_literal,
        v.DateTime: date_renderer,
        v.ObjectId: _object_id_literal,
        v.Decimal128: _decimal_literal,
        v.Binary: _binary,
        dict: json_text_literal,
        list: json_text_literal,
    }
    return table, _general
