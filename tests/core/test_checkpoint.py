"""A checkpoint from another run is refused in words: which setting differs, then and now."""
from __future__ import annotations

from pathlib import Path

import pytest

from cutover.core.checkpoint import Checkpoint, job_differences
from cutover.errors import CutoverError


@pytest.mark.parametrize("before, now, said", [
    ({"a": 1}, {"a": 2}, ["a was 1, now 2"]),
    ({"since": None}, {"since": "24h"}, ["since was not given, now 24h"]),
    ({"m": {"x": {"ns": "A"}}}, {"m": {"x": {"ns": "B"}}}, ["m.x.ns was A, now B"]),
    ({"m": {"x": {}}}, {"m": {"x": {}, "y": {}}}, ["m.y was not part of that run"]),
    ({"m": {"x": {}, "y": {}}}, {"m": {"x": {}}}, ["m.y was part of that run, not of this one"]),
    ({"a": 1, "b": [1]}, {"a": 1, "b": [2]}, ["b was [1], now [2]"]),
    ({"a": 1}, {"a": 1}, []),
])
def test_job_differences_in_words(before: dict, now: dict, said: list) -> None:
    assert job_differences(before, now) == said


def test_refusal_names_the_setting_and_both_ways_out(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    first = Checkpoint(str(path), {"command": "x", "namespace": "aaa"})
    first.state["done"] = 3
    first.save()

    def describe(key: tuple, before: object, now: object) -> str | None:
        return f"the namespace was {before}, now {now}" if key == ("namespace",) else None

    other = Checkpoint(str(path), {"command": "x", "namespace": "bbb"}, describe=describe)
    for resume in (True, False):
        with pytest.raises(CutoverError) as info:
            other.open(resume)
        text = str(info.value)
        assert "the namespace was aaa, now bbb" in text and "{" not in text
        assert f"delete {path}" in text and "original settings" in text
        assert ("--resume" in text) is (not resume)
    same = Checkpoint(str(path), {"command": "x", "namespace": "aaa"})
    with pytest.raises(CutoverError, match="add --resume"):
        same.open(False)
    assert same.open(True) and same.state == {"done": 3} and same.on_disk


def test_nothing_on_disk_until_saved(tmp_path: Path) -> None:
    cp = Checkpoint(str(tmp_path / "cp.json"), {"command": "x"})
    assert cp.open(False) is False and cp.open(True) is False
    assert not cp.exists() and not cp.on_disk
