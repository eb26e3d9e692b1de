"""The end-of-run summary: rows, time covered, gaps (lost coverage) and quiet stretches (no rows)."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Tuple

from cutover.core.console import Console
from cutover.core.fsutil import write_output
from cutover.core.progress import format_duration
from cutover.core.timespec import iso_ms
from cutover.errors import EXIT_OK, CutoverError


class QuietTracker:
    """Finds stretches longer than `threshold_ms` with no row, from rows seen in time order."""

    def __init__(self, start_ms: int, threshold_ms: int, last_ms: int | None = None,
                 found: List[List[int]] | None = None) -> None:
        self.threshold_ms = threshold_ms
        self.last_ms = start_ms if last_ms is None else last_ms
        self.found: List[List[int]] = [list(x) for x in (found or [])]

    def see(self, ts: int | None) -> None:
        if ts is None:
            return
        if ts - self.last_ms > self.threshold_ms:
            self.found.append([self.last_ms, ts])
        self.last_ms = max(self.last_ms, ts)

    def close(self, end_ms: int) -> List[List[int]]:
        out = list(self.found)
        if end_ms - self.last_ms > self.threshold_ms:
            out.append([self.last_ms, end_ms])
        return out


def span(a: int, b: int, reason: str | None = None) -> Dict[str, Any]:
    item: Dict[str, Any] = {"from": iso_ms(a), "to": iso_ms(b), "minutes": round((b - a) / 60000.0, 1)}
    if reason:
        item["reason"] = reason
    return item


def spans(pairs: List[Tuple[int, int]] | List[List[int]], reason: str | None = None) -> List[Dict[str, Any]]:
    return [span(int(p[0]), int(p[1]), reason) for p in pairs]


def merge_gaps(gaps: List[List[Any]]) -> List[List[Any]]:
    """Join gaps that touch or overlap (adjacent frames share a boundary millisecond)."""
    merged: List[List[Any]] = []
    for a, b, reason in sorted(gaps, key=lambda g: (g[0], g[1])):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
            if reason not in merged[-1][2]:
                merged[-1][2] += f"; {reason}"
        else:
            merged.append([a, b, reason])
    return merged


def format_summary(s: Dict[str, Any]) -> List[str]:
    """Lines for stderr: the headline first, then each gap and quiet stretch."""
    window = ""
    if s.get("from") and s.get("to"):
        window = f" for {s['from']} .. {s['to']}"
    lines = [f"fetch-logs: {s['rows']:,} rows{window} -> {s['output']}"]
    if s.get("first_row"):
        lines.append(f"  rows span {s['first_row']} .. {s['last_row']}")
    detail = []
    if s["source"] == "observability":
        detail.append(f"{s['requests']} requests, {s['splits']} frame splits, {s['throttled']} throttled (429)")
    else:
        detail.append(f"{s['files']} files ({s['duplicate_files']} duplicate files skipped)")
    if s.get("duplicates_skipped"):
        detail.append(f"{s['duplicates_skipped']} duplicate rows skipped")
    if s.get("malformed"):
        detail.append(f"{s['malformed']} malformed lines skipped")
    lines.append("  " + "; ".join(detail))
    if s.get("sampled"):
        lines.append(f"  WARNING: Cloudflare returned sampled results (ABR level {s['abr_level']}); counts are incomplete")
    for gap in s.get("gaps", []):
        lines.append(f"  GAP {gap['from']} .. {gap['to']}: {gap['reason']}")
    for hole in s.get("uncovered", []):
        lines.append(f"  no file covers {hole['from']} .. {hole['to']} ({hole['minutes']} min): {hole['reason']}")
    for q in s.get("quiet", []):
        minutes = format_duration(q["minutes"] * 60)
        lines.append(f"  quiet {q['from']} .. {q['to']} ({minutes} without a row: idle Worker, or logging off?)")
    return lines


def finish(summary: Dict[str, Any], json_path: str | None, console: Console) -> int:
    """The summary said and written (--json); a gap in the coverage is an error naming what was saved."""
    for line in format_summary(summary):
        console.info(line)
    if json_path:
        write_output(json_path, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    if summary["gaps"]:
        raise CutoverError(
            f"coverage incomplete: {len(summary['gaps'])} gap(s) (see the summary); {summary['output']} holds the rows that were fetched"
        )
    return EXIT_OK
