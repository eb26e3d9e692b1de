"""Run statements on D1 through the REST API (`POST …/d1/database/{id}/query` with `batch`).

For bastions without node/wrangler. Requests are paced by the shared Cloudflare budget
and progress is checkpointed after every acknowledged batch, so a crash or Ctrl-C resumes at
the first statement not yet acknowledged (statements are upserts: redoing one is harmless).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Sequence, Tuple

from cutover.core.checkpoint import Checkpoint
from cutover.core.http import HttpClient, HttpError
from cutover.errors import CutoverError

DEFAULT_BATCH_BYTES = 1_000_000
DEFAULT_BATCH_STATEMENTS = 50


class D1ApiError(CutoverError):
    """D1 refused a statement (the message carries D1's own text)."""


def _errors_text(payload: Any) -> str:
    if isinstance(payload, dict):
        errors = payload.get("errors") or []
        parts = [f"{e.get('message', '')} [code {e.get('code')}]" for e in errors if isinstance(e, dict)]
        if parts:
            return "; ".join(parts)
    return "no error detail in the response"


class D1Api:
    """The two D1 endpoints we use: database info and query."""

    def __init__(self, client: HttpClient, account_id: str, database_id: str) -> None:
        self.client = client
        self.path = f"/accounts/{account_id}/d1/database/{database_id}"

    def info(self) -> Dict[str, Any]:
        """`{uuid, name, version, num_tables, file_size, created_at}` of the database."""
        response = self.client.request("GET", self.path, check=False)
        payload = _json_or_none(response.body)
        if not response.ok or not isinstance(payload, dict) or not payload.get("success"):
            raise D1ApiError(f"D1 database info: HTTP {response.status}: {_errors_text(payload)}")
        return dict(payload.get("result") or {})

    def query_batch(self, statements: Sequence[str]) -> List[Dict[str, Any]]:
        """Run statements as one batch (one transaction); returns D1's per-statement results."""
        body = {"batch": [{"sql": s} for s in statements]}
        try:
            response = self.client.request("POST", self.path + "/query", json=body, check=False)
        except HttpError as exc:
            raise D1ApiError(f"D1 query: {exc}") from None
        payload = _json_or_none(response.body)
        if not response.ok or not isinstance(payload, dict) or not payload.get("success"):
            raise D1ApiError(f"D1 refused the batch (HTTP {response.status}): {_errors_text(payload)}")
        results = payload.get("result")
        if not isinstance(results, list):
            raise D1ApiError("D1 query: response has no result list")
        for item in results:
            if isinstance(item, dict) and item.get("success") is False:
                raise D1ApiError(f"D1 refused a statement: {item.get('error') or item}")
        return results


def _json_or_none(body: bytes) -> Any:
    import json

    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def group_batches(
    statements: Sequence[str],
    units: Sequence[Tuple[int, int]],
    start: int = 0,
    max_bytes: int = DEFAULT_BATCH_BYTES,
    max_statements: int = DEFAULT_BATCH_STATEMENTS,
) -> List[Tuple[int, int]]:
    """(first, count) batches from `start`: whole units only (a large row's INSERT and its
    appends travel together, so D1 applies them in one transaction)."""
    batches: List[Tuple[int, int]] = []
    first = -1
    count = 0
    size = 0
    for unit_first, unit_count in units:
        if unit_first + unit_count <= start:
            continue
        if unit_first < start:  # resuming inside a unit: redo the whole unit
            unit_count += unit_first - start
            unit_first = start
        unit_size = sum(len(statements[i]) for i in range(unit_first, unit_first + unit_count))
        if count and (count + unit_count > max_statements or size + unit_size > max_bytes):
            batches.append((first, count))
            count = size = 0
        if not count:
            first = unit_first
        count += unit_count
        size += unit_size
    if count:
        batches.append((first, count))
    return batches


@dataclass
class ApplyResult:
    statements: int = 0
    batches: int = 0
    resumed_from: int = 0
    changes: int = 0


def apply_statements(
    api: D1Api,
    statements: Sequence[str],
    units: Sequence[Tuple[int, int]],
    checkpoint: Checkpoint | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    max_bytes: int = DEFAULT_BATCH_BYTES,
    max_statements: int = DEFAULT_BATCH_STATEMENTS,
) -> ApplyResult:
    """Send statements in batches; checkpoint `done` after each acknowledged batch."""
    start = 0
    if checkpoint is not None:
        start = int(checkpoint.state.get("done", 0))
    result = ApplyResult(resumed_from=start)
    if start >= len(statements):
        # Units can make a checkpoint land beyond a partial unit's start; done means done.
        return result
    if units and units[0][0] == 0 and start:
        # Resume at a unit boundary: rerunning a large row's INSERT without its appends
        # would leave it truncated, so start from the unit that holds `start`.
        for unit_first, unit_count in units:
            if unit_first <= start < unit_first + unit_count:
                start = unit_first
                break
    for first, count in group_batches(statements, units, start, max_bytes, max_statements):
        outcome = api.query_batch(statements[first : first + count])
        for item in outcome:
            meta = item.get("meta") if isinstance(item, dict) else None
            if isinstance(meta, dict) and isinstance(meta.get("changes"), (int, float)):
                result.changes += int(meta["changes"])
        result.statements += count
        result.batches += 1
        if checkpoint is not None:
            checkpoint.state["done"] = first + count
            checkpoint.state["total"] = len(statements)
            checkpoint.save()
        if on_batch is not None:
            on_batch(first + count, len(statements))
    return result
