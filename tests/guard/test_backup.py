"""--max-backup-age parsing and the backup check (real files, clock passed in)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from cutover.errors import CutoverError, UsageError
from cutover.guard.backup import check_backup, parse_age


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("24h", 86400), ("24", 86400), ("90m", 5400), ("3600s", 3600), ("2d", 172800), ("0.5h", 1800), (" 1h ", 3600)],
)
def test_parse_age(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-1h", "1w", "h", "1 day", "soon"])
def test_parse_age_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_age(text)


def test_check_backup(tmp_path: Path) -> None:
    backup = tmp_path / "d1.sql"
    backup.write_bytes(b"x" * 2048)
    os.utime(backup, (1_000_000, 1_000_000))
    assert check_backup(str(backup), 3600, now=1_000_000 + 600) == f"{backup} (2,048 bytes, 10m old)"
    with pytest.raises(CutoverError, match="is 60m old, more than --max-backup-age 30m"):
        check_backup(str(backup), 1800, now=1_000_000 + 3600)
    with pytest.raises(CutoverError, match="does not exist"):
        check_backup(str(tmp_path / "none.sql"), 3600)
    with pytest.raises(CutoverError, match="not a regular file"):
        check_backup(str(tmp_path), 3600)
