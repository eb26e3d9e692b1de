"""Locate real external tools for tests: node and wrangler (installed by .ci/run into .tools/node)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Mapping, Sequence

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
WRANGLER_LOCAL = REPO / ".tools" / "node" / "node_modules" / ".bin" / "wrangler"
IN_CI = bool(os.environ.get("CI"))


def missing(what: str) -> None:
    """Skip locally, fail in CI: CI must install what its tests need."""
    if IN_CI:
        pytest.fail(f"{what} is required in CI (.ci/run installs it)")
    pytest.skip(f"{what} not available")


def node_bin() -> str:
    node = shutil.which("node")
    if not node:
        missing("node")
    return node  # type: ignore[return-value]


def wrangler_bin() -> str:
    if WRANGLER_LOCAL.exists():
        return str(WRANGLER_LOCAL)
    found = shutil.which("wrangler")
    if not found:
        missing("wrangler (run .ci/run or: npm install --prefix .tools/node wrangler@4.86.0)")
    return found  # type: ignore[return-value]


def wrangler_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for running wrangler offline in tests: its own HOME, no metrics, no token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        WRANGLER_SEND_METRICS="false",
        WRANGLER_LOG="warn",
        CI="true",
        NO_COLOR="1",
        FORCE_COLOR="0",
    )
    env.update(extra or {})
    return env


def run_wrangler(args: Sequence[str], cwd: Path, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [wrangler_bin(), *args], cwd=str(cwd), env=wrangler_env(home), capture_output=True, text=True, timeout=timeout
    )


def shared_testdata(*parts: str) -> Path:
    """A path under ../shared/testdata, or skip cleanly (a user's own clone has no ../shared)."""
    path = SHARED.joinpath("testdata", *parts)
    if not path.exists():
        pytest.skip(f"{path} not present (../shared is absent outside the project workspace)")
    return path
