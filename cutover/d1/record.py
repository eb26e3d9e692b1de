"""One Mongo document's identity as backfill-d1 sees it: its `_id` in messages, its place in the
order new ids are given, and its legacy id as an integer."""
from __future__ import annotations

from typing import Any, Tuple

from cutover.d1 import sql
from cutover.mongo import values as v


def describe_id(value: Any) -> str:
    if isinstance(value, v.ObjectId):
        return value.hex
    return repr(value)


def id_sort_key(doc_id: Any) -> Tuple[Any, ...]:
    """Stable order for documents without a legacy id: ObjectIds by time (then bytes), then others."""
    if isinstance(doc_id, v.ObjectId):
        return (0, doc_id.binary, 0, "")
    if isinstance(doc_id, (int, float)) and not isinstance(doc_id, bool):
        return (1, b"", doc_id, "")
    return (2, b"", 0, f"{type(doc_id).__name__}:{doc_id!r}")


def legacy_id_value(raw: Any) -> int:
    """An integer id from a legacy_id field (int, Int64, integral float, or digit string)."""
    if isinstance(raw, bool):
        raise ValueError(f"legacy id {raw!r} is a boolean")
    if isinstance(raw, int) or isinstance(raw, float) and raw.is_integer():
        value = int(raw)
    elif isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        value = int(raw.strip())
    elif isinstance(raw, v.Decimal128) and raw.value.lstrip("-").isdigit():
        value = int(raw.value)
    else:
        raise ValueError(f"legacy id {raw!r} is not an integer")
    if not sql.INT64_MIN <= value <= sql.INT64_MAX:
        raise ValueError(f"legacy id {value} does not fit a 64-bit INTEGER")
    return value
