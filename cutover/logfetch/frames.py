"""Walk a time window frame by frame so that no row is silently dropped.

A page holding `limit` rows may have been cut short — and so may a shorter page whose
`count` says more rows matched (the API may serve fewer than asked) — so its frame is split
in two and both halves are queried again, down to a 2 ms frame; only there the API's cursor (`offset` = last
`$metadata.id`) pages on. Adjacent frames share their boundary millisecond (whether the API
treats `to` as inclusive or not), and rows seen twice there are dropped by `$metadata.id`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional

from cutover.logfetch.query import Page, row_id, row_time

MAX_CURSOR_PAGES = 1000  # bound on cursor paging inside one 2 ms frame

QueryFn = Callable[[int, int, Optional[str]], Page]


@dataclass
class Leaf:
    """A frame whose rows are complete (or, when `gap` is set, as complete as the API allowed)."""

    from_ms: int
    to_ms: int
    rows: List[Dict[str, Any]]
    requests: int
    gap: str | None = None


@dataclass
class WalkStats:
    requests: int = 0
    splits: int = 0
    cursor_pages: int = 0
    widths: List[int] = field(default_factory=list)


class FrameWalker:
    """Yields `Leaf`s in time order over [from_ms, to_ms]; `width_ms` adapts to the row density."""

    def __init__(self, query: QueryFn, limit: int, width_ms: int, max_width_ms: int | None = None) -> None:
        if limit < 1:
            raise ValueError("limit must be positive")
        self.query = query
        self.limit = limit
        self.width_ms = max(2, int(width_ms))
        self.max_width_ms = max(self.width_ms, int(max_width_ms or width_ms))
        self.stats = WalkStats()

    def walk(self, from_ms: int, to_ms: int) -> Iterator[Leaf]:
        start = from_ms
        while start < to_ms:
            end = min(start + self.width_ms, to_ms)
            splits_before = self.stats.splits
            largest = 0
            for leaf in self._frame(start, end):
                largest = max(largest, len(leaf.rows))
                yield leaf
            # Dense frame: start the next one narrower; sparse: widen again (fewer requests).
            if self.stats.splits > splits_before:
                self.width_ms = max(2, self.width_ms // 2)
            elif largest < self.limit // 4:
                self.width_ms = min(self.max_width_ms, self.width_ms * 2)
            start = end

    def _cut_short(self, page: Page, have: int) -> bool:
        """More rows matched than `have`: a full page, or the API's count says so."""
        return len(page.rows) >= self.limit or (page.count is not None and page.count > have)

    def _frame(self, a: int, b: int) -> Iterator[Leaf]:
        page = self.query(a, b, None)
        self.stats.requests += 1
        if not self._cut_short(page, len(page.rows)):
            yield Leaf(a, b, sort_rows(page.rows), 1)
            return
        if b - a >= 2:
            self.stats.splits += 1
            mid = (a + b) // 2
            yield from self._frame(a, mid)
            yield from self._frame(mid, b)
            return
        yield self._cursor_pages(a, b, page)

    def _cursor_pages(self, a: int, b: int, first: Page) -> Leaf:
        """More rows in 2 ms than one page holds: follow the API cursor until the frame's count
        is reached (or, without a count, a short page)."""
        rows: Dict[str, Dict[str, Any]] = {}
        page, requests = first, 1
        while True:
            fresh = [r for r in page.rows if row_id(r) not in rows]
            for row in page.rows:
                rows.setdefault(row_id(row), row)
            # the frame's own count (no offset) is the target; without one, a short page ends it
            done = len(rows) >= first.count if first.count is not None else len(page.rows) < self.limit
            if done:
                return Leaf(a, b, sort_rows(list(rows.values())), requests)
            if not fresh or not page.rows or requests >= MAX_CURSOR_PAGES:
                told = f" of {first.count}" if first.count is not None else ""
                return Leaf(a, b, sort_rows(list(rows.values())), requests,
                            gap=f"{len(rows)}{told} rows in {b - a + 1} ms fetched and the API cursor stopped advancing")
            page = self.query(a, b, row_id(page.rows[-1]))
            requests += 1
            self.stats.requests += 1
            self.stats.cursor_pages += 1


def sort_rows(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Oldest first (the API returns newest first); rows without a timestamp keep their order at the end."""
    return sorted(rows, key=lambda r: (row_time(r) is None, row_time(r) or 0))


class BoundaryDedup:
    """Drops rows already written: remembers the ids of rows near the last frame end."""

    def __init__(self, guard_ms: int = 1000, ids: Dict[str, int] | None = None) -> None:
        self.guard_ms = guard_ms
        self.ids: Dict[str, int] = dict(ids or {})
        self.skipped = 0

    def fresh(self, leaf: Leaf) -> List[Dict[str, Any]]:
        out = []
        for row in leaf.rows:
            key = row_id(row)
            if key in self.ids:
                self.skipped += 1
                continue
            ts = row_time(row)
            self.ids[key] = ts if ts is not None else leaf.to_ms
            out.append(row)
        horizon = leaf.to_ms - self.guard_ms
        self.ids = {k: t for k, t in self.ids.items() if t >= horizon}
        return out
