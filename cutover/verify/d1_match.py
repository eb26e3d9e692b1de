"""Match D1 rows to Mongo documents by `_id` through D1's own id map, then compare them.

The ids come from the target, not from the planner: a document's row is the one D1's map
names (a legacy document's must be its legacy id), two documents named to one row are both
wrong (one overwrote the other), and a row no live document is mapped to is extra."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

from cutover.verify.compare import Diff, Report, Row, cells_equal
from cutover.verify.d1_expected import ExpectedD1


def compare_d1(expected: ExpectedD1, id_map: Mapping[str, int] | None, actual: Mapping[Any, Row]) -> Report:
    """`id_map`: D1's map for the table (Mongo key -> id), None when D1 has no map table (then
    only documents with a legacy id can be found)."""
    report = Report()
    mapped = id_map or {}
    row_of: Dict[str, Any] = {}
    owners: Dict[Any, List[str]] = {}
    for key in expected.rows:
        row_id = mapped.get(key, expected.legacy.get(key))
        if row_id is not None:
            row_of[key] = row_id
            owners.setdefault(row_id, []).append(key)
    for key, want in expected.rows.items():
        label = f"_id {key}"
        row_id = row_of.get(key)
        if row_id is None:
            report.missing += 1
            report.note(Diff(label, "row", "present (mapped in D1's id map)", "no map entry"))
            continue
        label += f" (row {row_id})"
        sharing = owners[row_id]
        if len(sharing) > 1:
            report.different += 1
            others = ", ".join(k for k in sharing if k != key)
            report.note(Diff(label, "row", "its own row", f"row {row_id} shared with _id {others}"))
            continue
        legacy = expected.legacy.get(key)
        if legacy is not None and legacy != row_id:
            report.different += 1
            report.note(Diff(label, "id", legacy, row_id))
            continue
        got = actual.get(row_id)
        if got is None:
            report.missing += 1
            report.note(Diff(label, "row", "present", "missing"))
            continue
        report.tally([Diff(label, col, val, got.get(col)) for col, val in want.items() if not cells_equal(val, got.get(col))])
    for row_id in actual:
        if row_id not in owners:
            report.extra += 1
            report.note(Diff(f"row {row_id}", "row", "absent (no live document maps to it)", "present"))
    return report
