"""--require-backup: the backup file exists, is recent enough, and holds the data: a D1 export
loads into SQLite with the tables and at least the rows the live database has; a KV backup
holds every live key with its value. Judged by content, never by size or name."""
from __future__ import annotations

import json
import os
import re
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from typing import Dict, Iterator, Set

from cutover.errors import CutoverError, UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TRANSACTION = re.compile(r"\s*(BEGIN|COMMIT|END|ROLLBACK)\b[^;]*;\s*$", re.IGNORECASE)


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


@dataclass(frozen=True)
class D1Backup:
    tables: Dict[str, int]  # rows per table, counted after loading the file into SQLite


def _statements(handle: Iterator[str]) -> Iterator[tuple[int, str]]:
    """(first line number, statement) for each complete SQL statement, streamed."""
    buf: list[str] = []
    start = 0
    for number, line in enumerate(handle, 1):
        if not buf:
            if not line.strip():
                continue
            start = number
        if "\x00" in line:
            raise CutoverError(f"line {number} holds a NUL byte: not SQL text")
        buf.append(line)
        text = "".join(buf)
        if sqlite3.complete_statement(text):
            yield start, text
            buf = []
    if "".join(buf).strip():
        raise CutoverError(f"the file ends inside a statement that starts on line {start} (cut short?)")


def read_d1_backup(path: str) -> D1Backup:
    """Load a `wrangler d1 export` file into a scratch SQLite database and count each table's rows."""
    with tempfile.TemporaryDirectory(prefix="cutover-backup-") as scratch:
        conn = sqlite3.connect(os.path.join(scratch, "backup.sqlite"), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=OFF")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("BEGIN")
            with open(path, encoding="utf-8", errors="surrogateescape") as handle:
                try:
                    for line, statement in _statements(handle):
                        if _TRANSACTION.match(statement):
                            continue  # a sqlite3 .dump wraps itself in BEGIN/COMMIT; we hold our own
                        try:
                            conn.execute(statement)
                        except (sqlite3.Error, ValueError) as exc:  # ValueError: NUL bytes, undecodable text
                            raise CutoverError(f"line {line}: {exc}") from None
                except CutoverError as exc:
                    raise CutoverError(
                        f"nothing deleted: backup {path} is not a D1 export SQLite can load ({exc}); "
                        "take one with: wrangler d1 export DB --remote --output FILE.sql"
                    ) from None
            conn.execute("COMMIT")
            names = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
            return D1Backup({n: conn.execute(f'SELECT COUNT(*) FROM "{n.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
                             for n in names})
        finally:
            conn.close()


def read_kv_backup(path: str) -> Set[str]:
    """The key names of a KV backup: a `wrangler kv bulk put` JSON array ([{"key", "value", …}], as
    `backfill-kv --emit` writes it) or a JSON object {key: value}. Entries without a value do not count."""
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CutoverError(f"nothing deleted: backup {path} is not a KV backup (not JSON: {exc})") from None
    if isinstance(doc, dict):
        return {str(k) for k in doc}
    if isinstance(doc, list) and all(isinstance(e, dict) for e in doc):
        if doc and not any("key" in e and "value" in e for e in doc):
            raise CutoverError(
                f"nothing deleted: backup {path} lists {len(doc):,} entries without key and value "
                "(a key listing is not a backup); use a wrangler kv bulk put file, e.g. from backfill-kv --emit"
            )
        return {str(e["key"]) for e in doc if "key" in e and "value" in e}
    raise CutoverError(f"nothing deleted: backup {path} is not a KV backup (expected a JSON array of {{key, value}})")


def _few(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:3])
    return shown + (f" and {len(names) - 3:,} more" if len(names) > 3 else "")


def judge_d1_backup(path: str, backup: D1Backup, live: Dict[str, int] | None) -> str:
    """A line for the summary, or CutoverError when the export does not hold the database."""
    rows = sum(backup.tables.values())
    if not backup.tables:
        raise CutoverError(f"nothing deleted: backup {path} holds no CREATE TABLE: not an export of a database")
    if live is None:
        if rows == 0:
            raise CutoverError(
                f"nothing deleted: backup {path} holds tables but no rows, and the live database could not be "
                "counted to tell whether it is empty; set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID"
            )
        return f"{len(backup.tables)} tables, {rows:,} rows (not compared with the live database)"
    missing = sorted(t for t in live if t not in backup.tables)
    if missing:
        raise CutoverError(f"nothing deleted: backup {path} lacks table(s) {_few(missing)} of the live database; "
                           "take a fresh export")
    short = sorted(t for t, n in live.items() if backup.tables[t] < n)
    if short:
        detail = ", ".join(f"{t}: {backup.tables[t]:,} of {live[t]:,}" for t in short[:3])
        raise CutoverError(f"nothing deleted: backup {path} holds fewer rows than the live database ({detail}); "
                           "take a fresh export")
    return f"{len(backup.tables)} tables, {rows:,} rows: every live table, at least its live rows"


def judge_kv_backup(path: str, keys: Set[str], live: Set[str] | None) -> str:
    """A line for the summary, or CutoverError when the backup does not hold the namespace's keys."""
    if live is None:
        if not keys:
            raise CutoverError(
                f"nothing deleted: backup {path} holds no keys, and the live namespace could not be listed to tell "
                "whether it is empty; set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID and use --namespace-id"
            )
        return f"{len(keys):,} keys (not compared with the live namespace)"
    missing = sorted(live - keys)
    if missing:
        raise CutoverError(f"nothing deleted: backup {path} lacks {len(missing):,} of the {len(live):,} live keys "
                           f"({_few(missing)}); take a fresh backup")
    return f"{len(keys):,} keys: every live key"
