"""Append-with-checkpoint output: committed frames only, gzip members, truncation on resume."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from cutover.errors import CutoverError
from cutover.logfetch.output import AppendOutput


@pytest.mark.parametrize("name", ["out.ndjson", "out.ndjson.gz"])
def test_resume_drops_a_half_written_row(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    out = AppendOutput(str(path))
    out.start()
    committed = out.append([{"a": 1}, {"a": 2}])
    with open(out.partial, "ab") as handle:  # a crash in the middle of the next frame
        handle.write(b'{"a": 3, "half')
    again = AppendOutput(str(path))
    again.start(committed)
    again.append([{"a": 3}])
    again.finish()
    raw = gzip.decompress(path.read_bytes()) if name.endswith(".gz") else path.read_bytes()
    assert [json.loads(line) for line in raw.decode().splitlines()] == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert not Path(out.partial).exists()


def test_resume_refuses_a_shorter_partial_file(tmp_path: Path) -> None:
    out = AppendOutput(str(tmp_path / "x.ndjson"))
    out.start()
    out.append([{"a": 1}])
    with pytest.raises(CutoverError, match="checkpoint expects"):
        AppendOutput(str(tmp_path / "x.ndjson")).start(10_000)


def test_rows_keep_the_api_shape(tmp_path: Path) -> None:
    row = {"$metadata": {"id": "x", "message": "é"}, "$workers": {"scriptName": "bot"}, "source": {"event": "e"},
           "timestamp": 1}
    out = AppendOutput(str(tmp_path / "x.ndjson"))
    out.start()
    out.append([row])
    out.finish()
    line = (tmp_path / "x.ndjson").read_text(encoding="utf-8")
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == row and list(json.loads(line)) == list(row)
