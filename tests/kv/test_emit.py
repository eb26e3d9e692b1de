"""--emit file naming and contents (the wrangler round trip is in tests/commands/test_backfill_kv.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cutover.kv.emit import EmitSink, emit_path
from cutover.kv.record import KVRecord


@pytest.mark.parametrize(
    "template, several, expected",
    [
        ("kv.json", False, "kv.json"),
        ("kv.json", True, "kv.sessions.json"),
        ("out/kv-{module}.json", True, "out/kv-sessions.json"),
        ("out/kv-{module}.json", False, "out/kv-sessions.json"),
        ("dump", True, "dump.sessions.json"),
    ],
)
def test_emit_path(template: str, several: bool, expected: str) -> None:
    assert emit_path(template, "sessions", several) == expected


def test_emit_pairs(tmp_path: Path) -> None:
    now = 1_800_000_000_000
    sink = EmitSink(str(tmp_path / "kv.json"), clock_ms=lambda: now)
    result = sink.write([
        KVRecord("a", b"text \xc3\xa9", None, None, 1),
        KVRecord("b", b"\xff\x00", now + 30_000, '{"m":1}', 2),
        KVRecord("c", b"x", now - 1, None, 3),
        KVRecord("a", b"later", now + 3_600_500, None, 4),
    ])
    assert not (tmp_path / "kv.json").exists()  # only on close, atomically
    sink.close()
    assert (result.written, result.expired, result.superseded) == (2, 1, 1)
    assert json.loads((tmp_path / "kv.json").read_text()) == [
        {"key": "b", "value": "/wA=", "expiration_ttl": 60, "metadata": {"m": 1}, "base64": True},
        {"key": "a", "value": "later", "expiration_ttl": 3601},
    ]


def test_emit_names_pairs_too_big_for_a_bulk_request(tmp_path: Path) -> None:
    sink = EmitSink(str(tmp_path / "kv.json"), max_bytes=500)
    sink.write([KVRecord("small", b"x", None, None, 1), KVRecord("control", b"\x01" * 100, None, None, 2)])
    sink.close()
    assert sink.oversized == ["control"]  # 100 bytes in KV, 600 escaped in the file
    assert [p["key"] for p in json.loads((tmp_path / "kv.json").read_text())] == ["small", "control"]
