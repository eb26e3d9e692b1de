"""`wrangler tail` in its default pretty format, saved as text: a header line per invocation
(`POST https://… - Ok @ 11/28/2025, 12:00:00 AM`), then one `  (log) …` line per console.log call.

The header's time is `toLocaleString()` of the machine that ran wrangler: local time of a zone the
text does not name, so it is not read as a time (the report then says the span is unknown, and
--since/--until refuse the input); `--format json` keeps the epoch times."""
from __future__ import annotations

import io
import json
import re
from typing import BinaryIO, Iterator

from cutover.errors import UNDECODABLE
from cutover.soak.model import Entry, Record

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


# util.inspect's notation of a logged object (`{ event: 'cmd_timing', cold: true }`), token by token
_TOKEN = re.compile(r"""\s+|(?P<sq>'(?:[^'\\\n]|\\.)*')|(?P<dq>"(?:[^"\\\n]|\\.)*")|(?P<bq>`(?:[^`\\]|\\.)*`)"""
                    r"|(?P<hidden>\[(?:Object|Array|Function|Circular|Getter|class)[^\]]*\])"
                    r"|(?P<key>[A-Za-z_$][\w$]*)(?=\s*:)|(?P<word>true|false|null|undefined|NaN|-?Infinity)"
                    r"|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)n?|(?P<punct>[{}\[\],:])")


def _quoted(body: str) -> str:
    """A JS string literal's body (quotes removed) as a JSON string literal."""
    body = re.sub(r"\\x([0-9a-fA-F]{2})", r"\\u00\1", body.replace("\\'", "'").replace("\\`", "`"))
    return '"' + re.sub(r'(?<!\\)((?:\\\\)*)"', r'\1\\"', body) + '"'


def inspected_object(text: str) -> object:
    """The object util.inspect printed, or None when the text is not (only) one."""
    if not text.startswith("{"):
        return None
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            return None
        pos = m.end()
        kind = m.lastgroup
        token = m.group(kind) if kind else ""
        if kind in ("sq", "dq", "bq"):
            out.append(_quoted(token[1:-1]))
        elif kind == "key":
            out.append(json.dumps(token))
        elif kind == "hidden" or (kind == "word" and token not in ("true", "false", "null")):
            out.append("null")  # nested beyond inspect's depth, undefined, NaN: no value to read
        elif kind:
            out.append(token)
    try:
        value = json.loads("".join(out))
    except UNDECODABLE:
        return None
    return value if isinstance(value, dict) else None


def looks_like(head: bytes) -> bool:
    """A `  (log) ` line or an invocation header among the first lines."""
    lines = head.decode("utf-8", "replace").splitlines()[:200]
    return any(_LOG.match(line) or _HEADER.match(line) for line in lines)


def records(stream: BinaryIO) -> Iterator[Record]:
    """One record per invocation header; log lines (with their continuation lines: objects that
    util.inspect spread over several lines, multi-line strings) are its entries."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline=None)
    record: Record | None = None
    entry: Entry | None = None
    for raw in text:
        line = raw.rstrip("\r\n")
        header = _HEADER.match(line)
        if header:
            if record is not None:
                yield _settle(record)
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
        yield _settle(record)


def _settle(record: Record) -> Record:
    """Entries that are a logged object in util.inspect's notation become that object."""
    for entry in record.entries:
        text = entry.items[0]
        if isinstance(text, str) and text.startswith("{") and not text.startswith('{"'):  # JSON is read later
            obj = inspected_object(text)
            if obj is not None:
                entry.items[0] = obj
    return record
