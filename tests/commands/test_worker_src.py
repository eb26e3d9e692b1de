"""cutover worker-src: list / show / export, byte-identical to the package data, also from a zip."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cutover.cli import main
from cutover.worker import MANIFEST

REPO = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO / "cutover" / "worker"


def shipped(name: str) -> bytes:
    return (PACKAGE_DIR / name).read_bytes()


def test_manifest_matches_the_package_directory() -> None:
    on_disk = {p.name for p in PACKAGE_DIR.iterdir() if p.suffix == ".js"}
    assert set(MANIFEST) == on_disk
    assert {"timing.js", "request-context.js"} <= set(MANIFEST)
    assert any("fetch" in n for n in MANIFEST) and any("middleware" in n for n in MANIFEST)


def test_list_names_every_file_with_its_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker-src", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == list(MANIFEST)
    for line, name in zip(out, MANIFEST):
        assert f"{len(shipped(name))} bytes" in line


@pytest.mark.parametrize("name", MANIFEST)
def test_show_prints_the_exact_bytes(name: str, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["worker-src", "show", name]) == 0
    assert capfdbinary.readouterr().out == shipped(name)


def test_show_unknown_name_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker-src", "show", "../cli.py"]) == 2
    err = capsys.readouterr().err
    assert "no shipped file named '../cli.py'" in err and "timing.js" in err


@pytest.mark.parametrize("argv", [["worker-src", "show"], ["worker-src", "export"], ["worker-src", "list", "x"]])
def test_missing_or_extra_argument_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_export_writes_byte_identical_files_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "src" / "cutover"
    assert main(["worker-src", "export", str(target)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sorted(p.name for p in target.iterdir()) == sorted(MANIFEST)
    for name in MANIFEST:
        assert (target / name).read_bytes() == shipped(name)
    assert [line.split()[0] for line in out] == ["wrote"] * len(MANIFEST)
    assert all(str(target / n) in line for n, line in zip(MANIFEST, out))


def test_export_again_is_a_harmless_no_op(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker-src", "export", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["worker-src", "export", str(tmp_path)]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["unchanged"] * len(MANIFEST)


def test_export_refuses_to_overwrite_a_changed_file_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited = tmp_path / "timing.js"
    edited.write_bytes(b"// my local edits\n")
    assert main(["worker-src", "export", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "timing.js" in err and "--force" in err and "nothing written" in err
    assert edited.read_bytes() == b"// my local edits\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timing.js"], "no partial export"


def test_export_force_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "timing.js").write_bytes(b"old")
    assert main(["worker-src", "export", str(tmp_path), "--force"]) == 0
    out = capsys.readouterr().out
    assert f"replaced {tmp_path / 'timing.js'}" in out
    assert (tmp_path / "timing.js").read_bytes() == shipped("timing.js")


def test_export_onto_a_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "afile"
    target.write_text("x")
    assert main(["worker-src", "export", str(target)]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_export_from_a_zip_is_byte_identical(tmp_path: Path) -> None:
    # The pyz runs straight from a zip: the files must come from package data, not file paths.
    archive = tmp_path / "cutover.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((REPO / "cutover").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, path.relative_to(REPO).as_posix())
    target = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(archive)}
    proc = subprocess.run(
        [sys.executable, "-m", "cutover", "worker-src", "export", str(target)],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    for name in MANIFEST:
        assert (target / name).read_bytes() == shipped(name)
    check = subprocess.run(
        [sys.executable, "-c", "import cutover.worker, sys; print(cutover.worker.__file__)"],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60,
    )
    assert str(archive) in check.stdout, "the package really was imported from the zip"
