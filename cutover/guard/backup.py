"""--require-backup: the backup file exists, is not empty, and is recent enough."""
from __future__ import annotations

import os
import re
import time

from cutover.errors import CutoverError, UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> float:
    """'24h', '90m', '3600s', '2d' → seconds; a bare number means hours."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise UsageError(f"--max-backup-age {text!r}: use a positive duration like 24h, 90m, 2d")
    return float(m.group(1)) * _UNITS[m.group(2) or "h"]


def describe_age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def check_backup(path: str, max_age_seconds: float, now: float | None = None) -> str:
    """One line describing the backup, or CutoverError (nothing deleted) when it will not do."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CutoverError(f"nothing deleted: backup {path} does not exist (--require-backup)") from None
    except OSError as exc:
        raise CutoverError(f"nothing deleted: cannot read backup {path} ({exc.strerror})") from None
    if not os.path.isfile(path):
        raise CutoverError(f"nothing deleted: backup {path} is not a regular file")
    if st.st_size == 0:
        raise CutoverError(f"nothing deleted: backup {path} is empty")
    age = (time.time() if now is None else now) - st.st_mtime
    if age > max_age_seconds:
        raise CutoverError(
            f"nothing deleted: backup {path} is {describe_age(age)} old, more than --max-backup-age "
            f"{describe_age(max_age_seconds)}; take a fresh one"
        )
    return f"{path} ({st.st_size:,} bytes, {describe_age(max(0.0, age))} old)"
