"""Client-side `since` filter and projection, with MongoDB's semantics, for sources that read files."""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

from cutover.errors import UsageError
from cutover.mongo.base import ScanOptions
from cutover.mongo.values import DateTime, Document

_MISSING = object()


def get_path(doc: Document, dotted: str) -> Any:
    """The value at a dotted path, or a sentinel when absent (arrays are not traversed)."""
    node: Any = doc
    for part in dotted.split("."):
        if type(node) is not dict or part not in node:
            return _MISSING
        node = node[part]
    return node


class DocumentFilter:
    """`since` as `{since_field: {$gte: since}}` (only BSON dates match, as on the server) + projection."""

    def __init__(self, options: ScanOptions) -> None:
        self.since = options.since
        self.since_field = options.since_field
        self.simple_field = "." not in options.since_field
        self.include: List[Tuple[str, ...]] | None = None
        self.exclude: List[Tuple[str, ...]] = []
        self.keep_id = True
        projection = options.projection or {}
        flags = {k: bool(v) for k, v in projection.items() if k != "_id"}
        if "_id" in projection:
            self.keep_id = bool(projection["_id"])
        if flags and len(set(flags.values())) > 1:
            raise UsageError(f"projection {projection!r} mixes inclusion and exclusion (MongoDB refuses that too)")
        if flags and next(iter(flags.values())):
            self.include = [tuple(k.split(".")) for k in flags]
        else:
            self.exclude = [tuple(k.split(".")) for k in flags]
        self.projecting = bool(projection)

    def matches(self, doc: Document) -> bool:
        if self.since is None:
            return True
        value = doc.get(self.since_field, _MISSING) if self.simple_field else get_path(doc, self.since_field)
        return isinstance(value, DateTime) and value.millis >= self.since.millis

    def project(self, doc: Document) -> Document:
        if not self.projecting:
            return doc
        if self.include is not None:
            out: Dict[str, Any] = {}
            if self.keep_id and "_id" in doc:
                out["_id"] = doc["_id"]
            for key in doc:  # document order, as the server returns it
                for path in self.include:
                    if path[0] == key:
                        _copy(doc, out, path)
            return out
        out = dict(doc)
        if not self.keep_id:
            out.pop("_id", None)
        for path in self.exclude:
            _drop(out, path)
        return out


def _copy(src: Dict[str, Any], dst: Dict[str, Any], path: Tuple[str, ...]) -> None:
    head = path[0]
    if head not in src:
        return
    if len(path) == 1:
        dst[head] = src[head]
        return
    child = src[head]
    if type(child) is dict:
        sub = dst.setdefault(head, {})
        if type(sub) is dict:
            _copy(child, sub, path[1:])


def _drop(doc: Dict[str, Any], path: Tuple[str, ...]) -> None:
    head = path[0]
    if head not in doc:
        return
    if len(path) == 1:
        del doc[head]
        return
    child = doc[head]
    if type(child) is dict:
        child = dict(child)
        doc[head] = child
        _drop(child, path[1:])
