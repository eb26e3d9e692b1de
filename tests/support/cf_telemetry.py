"""Workers Observability telemetry query endpoint for FakeCloudflare, following Cloudflare's API
reference: POST /accounts/{account_id}/workers/observability/telemetry/query with `queryId`,
`timeframe {from, to}` (epoch ms), `view`, `limit` (<= 2,000), `offset`/`offsetDirection`,
`parameters {filters, filterCombination}`; rows in `result.events.events`, newest first.

The fake treats both ends of the timeframe as inclusive, the stricter case for a client that
tiles a window with adjacent frames (a row on a boundary comes back twice).
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List

from tests.support.cfapi import ACCOUNT_ID, FakeCloudflare, envelope, error
from tests.support.httpserver import Reply, Request

MAX_LIMIT = 2000
VIEWS = ("traces", "events", "calculations", "invocations", "requests", "agents")
OPERATIONS = {
    "includes", "not_includes", "starts_with", "regex", "exists", "is_null", "in", "not_in",
    "eq", "neq", "gt", "gte", "lt", "lte", "=", "!=", ">", ">=", "<", "<=",
}


@dataclass
class TelemetryStore:
    account_id: str = ACCOUNT_ID
    rows: List[Dict[str, Any]] = field(default_factory=list)
    queries: List[Dict[str, Any]] = field(default_factory=list)  # every accepted request body
    abr_level: float | None = None  # set > 1 to report sampled results
    omit_empty_events: bool = False  # answer an empty frame without an `events` object
    ignore_offset: bool = False  # a cursor that never advances (to prove gaps are reported)
    page_cap: int | None = None  # a page never holds more rows than this, whatever `limit` asks;
    # `events.count` still says how many matched (a short page is not the end)
    fail_after: int | None = None  # answer HTTP 400 to every query after this many (an "outage")
    on_query: Callable[[int], None] | None = None  # called with the number of queries answered so far
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, rows: List[Dict[str, Any]]) -> None:
        with self.lock:
            self.rows.extend(rows)


def make_row(
    ts: int,
    source: Any,
    *,
    script: str = "bot",
    request_id: str = "req-0",
    row_id: str | None = None,
    outcome: str = "ok",
    level: str = "log",
) -> Dict[str, Any]:
    """One events-view row as the API returns it ($metadata, $workers, dataset, source, timestamp)."""
    message = json.dumps(source) if isinstance(source, dict) else str(source)
    return {
        "$metadata": {
            "id": row_id or f"evt-{ts}-{request_id}",
            "requestId": request_id,
            "service": script,
            "level": level,
            "message": message,
            "origin": "fetch",
            "trigger": "POST /webhook",
            "type": "cf-worker",
        },
        "$workers": {
            "eventType": "fetch",
            "requestId": request_id,
            "scriptName": script,
            "outcome": outcome,
            "executionModel": "stateless",
            "truncated": False,
            "wallTimeMs": 40,
            "cpuTimeMs": 3,
        },
        "dataset": "cloudflare-workers",
        "source": source,
        "timestamp": ts,
    }


def _lookup(row: Dict[str, Any], key: str) -> Any:
    if key.startswith("$"):
        head, _, rest = key.partition(".")
        node: Any = row.get(head)
    else:
        node, rest = row.get("source"), key  # custom logged fields are queryable by name
    for part in rest.split(".") if rest else []:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _match_leaf(row: Dict[str, Any], f: Dict[str, Any]) -> bool:
    op = f["operation"]
    have = _lookup(row, f["key"])
    want = f.get("value")
    if op == "exists":
        return have is not None
    if op == "is_null":
        return have is None
    if have is None:
        return op in ("neq", "!=", "not_includes", "not_in")
    if op in ("eq", "="):
        return have == want
    if op in ("neq", "!="):
        return have != want
    if op == "includes":
        return str(want) in str(have)
    if op == "not_includes":
        return str(want) not in str(have)
    if op == "starts_with":
        return str(have).startswith(str(want))
    if op == "regex":
        return re.search(str(want), str(have)) is not None
    if op in ("in", "not_in"):
        inside = str(have) in [v.strip() for v in str(want).split(",")]
        return inside if op == "in" else not inside
    try:
        a, b = float(have), float(want)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return {"gt": a > b, ">": a > b, "gte": a >= b, ">=": a >= b, "lt": a < b, "<": a < b,
            "lte": a <= b, "<=": a <= b}[op]


def _match(row: Dict[str, Any], filters: List[Dict[str, Any]], combination: str) -> bool:
    results = []
    for f in filters:
        if f.get("kind") == "group":
            results.append(_match(row, f["filters"], f["filterCombination"]))
        else:
            results.append(_match_leaf(row, f))
    if not results:
        return True
    return all(results) if combination.lower() == "and" else any(results)


def _validate_filters(filters: Any, depth: int = 1) -> str | None:
    if not isinstance(filters, list):
        return "parameters.filters must be an array"
    if depth > 4:
        return "filter groups nest at most 4 deep"
    for f in filters:
        if not isinstance(f, dict):
            return "a filter must be an object"
        if f.get("kind") == "group":
            if f.get("filterCombination") not in ("and", "or", "AND", "OR"):
                return "a filter group needs filterCombination"
            problem = _validate_filters(f.get("filters"), depth + 1)
            if problem:
                return problem
            continue
        if not isinstance(f.get("key"), str) or f.get("operation") not in OPERATIONS:
            return f"bad filter {f!r}"
        if f.get("type") not in ("string", "number", "boolean"):
            return "filter type must be string, number or boolean"
    return None


def install(fake: FakeCloudflare, store: TelemetryStore | None = None) -> TelemetryStore:
    store = store or TelemetryStore()

    def query(req: Request) -> Reply:
        if req.params["account_id"] != store.account_id:
            return error(403, 10000, "Authentication error")
        try:
            body = req.json()
        except ValueError:
            return error(400, 10001, "body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("queryId"), str) or not body["queryId"]:
            return error(400, 10001, "queryId is required")
        tf = body.get("timeframe")
        if not isinstance(tf, dict) or not all(isinstance(tf.get(k), int) for k in ("from", "to")):
            return error(400, 10001, "timeframe.from and timeframe.to (epoch ms) are required")
        if tf["from"] > tf["to"]:
            return error(400, 10001, "timeframe.from is after timeframe.to")
        view = body.get("view", "calculations")
        if view not in VIEWS:
            return error(400, 10001, f"unknown view {view!r}")
        if view != "events":
            return error(400, 10001, "this fake implements the events view only")
        limit = body.get("limit", 50)
        if not isinstance(limit, int) or not 0 < limit <= MAX_LIMIT:
            return error(400, 10001, f"limit must be 1..{MAX_LIMIT}")
        params = body.get("parameters") or {}
        filters = params.get("filters") or []
        problem = _validate_filters(filters)
        if problem:
            return error(400, 10001, problem)
        combination = params.get("filterCombination", "and")
        with store.lock:
            if store.fail_after is not None and len(store.queries) >= store.fail_after:
                return error(400, 10001, "injected failure")
            store.queries.append(body)
            matched = [r for r in store.rows
                       if tf["from"] <= r["timestamp"] <= tf["to"] and _match(r, filters, combination)]
        matched.sort(key=lambda r: (r["timestamp"], r["$metadata"]["id"]), reverse=True)
        offset = body.get("offset")
        if offset is not None and not store.ignore_offset:
            if body.get("offsetDirection", "next") != "next":
                return error(400, 10001, "this fake pages forward only")
            ids = [r["$metadata"]["id"] for r in matched]
            matched = matched[ids.index(offset) + 1:] if offset in ids else []
        page = matched[:limit if store.page_cap is None else min(limit, store.page_cap)]
        stats: Dict[str, Any] = {"elapsed": 0.01, "rows_read": len(store.rows), "bytes_read": 100 * len(store.rows)}
        if store.abr_level is not None:
            stats["abr_level"] = store.abr_level
        result: Dict[str, Any] = {
            "run": {"id": "run-1", "accountId": store.account_id, "dry": bool(body.get("dry")), "granularity": 0,
                    "status": "COMPLETED", "timeframe": tf, "userId": "user-1",
                    "query": {"id": body["queryId"], "adhoc": True, "created": "", "createdBy": "",
                              "description": None, "name": body["queryId"], "parameters": params,
                              "updated": "", "updatedBy": ""}},
            "statistics": stats,
        }
        if store.on_query is not None:
            store.on_query(len(store.queries))
        if page or not store.omit_empty_events:
            result["events"] = {"events": page, "count": len(matched),
                                "fields": [{"key": "$metadata.id", "type": "string"}]}
        return envelope(result)

    fake.route("POST", "/accounts/{account_id}/workers/observability/telemetry/query", query)
    return store
