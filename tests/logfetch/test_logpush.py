"""Merging a Logpush folder: time order across files, duplicates skipped, uncovered stretches."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cutover.errors import CutoverError
from cutover.logfetch.logpush import merge_dir, name_window, uncovered
from tests.support.logpush_files import trace_event, write_batch

T0 = 1_795_802_400_000


def test_merge_orders_rows_and_skips_duplicates(tmp_path: Path) -> None:
    a = [trace_event(T0 + 1000 * i, {"event": "cmd_timing", "cmd": "/start", "durationMs": i}) for i in range(0, 30, 2)]
    b = [trace_event(T0 + 1000 * i + 500, {"event": "cmd_timing", "cmd": "/help", "durationMs": i}) for i in range(30)]
    write_batch(tmp_path, T0, T0 + 30_000, a)
    second = write_batch(tmp_path, T0, T0 + 30_000, b, tag="ffff0000")  # overlapping delivery
    shutil.copy(second, second.with_name(second.name.replace("ffff0000", "ffff0001")))  # same file twice
    write_batch(tmp_path, T0 + 30_000, T0 + 60_000, b[:3] + [trace_event(T0 + 40_000, "x", script="other")],
                tag="dup00000")  # rows redelivered in a later file, plus another Worker
    (tmp_path / "README.txt").write_text("not a log")
    result = merge_dir(str(tmp_path), script="bot")
    times = [json.loads(line)["EventTimestampMs"] for line in result.lines]
    assert times == sorted(times)
    assert len(result.lines) == len(a) + len(b)
    assert result.duplicate_files == 1 and result.duplicate_rows == 3 and result.skipped_script == 1
    assert result.first_ms == T0 and result.last_ms == T0 + 29_500


def test_time_window_and_malformed_lines(tmp_path: Path) -> None:
    rows = [trace_event(T0 + 60_000 * i, "tick") for i in range(10)]
    path = write_batch(tmp_path, T0, T0 + 600_000, rows)
    import gzip

    path.write_bytes(path.read_bytes() + gzip.compress(b"{not json\n[1,2]\n"))  # a second gzip member
    result = merge_dir(str(tmp_path), from_ms=T0 + 120_000, to_ms=T0 + 300_000)
    assert len(result.lines) == 4 and result.skipped_time == 6
    assert result.malformed == 2


def test_a_line_nested_too_deep_to_decode_is_malformed_not_a_crash(tmp_path: Path) -> None:
    rows = [trace_event(T0 + 60_000 * i, "tick") for i in range(3)]
    path = write_batch(tmp_path, T0, T0 + 600_000, rows)
    import gzip

    path.write_bytes(path.read_bytes() + gzip.compress(b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"\n"))
    result = merge_dir(str(tmp_path))
    assert len(result.lines) == 3 and result.malformed == 1


def test_name_window_and_uncovered() -> None:
    assert name_window("20261127T180000Z_20261127T180030Z_abcd.log.gz") == (T0, T0 + 30_000)
    assert name_window("whatever.log.gz") is None
    windows = [(T0, T0 + 30_000), (T0 + 30_000, T0 + 60_000), (T0 + 600_000, T0 + 630_000)]
    assert uncovered(windows) == [(T0 + 60_000, T0 + 600_000)]


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(CutoverError, match="not a directory"):
        merge_dir(str(tmp_path / "missing"))
