"""Extended JSON text to `values` types: `loads`, `loads_document`, and the json scanners the
line and stream readers call directly."""
from __future__ import annotations

import json
from typing import Any

from cutover.mongo.ejson.common import EJSONError, _short
from cutover.mongo.ejson.wrappers import object_hook
from cutover.mongo.values import Code, DBRef, Document

_decoder = json.JSONDecoder(object_hook=object_hook)
decode_raw = _decoder.raw_decode  # (text, index) -> (value, end), for streaming readers
# json's C scanners, called directly: (text, index) -> (value, end); StopIteration when no
# value starts at index. The plain one has no object hook (see decode_lines).
_scan_hooked = _decoder.scan_once
_scan_plain = json.JSONDecoder().scan_once


def error_reason(exc: BaseException) -> str:
    """One line for a rejected document or line: what json, UTF-8 or the wrapper decoder said (at most 200 chars)."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8: {exc.reason}"
    if isinstance(exc, RecursionError):  # the JSON decoder's recursion limit, near 1,000 levels
        return "nested too deeply to read (MongoDB documents nest at most 100 levels)"
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

