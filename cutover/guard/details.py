"""Read-only facts about the resource from the Cloudflare API: shown before the prompt, and the
live side that a --require-backup file is judged against. A 404 means the name or id is wrong
(NotFound: the guard stops); any other failure is the caller's to report and go on without."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Set
from urllib.parse import quote

from cutover.core.http import HttpClient
from cutover.errors import CutoverError
from cutover.guard.target import Target

KEY_PAGES_SHOWN = 10  # 10 × 1,000 keys: enough to tell "a few" from "lots" without a long wait
KEY_PAGES_FOR_BACKUP = 1000  # with --require-backup: every key, up to a million, is looked for in it
KEY_PAGE_SIZE = 1000
ROW_COUNT_TABLES_MAX = 50


class NotFound(CutoverError):
    """The API answered 404 (or has no such name): the name or id given is wrong. Nothing deleted."""


@dataclass
class Facts:
    lines: List[str] = field(default_factory=list)
    tables: Dict[str, int] | None = None  # D1: live rows per table, when they could be counted
    keys: Set[str] | None = None  # KV: every live key name, when listed to the end


def _result(body: Any) -> Any:
    if isinstance(body, dict) and body.get("success") is False:
        errors = body.get("errors") or []
        first = errors[0].get("message") if errors and isinstance(errors[0], dict) else "unsuccessful"
        raise LookupError(str(first))
    return body.get("result") if isinstance(body, dict) else None


def _call(client: Any, method: str, path: str, not_found: str, **kwargs: Any) -> Any:
    """One API call: 404 → NotFound(not_found), another failure → LookupError, else the result."""
    response = client.request(method, path, check=False, **kwargs)
    if response.status == 404:
        raise NotFound(not_found)
    if not response.ok:
        raise LookupError(f"HTTP {response.status}")
    return response.json()


def lookup(target: Target, account_id: str, client: HttpClient, for_backup: bool = False) -> Facts:
    """Facts about `target` through the credentialed `client`. Raises NotFound when Cloudflare
    does not know it, else any error on failure."""
    account = quote(account_id, safe="")
    if target.kind == "kv-namespace" and target.namespace_id:
        pages = KEY_PAGES_FOR_BACKUP if for_backup else KEY_PAGES_SHOWN
        return _kv_facts(client, account, account_id, target.namespace_id, pages)
    if target.kind == "d1" and target.d1_name:
        return _d1_facts(client, account, account_id, target.d1_name)
    return Facts()


def _kv_facts(client: Any, account: str, account_id: str, namespace_id: str, pages: int) -> Facts:
    base = f"accounts/{account}/storage/kv/namespaces/{quote(namespace_id, safe='')}"
    not_found = (f"nothing deleted: Cloudflare has no KV namespace with id {namespace_id} in account {account_id} "
                 "(HTTP 404); check --namespace-id and CLOUDFLARE_ACCOUNT_ID")
    info = _result(_call(client, "GET", base, not_found)) or {}
    facts = Facts([f"title:     {info.get('title', '(none)')}"])
    keys: Set[str] = set()
    cursor, complete = None, False
    for _ in range(pages):
        page = _call(client, "GET", f"{base}/keys", not_found, params={"limit": KEY_PAGE_SIZE, "cursor": cursor})
        keys.update(str(item.get("name")) for item in (_result(page) or []) if isinstance(item, dict))
        cursor = (page.get("result_info") or {}).get("cursor") if isinstance(page, dict) else None
        if not cursor:
            complete = True
            break
    facts.lines.append(f"keys:      {len(keys):,}" if complete else f"keys:      more than {len(keys):,} (stopped counting)")
    facts.keys = keys if complete else None
    return facts


def _d1_facts(client: Any, account: str, account_id: str, name: str) -> Facts:
    not_found = (f"nothing deleted: Cloudflare has no D1 database named {name!r} in account {account_id}; "
                 "check the name (wrangler d1 list) and CLOUDFLARE_ACCOUNT_ID")
    listing = _call(client, "GET", f"accounts/{account}/d1/database", not_found, params={"name": name, "per_page": 100})
    matches = [db for db in (_result(listing) or []) if isinstance(db, dict) and db.get("name") == name]
    if not matches:
        raise NotFound(not_found)
    uuid = str(matches[0].get("uuid", ""))
    base = f"accounts/{account}/d1/database/{quote(uuid, safe='')}"
    info = _result(_call(client, "GET", base, not_found)) or {}
    facts = Facts([f"uuid:      {uuid}"])
    if info.get("file_size") is not None:
        facts.lines.append(f"size:      {int(info['file_size']):,} bytes")
    if info.get("num_tables") is not None:
        facts.lines.append(f"tables:    {int(info['num_tables'])}")
    if info.get("created_at"):
        facts.lines.append(f"created:   {info['created_at']}")
    try:
        lines, facts.tables = _d1_row_counts(client, f"{base}/query")
        facts.lines.extend(lines)
    except NotFound:
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. a token without D1 query rights: say so, keep the rest
        from cutover.core.redact import scrub

        facts.lines.append(f"rows:      not counted ({scrub(str(exc)) or type(exc).__name__})")
    return facts


def _select(client: Any, url: str, sql: str) -> List[dict]:
    # Read-only: only SELECT statements are ever sent.
    if not sql.lstrip().upper().startswith("SELECT"):
        raise ValueError("delete-guard only reads")
    result = _result(client.post_json(url, {"sql": sql})) or []
    first = result[0] if isinstance(result, list) and result else {}
    rows = first.get("results") if isinstance(first, dict) else None
    return [r for r in rows or [] if isinstance(r, dict)]


def _d1_row_counts(client: Any, url: str) -> tuple[List[str], Dict[str, int] | None]:
    """Rows per user table, via two SELECTs; skipped when there are too many tables to count."""
    from cutover.d1.sql import quote_identifier, text_literal

    tables = [str(r.get("name")) for r in _select(
        client, url,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE '_cf_%' ORDER BY name",
    )]
    if not tables:
        return ["rows:      (no tables)"], {}
    if len(tables) > ROW_COUNT_TABLES_MAX:
        return [f"rows:      not counted ({len(tables)} tables)"], None
    union = " UNION ALL ".join(
        f"SELECT {text_literal(t)} AS t, COUNT(*) AS n FROM {quote_identifier(t)}" for t in tables
    )
    counts = {str(r.get("t")): r.get("n") for r in _select(client, url, union)}
    lines = [f"rows:      {t}: {int(counts[t]):,}" if isinstance(counts.get(t), int) else f"rows:      {t}: ?"
             for t in tables]
    known = {t: int(counts[t]) for t in tables if isinstance(counts.get(t), int)}
    return lines, known if len(known) == len(tables) else None
