"""Read-only facts about the resource from the Cloudflare API, best effort: never blocks the guard."""
from __future__ import annotations

from typing import Any, List
from urllib.parse import quote

from cutover.guard.target import Target

KEY_PAGES_MAX = 10  # 10 × 1,000 keys: enough to tell "a few" from "lots" without a long wait
KEY_PAGE_SIZE = 1000
ROW_COUNT_TABLES_MAX = 50


def _result(body: Any) -> Any:
    if isinstance(body, dict) and body.get("success") is False:
        errors = body.get("errors") or []
        first = errors[0].get("message") if errors and isinstance(errors[0], dict) else "unsuccessful"
        raise LookupError(str(first))
    return body.get("result") if isinstance(body, dict) else None


def lookup(target: Target, account_id: str, token: str, api_base: str) -> List[str]:
    """Lines like 'title: prod-sessions'. Raises on any failure; the caller says the API was skipped."""
    from cutover.core.http import HttpClient

    client = HttpClient(api_base, headers={"Authorization": f"Bearer {token}"}, timeout=10.0, retries=1,
                        backoff_base=0.2, backoff_max=1.0, max_retry_after=5.0)
    account = quote(account_id, safe="")
    if target.kind == "kv-namespace" and target.namespace_id:
        return _kv_lines(client, account, target.namespace_id)
    if target.kind == "d1" and target.d1_name:
        return _d1_lines(client, account, target.d1_name)
    return []


def _kv_lines(client: Any, account: str, namespace_id: str) -> List[str]:
    base = f"accounts/{account}/storage/kv/namespaces/{quote(namespace_id, safe='')}"
    response = client.request("GET", base, check=False)
    if response.status == 404:
        return ["title:     (not found in this account — check the id and CLOUDFLARE_ACCOUNT_ID)"]
    if not response.ok:
        raise LookupError(f"HTTP {response.status}")
    info = _result(response.json()) or {}
    lines = [f"title:     {info.get('title', '(none)')}"]
    keys, cursor, complete = 0, None, False
    for _ in range(KEY_PAGES_MAX):
        page = client.get_json(f"{base}/keys", params={"limit": KEY_PAGE_SIZE, "cursor": cursor})
        keys += len(_result(page) or [])
        cursor = (page.get("result_info") or {}).get("cursor") if isinstance(page, dict) else None
        if not cursor:
            complete = True
            break
    lines.append(f"keys:      {keys:,}" if complete else f"keys:      more than {keys:,} (stopped counting)")
    return lines


def _d1_lines(client: Any, account: str, name: str) -> List[str]:
    listing = client.get_json(f"accounts/{account}/d1/database", params={"name": name, "per_page": 100})
    matches = [db for db in (_result(listing) or []) if isinstance(db, dict) and db.get("name") == name]
    if not matches:
        return ["database:  (not found in this account — check the name and CLOUDFLARE_ACCOUNT_ID)"]
    uuid = str(matches[0].get("uuid", ""))
    info = _result(client.get_json(f"accounts/{account}/d1/database/{quote(uuid, safe='')}")) or {}
    lines = [f"uuid:      {uuid}"]
    if info.get("file_size") is not None:
        lines.append(f"size:      {int(info['file_size']):,} bytes")
    if info.get("num_tables") is not None:
        lines.append(f"tables:    {int(info['num_tables'])}")
    if info.get("created_at"):
        lines.append(f"created:   {info['created_at']}")
    try:
        lines.extend(_d1_row_counts(client, f"accounts/{account}/d1/database/{quote(uuid, safe='')}/query"))
    except Exception as exc:  # noqa: BLE001 - e.g. a token without D1 query rights: say so, keep the rest
        from cutover.core.redact import scrub

        lines.append(f"rows:      not counted ({scrub(str(exc)) or type(exc).__name__})")
    return lines


def _select(client: Any, url: str, sql: str) -> List[dict]:
    # Read-only: only SELECT statements are ever sent.
    if not sql.lstrip().upper().startswith("SELECT"):
        raise ValueError("delete-guard only reads")
    result = _result(client.post_json(url, {"sql": sql})) or []
    first = result[0] if isinstance(result, list) and result else {}
    rows = first.get("results") if isinstance(first, dict) else None
    return [r for r in rows or [] if isinstance(r, dict)]


def _d1_row_counts(client: Any, url: str) -> List[str]:
    """Rows per user table, via two SELECTs; skipped when there are too many tables to count."""
    from cutover.sinks.sql import quote_identifier, text_literal

    tables = [str(r.get("name")) for r in _select(
        client, url,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '_cf_%' ORDER BY name",
    )]
    if not tables:
        return ["rows:      (no tables)"]
    if len(tables) > ROW_COUNT_TABLES_MAX:
        return [f"rows:      not counted ({len(tables)} tables)"]
    union = " UNION ALL ".join(
        f"SELECT {text_literal(t)} AS t, COUNT(*) AS n FROM {quote_identifier(t)}" for t in tables
    )
    counts = {str(r.get("t")): r.get("n") for r in _select(client, url, union)}
    return [f"rows:      {t}: {int(counts[t]):,}" if isinstance(counts.get(t), int) else f"rows:      {t}: ?"
            for t in tables]
