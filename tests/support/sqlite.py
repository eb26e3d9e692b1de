"""A current SQLite for tests: pysqlite3-binary when installed (D1 runs a recent SQLite; the
system one may be older than 3.43, whose REAL literal parsing is not exact), else sqlite3."""
from __future__ import annotations

from typing import Any

try:
    import pysqlite3.dbapi2 as sqlite  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the dev environment
    import sqlite3 as sqlite  # type: ignore[no-redef]

VERSION = tuple(int(p) for p in sqlite.sqlite_version.split("."))
EXACT_REAL_PARSING = VERSION >= (3, 43, 0)


def connect(path: str = ":memory:") -> Any:
    """A connection that returns TEXT with invalid UTF-8 kept as surrogate escapes."""
    conn = sqlite.connect(path, check_same_thread=False, isolation_level=None)
    conn.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
    return conn
