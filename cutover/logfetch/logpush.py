"""Merge a folder of Logpush `workers_trace_events` files (`*.log.gz`, NDJSON, as delivered to
R2/S3) into one time-ordered NDJSON stream, dropping rows delivered twice.

Logpush names objects `<start>_<end>_<hash>.log.gz` (e.g. `20261127T180000Z_20261127T180030Z_
a1b2c3d4.log.gz`), usually under a `{DATE}` folder; the start/end pairs tell which stretches of
time no file covers."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import List, Tuple

from cutover.errors import UNDECODABLE, CutoverError

_NAME = re.compile(r"(\d{8}T\d{6}Z)_(\d{8}T\d{6}Z)")
SUFFIXES = (".log.gz", ".log")


@dataclass
class MergeResult:
    lines: List[str]  # NDJSON lines, oldest first, without newline
    files: int = 0
    duplicate_files: int = 0
    duplicate_rows: int = 0
    malformed: int = 0
    skipped_script: int = 0
    skipped_time: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    windows: List[Tuple[int, int]] = field(default_factory=list)  # (start, end) ms from file names
    malformed_examples: List[str] = field(default_factory=list)


def find_files(directory: str) -> List[str]:
    """Every `*.log.gz` / `*.log` below `directory`, in name order (Logpush names sort by time)."""
    if not os.path.isdir(directory):
        raise CutoverError(f"--from-dir {directory}: not a directory")
    found = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        for name in files:
            if name.endswith(SUFFIXES) and not name.startswith("."):
                found.append(os.path.join(root, name))
    return sorted(found, key=lambda p: (os.path.basename(p), p))


def name_window(path: str) -> Tuple[int, int] | None:
    """(start_ms, end_ms) from a Logpush object name, or None when the name does not carry them."""
    m = _NAME.search(os.path.basename(path))
    if not m:
        return None

    def ms(text: str) -> int:
        return int(datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp() * 1000)

    return ms(m.group(1)), ms(m.group(2))


def _read(path: str) -> bytes:
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                return handle.read()
        with open(path, "rb") as handle:
            return handle.read()
    except (OSError, EOFError) as exc:
        raise CutoverError(f"{path}: cannot read ({exc})") from None


def merge_dir(
    directory: str, script: str | None = None, from_ms: int | None = None, to_ms: int | None = None
) -> MergeResult:
    """Read, filter (script, time), de-duplicate and time-sort every row in `directory`."""
    paths = find_files(directory)
    result = MergeResult(lines=[])
    seen_files: set = set()
    seen_rows: set = set()
    keyed: List[Tuple[int, int, str]] = []
    seq = 0
    for path in paths:
        data = _read(path)
        digest = hashlib.sha256(data).digest()
        if digest in seen_files:
            result.duplicate_files += 1
            continue
        seen_files.add(digest)
        result.files += 1
        window = name_window(path)
        if window:
            result.windows.append(window)
        last_ts = window[0] if window else 0
        for lineno, raw in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            line = raw.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except UNDECODABLE:  # bad JSON, or nested too deep to decode: malformed
                row = None
            if not isinstance(row, dict):
                result.malformed += 1
                if len(result.malformed_examples) < 3:
                    result.malformed_examples.append(f"{path}:{lineno}")
                continue
            ts = row.get("EventTimestampMs")
            if isinstance(ts, (int, float)) and not isinstance(ts, bool):
                last_ts = int(ts)
            if script and row.get("ScriptName") not in (None, script):
                result.skipped_script += 1
                continue
            if (from_ms is not None and last_ts < from_ms) or (to_ms is not None and last_ts > to_ms):
                result.skipped_time += 1
                continue
            row_digest = hashlib.sha1(line.encode("utf-8")).digest()
            if row_digest in seen_rows:
                result.duplicate_rows += 1
                continue
            seen_rows.add(row_digest)
            keyed.append((last_ts, seq, line))
            seq += 1
    keyed.sort()
    result.lines = [line for _, _, line in keyed]
    if keyed:
        result.first_ms, result.last_ms = keyed[0][0], keyed[-1][0]
    return result


def uncovered(windows: List[Tuple[int, int]], tolerance_ms: int = 1000) -> List[Tuple[int, int]]:
    """Stretches between Logpush files that no file's name window covers."""
    holes: List[Tuple[int, int]] = []
    covered_to: int | None = None
    for start, end in sorted(windows):
        if covered_to is not None and start > covered_to + tolerance_ms:
            holes.append((covered_to, start))
        covered_to = end if covered_to is None else max(covered_to, end)
    return holes

