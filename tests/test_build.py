"""The one-file build: reproducible, runs from the zip as an unprivileged user with an
unwritable HOME and a read-only cwd, and leaves nothing behind."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from cutover import __version__
from tests.support.tools import IN_CI, REPO

NOBODY = 65534


def _build(out: Path, epoch: str = "1700000000") -> Path:
    env = dict(os.environ, SOURCE_DATE_EPOCH=epoch)
    subprocess.run([sys.executable, str(REPO / "build.py"), "--output", str(out)], check=True, env=env,
                   capture_output=True, timeout=600)
    return out


@pytest.fixture(scope="module")
def pyz_dir():
    # A world-readable directory (pytest's tmp dirs are 0700 root) so uid 65534 can run the pyz.
    d = Path(tempfile.mkdtemp(prefix="cutover-pyz-"))
    d.chmod(0o755)
    try:
        _build(d / "cutover.pyz")
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_build_is_reproducible(pyz_dir, tmp_path):
    again = _build(tmp_path / "again.pyz")
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(again) == digest(pyz_dir / "cutover.pyz")


def test_pyz_carries_the_package_and_its_data(pyz_dir):
    with zipfile.ZipFile(pyz_dir / "cutover.pyz") as z:
        names = set(z.namelist())
    assert "__main__.py" in names and "site-packages/cutover/cli.py" in names
    assert "site-packages/cutover/cli.pyc" in names
    shipped = {n.rsplit("/", 1)[-1] for n in names if n.startswith("site-packages/cutover/")}
    src = {p.name for p in (REPO / "cutover").rglob("*") if p.suffix in (".js", ".ndjson", ".sql") or p.name.endswith(".json.gz")}
    assert src <= shipped
    docs = {f"site-packages/cutover/_docs/{p.relative_to(REPO / 'docs').as_posix()}" for p in (REPO / "docs").rglob("*.md")}
    assert "site-packages/cutover/_docs/runbook-rollback.md" in docs and docs <= names


def test_pyz_serves_the_runbooks_byte_for_byte(pyz_dir, tmp_path):
    # From the zip, not from a docs/ beside it: run it from an empty directory elsewhere.
    for topic, page in (("rollback", "runbook-rollback.md"), ("soak", "runbook-soak.md"),
                        ("backfill-kv", "commands/backfill-kv.md")):
        proc = subprocess.run([sys.executable, str(pyz_dir / "cutover.pyz"), "docs", topic], capture_output=True,
                              cwd=str(tmp_path), timeout=60, check=True)
        assert proc.stdout == (REPO / "docs" / page).read_bytes()


def _as_nobody(argv: list[str], cwd: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0 or not setpriv:
        if IN_CI:
            pytest.fail("CI runs as root with setpriv; this test must run there")
        pytest.skip("needs root and setpriv to switch to uid 65534")
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent-home", "LANG": "C.UTF-8", **(extra_env or {})}
    return subprocess.run(
        [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
    )


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["drill", "--help"]])
def test_pyz_runs_as_nobody_with_unwritable_home_and_readonly_cwd(pyz_dir, argv):
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin") or sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="cutover-nobody-tmp-"))
    try:
        tmp.chmod(0o777)
        result = _as_nobody([python, str(pyz_dir / "cutover.pyz"), *argv], cwd="/", extra_env={"TMPDIR": str(tmp)})
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        if argv == ["--version"]:
            assert result.stdout.strip() == f"cutover {__version__}"
        else:
            assert "usage: cutover" in result.stdout
        assert list(tmp.iterdir()) == []  # nothing extracted, nothing left behind
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _other_pythons() -> list[str]:
    found = []
    for version in ("3.8", "3.9", "3.12", "3.13"):
        for candidate in (f"/root/.pyenv/versions/{version}", ):
            for exe in sorted(Path(candidate).parent.glob(f"{version}*/bin/python{version}")) if Path("/root/.pyenv/versions").exists() else []:
                found.append(str(exe))
        which = shutil.which(f"python{version}")
        if which and which not in found and ".pyenv/shims" not in which:
            found.append(which)
    return found


@pytest.mark.parametrize("python", _other_pythons() or [pytest.param("none", marks=pytest.mark.skip(reason="no other Python installed"))])
def test_pyz_runs_on_other_pythons_including_the_38_floor(pyz_dir, python, tmp_path):
    result = subprocess.run([python, str(pyz_dir / "cutover.pyz"), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "usage: cutover" in result.stdout
    # the whole python-only rollback rehearsal exercises most runtime code on that interpreter
    drill = subprocess.run([python, str(pyz_dir / "cutover.pyz"), "drill", "--no-wrangler", "--workdir", str(tmp_path / "d")],
                           capture_output=True, text=True, timeout=300)
    assert drill.returncode == 0, drill.stdout + drill.stderr
