"""`wrangler tail` in its default pretty format, saved as text: a header line per invocation
(`POST https://… - Ok @ 11/28/2025, 12:00:00 AM`), then one `  (log) …` line per console.log call.

The header's time is `toLocaleString()` of the machine that ran wrangler: local time of a zone the
text does not name, so it is not read as a time (the report then says the span is unknown, and
--since/--until refuse the input); `--format json` keeps the epoch times."""
from __future__ import annotations

import io
import re
from typing import BinaryIO, Iterator

from cutover.logs.model import Entry, Record

NAME = "tail-pretty"

# wrangler's prettifyOutcome, read back
OUTCOMES = {"Ok": "ok", "Canceled": "canceled", "Exceeded CPU Limit": "exceededCpu",
            "Exceeded Memory Limit": "exceededMemory", "Exception Thrown": "exception", "Unknown": "unknown"}
_OUTCOME = "|".join(re.escape(o) for o in OUTCOMES)
# fetch, tail, queue, rpc events: `WHAT - Outcome @ time`; cron, alarm, email: `WHAT @ time - Outcome`
_HEADER = re.compile(rf"^(?:\S.* - (?P<a>{_OUTCOME}) @ .+|\S.* @ .+ - (?P<b>{_OUTCOME}))$")
_LOG = re.compile(r"^  \((?P<level>log|info|debug|warn|error|trace)\)(?: (?P<text>.*))?$")
_EXCEPTION = re.compile(r"^(?P<name>[A-Z][\w$]*(?:Error|Exception))(?:: (?P<message>.*))?$")
_STACK = re.compile(r"^\s+at ")


def looks_like(head: bytes) -> bool:
    """A `  (log) ` line or an invocation header among the first lines."""
    lines = head.decode("utf-8", "replace").splitlines()[:200]
    return any(_LOG.match(line) or _HEADER.match(line) for line in lines)


def records(stream: BinaryIO) -> Iterator[Record]:
    """One record per invocation header; log lines (with their continuation lines: objects that
    util.inspect spread over several lines, multi-line strings) are its entries."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)
    record: Record | None = None
    entry: Entry | None = None
    for raw in text:
        line = raw.rstrip("\r\n")
        header = _HEADER.match(line)
        if header:
            if record is not None:
                yield record
            record = Record(NAME, outcome=OUTCOMES[header.group("a") or header.group("b")])
            entry = None
            continue
        log = _LOG.match(line)
        exception = None if log else _EXCEPTION.match(line)
        if log or exception:
            if record is None:  # cut at the start: the header of this invocation is missing
                record = Record(NAME)
            if log:
                entry = Entry([log.group("text") or ""])
                record.entries.append(entry)
            else:  # exceptions, when stderr was saved too (`2>&1`)
                record.exceptions.append((exception.group("name"), exception.group("message") or "", None))  # type: ignore[union-attr]
                entry = None
            continue
        # wrangler's banner and "Connected to …" come before any record; a stack trace ends an entry
        if entry is not None and line.strip() and not _STACK.match(line):
            entry.items[0] += "\n" + line
    if record is not None:
        yield record
