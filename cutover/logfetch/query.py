"""Request bodies and response parsing for POST /accounts/{account_id}/workers/observability/telemetry/query.

Field names follow Cloudflare's API reference (TelemetryQueryParams / TelemetryQueryResponse):
`queryId`, `view: "events"`, `timeframe {from, to}` in epoch ms, `limit` (events view, at most
2,000), `offset` = the last row's `$metadata.id` with `offsetDirection: "next"`, `dry`, and
`parameters {filters, filterCombination, limit}`; rows come back in `result.events.events`.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List

from cutover.errors import CutoverError

QUERY_ID = "cutover-fetch-logs"  # ad-hoc id: the parameters are sent inline, nothing is saved (dry)
MAX_LIMIT = 2000  # Cloudflare's documented maximum for the events view
SCRIPT_KEY = "$workers.scriptName"

Filter = Dict[str, Any]

# The log lines analyze-soak counts (docs/commands/analyze-soak.md, what it counts); used by --soak-only.
SOAK_EVENTS = ("cmd_timing", "request", "dual_write_secondary_failure", "mongo_connection_error")
MONGO_ERROR_RE = r"Mongo(Network|NetworkTimeout|ServerSelection|TopologyClosed|PoolClosed)Error"
DUAL_WRITE_RE = r"(?i)dual.?write.*(fail|error)"


def leaf(key: str, operation: str, value: Any = None, kind: str = "string") -> Filter:
    """One filter leaf: {key, operation, type, value}."""
    node: Filter = {"key": key, "operation": operation, "type": kind}
    if value is not None:
        node["value"] = value
    return node


def group(filters: List[Filter], combination: str = "or") -> Filter:
    """A nested filter group (kind "group"), e.g. any-of several event names."""
    return {"kind": "group", "filterCombination": combination, "filters": filters}


def script_filter(script: str) -> Filter:
    return leaf(SCRIPT_KEY, "eq", script)


def _event_leaves(name: str) -> List[Filter]:
    # Logged as an object, Workers Logs indexes `event` as a field; logged as a JSON string,
    # only the message text carries it.
    return [leaf("event", "eq", name), leaf("$metadata.message", "regex", r'"event"\s*:\s*"' + re.escape(name) + '"')]


def events_filter(names: List[str]) -> Filter:
    """Rows whose logged object (or JSON string) has `event` equal to one of `names`."""
    return group([f for name in names for f in _event_leaves(name)])


def soak_filter() -> Filter:
    """Every row analyze-soak can count: the structured events, failure texts, CPU-limit outcomes."""
    return group(
        [f for name in SOAK_EVENTS for f in _event_leaves(name)]
        + [
            leaf("$metadata.message", "regex", MONGO_ERROR_RE),
            leaf("$metadata.message", "regex", DUAL_WRITE_RE),
            leaf("$metadata.error", "regex", MONGO_ERROR_RE),
            leaf("$workers.outcome", "eq", "exceededCpu"),
        ]
    )


def build_body(
    from_ms: int, to_ms: int, limit: int, filters: List[Filter], offset: str | None = None
) -> Dict[str, Any]:
    """The JSON body of one events query over [from_ms, to_ms]."""
    body: Dict[str, Any] = {
        "queryId": QUERY_ID,
        "view": "events",
        "dry": True,
        "timeframe": {"from": int(from_ms), "to": int(to_ms)},
        "limit": int(limit),
        "parameters": {"filters": list(filters), "filterCombination": "and", "limit": int(limit)},
    }
    if offset is not None:
        body["offset"] = offset
        body["offsetDirection"] = "next"
    return body


@dataclass
class Page:
    """One response: the rows, the API's own count, and the sampling level (1 = not sampled)."""

    rows: List[Dict[str, Any]]
    count: int | None = None
    abr_level: float = 1.0
    statistics: Dict[str, Any] = field(default_factory=dict)


def parse_page(body: Any, where: str) -> Page:
    """Check the v4 envelope and pull `result.events.events`; a missing `events` is an empty frame."""
    if not isinstance(body, dict):
        raise CutoverError(f"{where}: unexpected response (not a JSON object)")
    if body.get("success") is False:
        raise CutoverError(f"{where}: Cloudflare refused the query: {describe_errors(body)}")
    result = body.get("result")
    if not isinstance(result, dict):
        raise CutoverError(f"{where}: response has no result object")
    events = result.get("events") or {}
    if not isinstance(events, dict):
        raise CutoverError(f"{where}: result.events is not an object")
    rows = events.get("events") or []
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise CutoverError(f"{where}: result.events.events is not a list of objects")
    count = events.get("count")
    stats = result.get("statistics") if isinstance(result.get("statistics"), dict) else {}
    abr = stats.get("abr_level") if stats else None
    return Page(
        rows=rows,
        count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        abr_level=float(abr) if isinstance(abr, (int, float)) and not isinstance(abr, bool) and abr > 0 else 1.0,
        statistics=dict(stats or {}),
    )


def describe_errors(body: Dict[str, Any]) -> str:
    errors = body.get("errors") or []
    parts = []
    for err in errors if isinstance(errors, list) else []:
        if isinstance(err, dict):
            parts.append(f"{err.get('code', '?')} {err.get('message', '')}".strip())
    return "; ".join(parts) or "no error detail"


def row_id(row: Dict[str, Any]) -> str:
    """`$metadata.id` (the API's unique event id), or a content hash for a row without one."""
    meta = row.get("$metadata")
    if isinstance(meta, dict) and isinstance(meta.get("id"), str) and meta["id"]:
        return meta["id"]
    canonical = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha1:" + hashlib.sha1(canonical.encode("utf-8")).hexdigest()


def row_time(row: Dict[str, Any]) -> int | None:
    """The row's `timestamp` (epoch ms), or None."""
    ts = row.get("timestamp")
    if isinstance(ts, (int, float)) and not isinstance(ts, bool):
        return int(ts)
    return None
