"""Bad input never crashes a reader: it is counted (malformed / unrecognized), not raised."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cutover.soak.analyze import Options, analyze
from cutover.soak.report import counts
from tests.support.soak_records import js, logpush, obs_row, tail, timing

FRAGMENTS = [
    js(logpush([[js(timing())]])), json.dumps(tail([[js(timing())]]), indent=4), js(obs_row(timing())), js(timing()),
    "{", "}", "[", "]", ",", "\n", "\"", "\\", "null", "1e999", "-", "\x00", "\ufeff", "a,b;c\n", "\xff", "{\"Logs\":",
    "\"Outcome\":\"exceededCpu\"", "cmd_timing", "MongoNetworkError", "dual-write failed", "\"$metadata\":{}",
]

settings_ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _check(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.bin"
    path.write_bytes(data)
    for exact in (False, True):
        result = analyze([str(path)], Options(fast=not exact, jobs=1, baseline_cold_ping_ms=100))
        c = counts(result)
        assert all(v >= 0 for k, v in c.items() if k != "outcomes")
        assert result.gate.decision in ("PROCEED", "PIVOT", "INCONCLUSIVE")


@settings_
@given(st.binary(max_size=2000))
def test_random_bytes(tmp_path: Path, data: bytes) -> None:
    _check(tmp_path, data)
    _check(tmp_path, gzip.compress(data))


@settings_
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_spliced_fragments(tmp_path: Path, parts: list) -> None:
    data = "".join(parts).encode("utf-8", "surrogatepass")
    _check(tmp_path, data)
    _check(tmp_path, data[: len(data) // 2])  # truncated anywhere


@settings_
@given(st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.text(max_size=10) | st.integers(),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(
                        st.sampled_from(["Logs", "Message", "Outcome", "logs", "message", "outcome", "event", "cmd", "durationMs",
                                         "cold", "$metadata", "$workers", "source", "Exceptions", "exceptions", "result", "events",
                                         "EventTimestampMs", "timestamp", "requestId", "error"]), children, max_size=6),
                    max_leaves=30))
def test_wrong_types_in_known_shapes(tmp_path: Path, value: object) -> None:
    _check(tmp_path, (json.dumps(value) + "\n").encode())
