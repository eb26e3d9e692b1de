#!/usr/bin/env python3
"""Build dist/cutover.pyz: one file an operator copies to a bastion.

Bootstraps its own build tools (shiv, setuptools) in .build-venv, so a fresh machine needs
only python3 and access to PyPI. The build is reproducible: same sources, same bytes
(timestamps from SOURCE_DATE_EPOCH, default 1980-01-01; entries sorted; no paths recorded).

shiv assembles the zipapp; we then swap its bootstrap for a launcher that runs straight
from the zip. cutover is pure Python, so nothing needs extracting — which is what makes the
pyz work where HOME is not writable (shiv's default is to unpack into ~/.shiv) and leaves
no copies behind.
"""
from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BUILD_VENV = ROOT / ".build-venv"
DIST = ROOT / "dist" / "cutover.pyz"
BUILD_TOOLS = ("shiv==1.0.8", "setuptools>=69", "wheel")
DEFAULT_EPOCH = 315532800  # 1980-01-01, the earliest time a zip entry can hold

LAUNCHER = '''\
# cutover launcher: run straight from this zip. cutover is pure standard-library Python,
# so nothing is extracted (no ~/.shiv, works with an unwritable HOME, leaves nothing behind).
import os
import sys

if sys.version_info < (3, 8):
    sys.stderr.write("cutover needs Python 3.8 or newer (this is %d.%d)\\n" % sys.version_info[:2])
    raise SystemExit(1)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "site-packages"))
from cutover.cli import main  # noqa: E402

raise SystemExit(main())
'''


def bin_path(env: Path, name: str) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_build_venv() -> Path:
    python = bin_path(BUILD_VENV, "python")
    marker = BUILD_VENV / ".tools-installed"
    wanted = "\n".join(BUILD_TOOLS)
    if not python.exists():
        print(f"build: creating {BUILD_VENV.name} for the build tools", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(BUILD_VENV)
    if not marker.exists() or marker.read_text() != wanted:
        env = dict(os.environ, PIP_NO_CACHE_DIR="1")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *BUILD_TOOLS],
                       check=True, env=env)
        marker.write_text(wanted)
    return python


def stage_site_packages(python: Path, staging: Path) -> None:
    """pip-install the package (no deps: it has none) into `staging`, minus path-dependent files."""
    # The build must not depend on HOME (pip's wheel cache lives there; it may be read-only).
    env = dict(os.environ, HOME=str(staging.parent), PIP_NO_CACHE_DIR="1")
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
         "--no-build-isolation", "--no-compile", "--target", str(staging), str(ROOT)],
        check=True,
        cwd=str(staging.parent),
        env=env,
    )
    for junk in ("direct_url.json", "RECORD", "INSTALLER", "REQUESTED"):
        for path in staging.glob(f"*.dist-info/{junk}"):
            path.unlink()
    for bin_dir in staging.glob("bin"):
        shutil.rmtree(bin_dir)


def stage_docs(staging: Path) -> None:
    """docs/**/*.md into the package as cutover/_docs/, so `cutover docs rollback` works on a
    bastion. docs/ stays the one copy; the pyz carries it, nothing edits it twice."""
    target = staging / "cutover" / "_docs"
    for source in sorted((ROOT / "docs").rglob("*.md")):
        dest = target / source.relative_to(ROOT / "docs")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, dest)


def hash_pyc(source: bytes, filename: str) -> bytes:
    """An unchecked hash-based .pyc (PEP 552): deterministic, no timestamps. zipimport uses it
    on the same Python version and falls back to the .py on any other."""
    code = compile(source, filename, "exec", dont_inherit=True, optimize=0)
    flags = (0b01).to_bytes(4, "little")  # hash-based, check_source off
    return importlib.util.MAGIC_NUMBER + flags + importlib.util.source_hash(source) + marshal.dumps(code)


def normalize(raw: Path, out: Path, epoch: int) -> None:
    """Rewrite shiv's zip: our launcher as __main__.py, legacy .pyc beside each .py, sorted, fixed times."""
    date_time = time.gmtime(max(epoch, DEFAULT_EPOCH))[:6]
    with zipfile.ZipFile(raw) as src:
        entries = {info.filename: src.read(info) for info in src.infolist() if not info.is_dir()}
        shebang = raw.read_bytes().split(b"\n", 1)[0] + b"\n"
    entries["__main__.py"] = LAUNCHER.encode("utf-8")
    for name in [n for n in entries if n.startswith("site-packages/cutover/") and n.endswith(".py")]:
        pyc_name = name[:-3] + ".pyc"
        entries[pyc_name] = hash_pyc(entries[name], f"cutover.pyz/{name}")
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        handle.write(shebang)
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, date_time=date_time)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                info.create_system = 3
                dst.writestr(info, entries[name])
    os.chmod(tmp, 0o755)
    os.replace(tmp, out)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build the one-file cutover.pyz.")
    parser.add_argument("--output", type=Path, default=DIST, help=f"where to write the pyz (default {DIST.relative_to(ROOT)})")
    out = parser.parse_args(argv).output.resolve()
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or DEFAULT_EPOCH)
    python = ensure_build_venv()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cutover-build-") as tmp:
        staging = Path(tmp) / "site-packages"
        staging.mkdir()
        stage_site_packages(python, staging)
        stage_docs(staging)
        raw = Path(tmp) / "raw.pyz"
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
        subprocess.run(
            [str(bin_path(BUILD_VENV, "shiv")), "--site-packages", str(staging), "-e", "cutover.cli:main",
             "-p", "/usr/bin/env python3", "--reproducible", "--compressed", "-o", str(raw)],
            check=True,
            env=env,
        )
        normalize(raw, out, epoch)
    # setuptools leaves these in the source tree; they are build by-products, not inputs.
    for by_product in (ROOT / "build", *ROOT.glob("*.egg-info")):
        shutil.rmtree(by_product, ignore_errors=True)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"built {out}  {out.stat().st_size:,} bytes  sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
