"""Run the node --test suites against the files `cutover worker-src export` writes."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cutover.worker import MANIFEST
from cutover.worker.shipped import export_files
from tests.support.tools import node_bin

HERE = Path(__file__).resolve().parent
SUITES = sorted(p.name for p in HERE.glob("*.test.mjs"))


@pytest.fixture(scope="module")
def node_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An exported copy of the shipped modules, marked as ES modules, next to the test files."""
    root = tmp_path_factory.mktemp("node-suites")
    list(export_files(str(root / "worker")))
    # Node treats .js as CommonJS unless told otherwise; in a Worker project the bundler does this.
    (root / "package.json").write_text(json.dumps({"type": "module", "private": True}), encoding="utf-8")
    for suite in SUITES:
        shutil.copyfile(HERE / suite, root / suite)
    return root


def test_suites_present() -> None:
    assert {"timing.test.mjs", "context.test.mjs", "middleware.test.mjs"} <= set(SUITES)


@pytest.mark.parametrize("suite", SUITES)
def test_node_suite(node_workspace: Path, suite: str) -> None:
    proc = subprocess.run(
        [node_bin(), "--test", "--test-reporter=tap", suite],
        cwd=str(node_workspace), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # A suite that silently ran nothing must not pass.
    assert "# fail 0" in proc.stdout
    passed = [line for line in proc.stdout.splitlines() if line.startswith("# pass ")]
    assert passed and int(passed[-1].split()[-1]) >= 3, proc.stdout[-2000:]


@pytest.mark.parametrize("name", MANIFEST)
def test_shipped_file_is_valid_es_module_syntax(node_workspace: Path, name: str) -> None:
    # .mjs copy: `node --check` parses as an ES module without resolving imports (e.g. grammy).
    probe = node_workspace / "syntax" / (name[:-3] + ".mjs")
    probe.parent.mkdir(exist_ok=True)
    shutil.copyfile(node_workspace / "worker" / name, probe)
    proc = subprocess.run([node_bin(), "--check", str(probe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
