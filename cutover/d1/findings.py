"""What planning found: counts, id ranges, the column mapping, and each kind of problem with a few
examples. backfill-d1's report and summary are written from it; verify reads its error count."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

EXAMPLES_KEPT = 20


@dataclass
class Issue:
    """A counted kind of problem with a few examples ("document _id=… field …")."""

    count: int = 0
    examples: List[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES_KEPT:
            self.examples.append(example)


@dataclass
class Report:
    documents: int = 0
    rows: int = 0
    legacy_ids: int = 0
    legacy_min: int | None = None
    legacy_max: int | None = None
    assigned: int = 0  # documents without a legacy id: their ids are given when the SQL is applied
    assigned_first: int | None = None  # (not known when the SQL is written)
    assigned_last: int | None = None
    base_id: int = 1  # new ids are at least this (and above every id D1 holds when applied)
    statements: int = 0
    map_statements: int = 0  # of `statements`: the id map's (create, legacy ids, new ids)
    bytes: int = 0
    split_values: int = 0  # values appended in pieces because they exceed one statement
    mapping: Dict[str, Dict[str, int]] = field(default_factory=dict)  # column -> field -> docs
    unmapped_fields: Dict[str, int] = field(default_factory=dict)
    unfilled_columns: List[str] = field(default_factory=list)
    warnings: Dict[str, Issue] = field(default_factory=dict)
    errors: Dict[str, Issue] = field(default_factory=dict)

    def warn(self, kind: str, example: str) -> None:
        self.warnings.setdefault(kind, Issue()).add(example)

    def error(self, kind: str, example: str) -> None:
        self.errors.setdefault(kind, Issue()).add(example)

    @property
    def error_count(self) -> int:
        return sum(i.count for i in self.errors.values())
