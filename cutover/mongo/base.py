"""The Mongo source interface: every source (mongoexport files, Data API, native driver) yields
documents of `cutover.mongo.values` types through this one shape."""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, Iterator, List

from cutover.errors import CutoverError
from cutover.mongo.values import DateTime, Document

Batch = List[Document]


class SourceIncomplete(CutoverError):
    """A scan's own cross-check found documents the scan did not return (raised after the
    last batch, so everything read was handed on)."""

    def __init__(self, message: str, *, counted: int, scanned: int) -> None:
        super().__init__(message)
        self.counted = counted
        self.scanned = scanned


@dataclass(frozen=True)
class ScanOptions:
    """What to read from one collection.

    `after_id`: resume position — continue after the document with this `_id` in the
    source's stable order (sorted by `_id` for servers, file order for exports).
    `since`: only documents whose `since_field` is >= this instant ("changed since T").
    `read_before`: with `after_id`, how many documents the earlier runs of the job read up to
    it (same filter): a source that cross-checks its scan by a count then counts from the start,
    so a document added behind the position between the runs is found missing, not skipped.
    """

    since: DateTime | None = None
    since_field: str = "updatedAt"
    projection: dict[str, Any] | None = None
    after_id: Any = None
    batch_size: int = 1000
    read_before: int | None = None


class MongoSource(abc.ABC):
    """Reads whole collections, in a stable order, in batches; the one shape every source has
    (`open_source` in `cutover.mongo` makes one from a spec)."""

    #: human-readable, secret-free description for messages ("export:/data/dump")
    description: str = ""

    @abc.abstractmethod
    def scan(self, collection: str, options: ScanOptions = ScanOptions()) -> Iterator[Batch]:
        """Yield batches of documents; the last `_id` of each batch is a valid resume position."""

    def count(self, collection: str, options: ScanOptions = ScanOptions()) -> int | None:
        """Number (or estimate) of documents the scan will yield, for progress; None if unknown."""
        return None

    def fingerprint(self, collection: str) -> dict[str, Any] | None:
        """What identifies the data a scan reads, for a checkpoint to refuse a resume on other
        data; None for live databases (they change anyway: a resume is followed by a --since pass)."""
        return None

    @property
    def bad_lines(self) -> int:
        """Damaged lines skipped with --skip-bad-lines (only export files have lines)."""
        return 0

    @property
    def bad_line_samples(self) -> List[str]:
        """`FILE:LINE: reason` of the first few skipped lines."""
        return []

    def bad_lines_note(self, shown: int = 3) -> str | None:
        """The one line every command says about skipped damaged lines (None: there were none)."""
        if not self.bad_lines:
            return None
        return (f"{self.bad_lines:,} damaged line(s) in the export were skipped (--skip-bad-lines): "
                + "; ".join(self.bad_line_samples[:shown]))

    def documents(self, collection: str, options: ScanOptions = ScanOptions()) -> Iterator[Document]:
        """The scan's documents one by one (a source may skip building batches)."""
        for batch in self.scan(collection, options):
            yield from batch

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections/files."""

    def __enter__(self) -> MongoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
