from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _unwritable_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """HOME under a regular file: any write below it fails (even as root), catching code that
    writes where it should not. Tests that run wrangler give it its own HOME."""
    monkeypatch.setenv("HOME", "/dev/null/cutover-test-home")
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    monkeypatch.delenv("MONGODB_URI", raising=False)


@pytest.fixture(autouse=True)
def _wait_messages_default() -> None:
    """-q/-v of a command run in-process must not leak into the next test's wait messages."""
    from cutover.core import waits

    waits.configure()
