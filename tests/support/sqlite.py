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


# D1's documented limits (developers.cloudflare.com/d1/platform/limits): statements of at most
# 100,000 bytes, strings/BLOBs/rows of at most 2,000,000 bytes, 100 bound parameters, 32
# arguments per function, 100 columns; and an expression tree at most 100 deep.
D1_LIMITS = {
    "SQLITE_LIMIT_SQL_LENGTH": 100_000,
    "SQLITE_LIMIT_LENGTH": 2_000_000,
    "SQLITE_LIMIT_VARIABLE_NUMBER": 100,
    "SQLITE_LIMIT_FUNCTION_ARG": 32,
    "SQLITE_LIMIT_COLUMN": 100,
    "SQLITE_LIMIT_EXPR_DEPTH": 100,
}


def connect_d1_limited(path: str = ":memory:") -> Any:
    """The standard library's SQLite with D1's limits set (pysqlite3 has no setlimit)."""
    import sqlite3

    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.text_factory = lambda b: b.decode("utf-8", "surrogateescape")
    for name, value in D1_LIMITS.items():
        conn.setlimit(getattr(sqlite3, name), value)
    return conn


def split_script(script: str) -> list:  # type: ignore[type-arg]
    """Statements of a script, split on `;` outside strings (as D1 and wrangler split a file)."""
    import sqlite3

    out = []
    current = ""
    for part in script.split(";"):
        current += part + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \t\r\n;"):
                out.append(current.strip())
            current = ""
    if current.strip(" \t\r\n;"):
        out.append(current.strip())
    return out


def run_script_statementwise(conn: Any, script: str) -> None:
    """Each statement on its own, so the SQL-length limit applies per statement as in D1."""
    for statement in split_script(script):
        conn.execute(statement)
