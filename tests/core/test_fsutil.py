from __future__ import annotations

import os
import stat

import pytest

from cutover.core.checkpoint import Checkpoint
from cutover.core.fsutil import atomic_write_text, atomic_writer
from cutover.errors import CutoverError


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "out.txt"
    atomic_write_text(str(path), "one")
    atomic_write_text(str(path), "two")
    assert path.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_failed_write_leaves_old_content_and_no_temp(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_writer(str(path)) as handle:
        handle.write("partial")
        raise RuntimeError("crash mid-write")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_mode_follows_umask(tmp_path):
    path = tmp_path / "out.txt"
    old = os.umask(0o022)
    try:
        atomic_write_text(str(path), "x")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_checkpoint_round_trip_and_job_guard(tmp_path):
    path = str(tmp_path / "ck.json")
    ck = Checkpoint(path, {"cmd": "backfill-kv", "module": "sessions"})
    assert ck.load() is False
    ck.state["after_id"] = "abc"
    ck.save()
    again = Checkpoint(path, {"cmd": "backfill-kv", "module": "sessions"})
    assert again.load() and again.state == {"after_id": "abc"}
    with pytest.raises(CutoverError, match="other settings: module was sessions, now other"):
        Checkpoint(path, {"cmd": "backfill-kv", "module": "other"}).load()
    (tmp_path / "ck.json").write_text("{garbage")
    with pytest.raises(CutoverError, match="unreadable"):
        Checkpoint(path, {}).load()


def test_special_files_are_written_in_place_not_replaced(tmp_path):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    import threading

    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    atomic_write_text(str(fifo), "through the pipe")
    reader.join(timeout=10)
    assert got == ["through the pipe"]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still a FIFO, not a regular file
    atomic_write_text("/dev/null", "discarded")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_symlink_target_is_updated(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write_text(str(link), "new")
    assert link.is_symlink() and target.read_text() == "new"


def test_missing_directory_is_a_one_line_error_naming_the_given_path(tmp_path):
    # Was an "unexpected error" naming our hidden temp file (and a crash file) instead.
    target = str(tmp_path / "no-such-dir" / "report.json")
    with pytest.raises(CutoverError) as info:
        atomic_write_text(target, "{}")
    assert str(info.value) == f"cannot write {target}: No such file or directory"
    assert info.value.exit_code == 1
    assert not (tmp_path / "no-such-dir").exists()


def test_json_text_writes_lone_surrogates_as_escapes(tmp_path):
    import json

    from cutover.core.fsutil import atomic_write_json, json_text

    value = {"_id": "a\ud800b\udfff", "ok": "é😀"}
    text = json_text(value)
    assert json.loads(text) == value
    assert "é😀" in text  # readable text stays as it is
    text.encode("utf-8")
    atomic_write_json(str(tmp_path / "cp.json"), value)
    assert json.loads((tmp_path / "cp.json").read_text(encoding="utf-8")) == value


@pytest.mark.parametrize("make, problem", [
    (lambda d: d / "sub", "is a directory"),
    (lambda d: d / "missing" / "x.json", "does not exist"),
])
def test_check_writable_names_the_flag(tmp_path, make, problem):
    from cutover.core.fsutil import check_writable

    (tmp_path / "sub").mkdir()
    with pytest.raises(CutoverError, match=f"^--out: cannot write .*{problem}"):
        check_writable(str(make(tmp_path)), "--out")
    before = sorted(p.name for p in tmp_path.iterdir())
    check_writable(str(tmp_path / "fine.json"), "--out")
    existing = tmp_path / "kept.txt"
    existing.write_text("keep me")
    check_writable(str(existing), "--out")
    check_writable("-", "--out")
    check_writable(os.devnull, "--out")
    assert existing.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before + ["kept.txt"])  # the probe left nothing
