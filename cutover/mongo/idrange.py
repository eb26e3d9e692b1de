"""MongoDB's `_id` order across BSON types, and the query filters that page and count by it.

Sources that read a collection sorted by `_id` (the Data API pages, the native driver's cursor)
check their scan at the end with a count over the same range, through another server path
(`aggregate` `$match` + `$count`): `scan_count_range` is that range, `check_scan_count` the
comparison and its message, so every source fails the same loud way when documents were lost.
"""
from __future__ import annotations

import decimal
from typing import Any, Dict, List, Tuple

from cutover.mongo import values as v
from cutover.mongo.base import ScanOptions, SourceIncomplete

# MongoDB's sort order across BSON types, as `$type` aliases per bracket. `$gt` only matches
# values of the same bracket, so paging past the last `_id` must also ask for every later
# bracket, or a collection with mixed `_id` types would silently lose the later ones.
_TYPE_BRACKETS: List[List[str]] = [
    ["minKey"],
    ["null", "undefined"],
    ["int", "long", "double", "decimal"],
    ["string", "symbol"],
    ["object"],
    ["array"],
    ["binData"],
    ["objectId"],
    ["bool"],
    ["date"],
    ["timestamp"],
    ["regex"],
    ["javascript", "javascriptWithScope", "dbPointer"],
    ["maxKey"],
]


# (types, bracket), tested in this order: bool before the numbers (a bool is an int in Python).
_BRACKET_OF_TYPE: Tuple[Tuple[Any, int], ...] = (
    (bool, 8), ((int, float, v.Decimal128), 2), ((str, v.Symbol), 3), (dict, 4), (list, 5), (v.Binary, 6),
    (v.ObjectId, 7), (v.DateTime, 9), (v.Timestamp, 10), (v.Regex, 11), (v.Code, 12),
)


def _bracket(value: Any) -> int:
    """Index into `_TYPE_BRACKETS` of a decoded `_id` value."""
    if value is v.MinKey:
        return 0
    if value is None or value is v.Undefined:
        return 1
    if value is v.MaxKey:
        return 13
    for types, bracket in _BRACKET_OF_TYPE:
        if isinstance(value, types):
            return bracket
    return 4  # DBRef and friends are documents on the wire


def id_order(value: Any) -> tuple | None:  # type: ignore[type-arg]
    """MongoDB's order of `_id` values as a sortable tuple; None within a bracket this does not
    order (documents, arrays, binaries, ...), where only the bracket is compared."""
    b = _bracket(value)
    if isinstance(value, bool):
        return (b, int(value))
    if isinstance(value, v.Decimal128):
        try:
            return (b, decimal.Decimal(value.value))
        except decimal.InvalidOperation:
            return None
    if isinstance(value, (int, float)):
        return (b, decimal.Decimal(value)) if value == value else (b, decimal.Decimal("-Infinity"))
    if isinstance(value, (str, v.Symbol)):
        return (b, str(value).encode("utf-8", "surrogatepass"))
    if isinstance(value, v.ObjectId):
        return (b, value.binary)
    if isinstance(value, v.DateTime):
        return (b, value.millis)
    if value is v.MinKey or value is v.MaxKey or value is None or value is v.Undefined:
        return (b,)
    return None


def increases(previous: Any, current: Any) -> bool:
    """Whether `current` comes strictly after `previous` in MongoDB's `_id` order (as far as known)."""
    pb, cb = _bracket(previous), _bracket(current)
    if pb != cb:
        return cb > pb
    p, c = id_order(previous), id_order(current)
    if p is None or c is None:
        return bool(previous != current)
    return c > p


def upto_filter(last_id: Any) -> Dict[str, Any]:
    """Query for every `_id` up to and including `last_id` in MongoDB's sort order (all types)."""
    earlier = [alias for bracket in _TYPE_BRACKETS[: _bracket(last_id)] for alias in bracket]
    same_type = {"_id": {"$lte": last_id}}
    if not earlier:
        return same_type
    return {"$or": [same_type, {"_id": {"$type": earlier}}]}


def after_filter(last_id: Any) -> Dict[str, Any]:
    """Query for every `_id` after `last_id` in MongoDB's sort order (all types)."""
    later = [alias for bracket in _TYPE_BRACKETS[_bracket(last_id) + 1 :] for alias in bracket]
    same_type = {"_id": {"$gt": last_id}}
    if not later:
        return same_type
    return {"$or": [same_type, {"_id": {"$type": later}}]}


def all_of(clauses: List[Dict[str, Any]]) -> Dict[str, Any]:
    """One query from several (empty ones dropped): `{}`, the one clause, or `$and`."""
    kept = [c for c in clauses if c]
    if len(kept) == 1:
        return kept[0]
    return {"$and": kept} if kept else {}


def scan_count_range(base: Dict[str, Any], options: ScanOptions, last: Any, scanned: int) -> Tuple[Dict[str, Any], int]:
    """The query an end-of-scan count runs, and how many documents the earlier runs read in it.

    The range ends at the last `_id` read, so documents added past the read end while the scan
    ran (an v.ObjectId the bot inserts now sorts last) are not counted: they are not a loss. A
    resume that knows what its earlier runs read (`read_before`) counts from the start, so a
    document added behind the position between the runs is found missing, not skipped.
    """
    from_start = options.after_id is not None and options.read_before is not None
    earlier = (options.read_before or 0) if from_start else 0
    clauses = [base]
    if options.after_id is not None and not from_start:
        clauses.append(after_filter(options.after_id))
    if scanned:
        clauses.append(upto_filter(last))
    elif from_start:
        clauses.append(upto_filter(options.after_id))
    return all_of(clauses), earlier


def check_scan_count(where: str, *, counted: int | None, scanned: int, earlier: int, cause: str, instead: str) -> None:
    """SourceIncomplete when `aggregate` counted more documents in the range than `find` returned.

    `cause`: what in this source could drop documents; `instead`: the source to read through if
    it repeats. Deletions meanwhile only make the count smaller, so they never raise.
    """
    read = scanned + earlier
    if counted is None or counted <= read:
        return
    runs = f" ({earlier} of them in the runs before this --resume)" if earlier else ""
    raise SourceIncomplete(
        f"{where}: aggregate counts {counted} documents in the range read, find returned {read}{runs}: "
        f"{counted - read} were lost {cause} or added behind the read position meanwhile; if it repeats, {instead}",
        counted=counted, scanned=read,
    )
