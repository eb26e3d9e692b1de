"""cutover docs: each topic prints its page of docs/ byte for byte; without docs it says where they are."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cutover import cli
from cutover.cli import main
from cutover.commands import COMMANDS
from cutover.core.docs_files import topics as docs_topics
from tests.support.tools import REPO

DOCS = REPO / "docs"
TOPICS = docs_topics(tuple((c.name, c.aliases, c.summary) for c in COMMANDS))


def test_list_names_every_topic_and_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed[:2] == ["rollback", "soak"]
    assert {"config", "sources", "reference", "security"} <= set(listed)
    assert {c.name for c in cli.COMMANDS} <= set(listed)
    assert main(["docs", "list"]) == 0 and [line.split()[0] for line in capsys.readouterr().out.splitlines()] == listed


@pytest.mark.parametrize("topic", sorted(TOPICS))
def test_each_topic_prints_its_page_exactly(topic: str, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["docs", topic]) == 0
    relative = TOPICS[topic][0]
    assert capfdbinary.readouterr().out == (DOCS / relative).read_bytes()


def test_every_top_level_page_is_a_topic() -> None:
    served = {relative for relative, _ in TOPICS.values()}
    pages = {p.name for p in DOCS.glob("*.md")} - {"development.md"}
    assert pages <= served


def test_an_alias_finds_the_command_page(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["docs", "backfill-mongo-to-kv"]) == 0
    assert capfdbinary.readouterr().out == (DOCS / "commands" / "backfill-kv.md").read_bytes()


def test_unknown_topic_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "rolback"]) == 2
    assert capsys.readouterr().err == "cutover docs: no topic 'rolback'; see: cutover docs list\n"


def test_an_install_without_docs_says_where_they_are(tmp_path: Path) -> None:
    # A plain `pip install` carries the package but not docs/ (only the pyz does).
    shutil.copytree(REPO / "cutover", tmp_path / "cutover", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "cutover", "docs", "rollback"], capture_output=True, text=True,
                          env=env, cwd=str(tmp_path), timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "docs/runbook-rollback.md is not part of this install" in proc.stderr and "cutover.pyz" in proc.stderr
