"""MongoDB Extended JSON (v2 canonical and relaxed, legacy v1) to and from `values` types.

`loads(text)` is `json.loads` with an object hook: dicts without a `$`-key are returned
untouched (one C-level set test), wrapper dicts become value types. `dumps` writes canonical
EJSON v2 (for Data API filters, checkpoints and tests).

Inside: `wrappers` (one decoder per wrapper, and the object hook), `dates` (`$date`), `text`
(`loads` and the json scanners), `lines` (the NDJSON readers exports go through), `encode`.
"""
from __future__ import annotations

from cutover.mongo.ejson.common import EJSONError
from cutover.mongo.ejson.dates import parse_iso_millis
from cutover.mongo.ejson.encode import dumps, to_canonical, to_relaxed
from cutover.mongo.ejson.lines import decode_checked_lines, decode_line, decode_lines
from cutover.mongo.ejson.text import (
    as_document,
    check_nul_keys,
    decode,
    decode_raw,
    error_reason,
    loads,
    loads_document,
)
from cutover.mongo.ejson.wrappers import canonical_decimal128, object_hook

__all__ = [
    "EJSONError",
    "as_document",
    "canonical_decimal128",
    "check_nul_keys",
    "decode",
    "decode_checked_lines",
    "decode_line",
    "decode_lines",
    "decode_raw",
    "dumps",
    "error_reason",
    "loads",
    "loads_document",
    "object_hook",
    "parse_iso_millis",
    "to_canonical",
    "to_relaxed",
]
