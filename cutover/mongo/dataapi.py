"""`dataapi:` source: the Atlas Data API v1 (`POST {endpoint}/action/find`) or a compatible service.

MongoDB removed the hosted Data API on 2025-09-30; this reads any service that still speaks
its protocol. Pages walk `_id` upwards (sort `_id`, filter `_id > last`), never `skip`, so a
page is one index range scan and a crash resumes from the last `_id`.

Gateways are not trusted to keep the protocol: a scan goes on until an EMPTY page (many cap
pages at 100 or 1,000 whatever `limit` asks), refuses an `_id` that does not increase (a
gateway that drops `sort`), and at the end counts the range it read through `aggregate`
— a different code path on the server — and fails loudly when documents were left out.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterator, Mapping
from urllib.parse import urlsplit

from cutover.core import redact
from cutover.core.config import read_secret
from cutover.core.endpoint import require_private_channel
from cutover.core.http import HttpClient, Response, excerpt
from cutover.errors import ConfigError, CutoverError
from cutover.mongo import ejson
from cutover.mongo.base import Batch, MongoSource, ScanOptions
from cutover.mongo.idrange import after_filter, all_of, check_scan_count, increases, scan_count_range

__all__ = ["DataApiSource", "after_filter", "auth_headers"]

DEFAULT_PAGE_SIZE = 1000  # the Data API's default `limit`
MAX_PAGE_SIZE = 50_000  # "Each request may return up to 50,000 documents"
KEY_ENV = "MONGODB_DATA_API_KEY"

def _check_endpoint(endpoint: str) -> str:
    endpoint = endpoint.strip().rstrip("/")
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"dataapi: source needs an http(s) URL, e.g. dataapi:https://data.mongodb-api.com/app/<app-id>/endpoint/data/v1 (got {redact.redact_url(endpoint)!r})")
    if parts.username or parts.password or parts.query:
        raise ConfigError("dataapi: URL must not carry credentials or a query string; the key comes from MONGODB_DATA_API_KEY")
    require_private_channel(endpoint, "dataapi: source")
    return endpoint


def auth_headers(environ: Mapping[str, str] | None = None) -> Dict[str, str]:
    """`apiKey` header from MONGODB_DATA_API_KEY, or `Authorization: Bearer` when the value starts with 'Bearer '."""
    secret = read_secret(KEY_ENV, environ)
    if not secret:
        raise ConfigError(
            f"{KEY_ENV} is not set: put the Data API key (or 'Bearer <access token>') in it, or point {KEY_ENV}_FILE at a file"
        )
    if secret.startswith("Bearer "):
        token = secret[len("Bearer "):].strip()
        redact.register_secret(token)
        return {"Authorization": f"Bearer {token}"}
    return {"apiKey": secret}


class DataApiSource(MongoSource):
    """Reads collections page by page through `/action/find`, sorted by `_id`."""

    def __init__(
        self,
        endpoint: str,
        *,
        database: str,
        data_source: str | None,
        page_size: int = DEFAULT_PAGE_SIZE,
        environ: Mapping[str, str] | None = None,
        client: HttpClient | None = None,
    ) -> None:
        self.endpoint = _check_endpoint(endpoint)
        self.description = f"dataapi:{redact.redact_url(self.endpoint)}"
        if not data_source:
            raise ConfigError("dataapi: source needs mongo.data_source (the linked cluster's name, e.g. Cluster0 or mongodb-atlas)")
        if not database:
            raise ConfigError("dataapi: source needs mongo.database")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"page size {page_size} is outside 1..{MAX_PAGE_SIZE} (the Data API's per-call limit)")
        self.database = database
        self.data_source = data_source
        self.page_size = page_size
        headers = {"Accept": "application/ejson", **auth_headers(environ)}
        self.client = client or HttpClient(self.endpoint, headers=headers)
        if client is not None:
            client.headers.update(headers)
        self.pages = 0

    # -- protocol ----------------------------------------------------------------------
    def call(self, action: str, collection: str, body: Dict[str, Any]) -> Any:
        """POST one action; the decoded EJSON response, or CutoverError with the API's own words."""
        payload = {"dataSource": self.data_source, "database": self.database, "collection": collection, **body}
        # relaxed: plain numbers for limit/sort/projection, wrappers only where types need them
        data = ejson.dumps(payload, relaxed=True).encode("utf-8")
        response = self.client.request(
            "POST", f"action/{action}", data=data, headers={"Content-Type": "application/ejson"}, check=False
        )
        if not response.ok:
            raise CutoverError(self._error_line(action, collection, response))
        try:
            return ejson.loads(response.body)
        except ValueError as exc:
            raise CutoverError(
                f"{self.description}: {action} on {self.database}.{collection}: response is not Extended JSON ({exc}): "
                f"{excerpt(response.body)}"
            ) from None

    def _error_line(self, action: str, collection: str, response: Response) -> str:
        where = f"{self.description}: {action} on {self.database}.{collection}: HTTP {response.status}"
        try:
            body = json.loads(response.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        if isinstance(body, dict) and ("error" in body or "error_code" in body):
            line = f"{where} {body.get('error_code') or 'error'}: {body.get('error') or '(no message)'}"
            if body.get("link"):
                line += f" (log: {body['link']})"
        else:
            line = f"{where}: {excerpt(response.body) or '(empty body)'}"
        if response.status in (401, 403) or (isinstance(body, dict) and body.get("error_code") in ("InvalidSession", "MissingParameter")):
            line += f" - check {KEY_ENV}"
        if response.status == 429:
            line += " - rate limited after retries; try again later or lower --page-size"
        return redact.scrub(line)

    # -- MongoSource ---------------------------------------------------------------------
    def _base_filter(self, options: ScanOptions) -> Dict[str, Any]:
        if options.since is None:
            return {}
        return {options.since_field: {"$gte": options.since}}

    def _projection(self, options: ScanOptions) -> tuple[Dict[str, Any] | None, bool]:
        """(projection to send, whether to drop `_id` afterwards): paging needs `_id` back."""
        if not options.projection:
            return None, False
        sent = dict(options.projection)
        drop_id = "_id" in sent and not sent["_id"]
        sent.pop("_id", None)
        if sent and not any(sent.values()):  # exclusion projection: _id comes back anyway
            return sent, drop_id
        if sent:
            sent["_id"] = 1
        return (sent or None), drop_id

    def scan(self, collection: str, options: ScanOptions = ScanOptions()) -> Iterator[Batch]:
        base = self._base_filter(options)
        projection, drop_id = self._projection(options)
        last = options.after_id
        resumed = last is not None
        scanned = 0
        where = f"{self.description}: find on {self.database}.{collection}"
        while True:
            query = all_of([base, after_filter(last) if resumed else {}])
            body: Dict[str, Any] = {"filter": query, "sort": {"_id": 1}, "limit": self.page_size}
            if projection:
                body["projection"] = projection
            reply = self.call("find", collection, body)
            documents = reply.get("documents") if isinstance(reply, dict) else None
            if not isinstance(documents, list):
                raise CutoverError(f"{where}: response has no 'documents' array")
            self.pages += 1
            if not documents:  # only an empty page ends a scan: a short one may be a gateway's cap
                break
            for position, doc in enumerate(documents):
                if not isinstance(doc, dict) or "_id" not in doc:
                    raise CutoverError(f"{where}: documents came back without _id; cannot page")
                if (resumed or position) and not increases(last, doc["_id"]):
                    raise CutoverError(
                        f"{where}: _id {ejson.dumps(doc['_id'], relaxed=True)} came after "
                        f"{ejson.dumps(last, relaxed=True)}: the service does not return documents sorted by _id "
                        "as asked (sort ignored?), so paging would skip and repeat documents; use a service that "
                        "honours sort, or a mongodb:// source or an export"
                    )
                last = doc["_id"]
                resumed = True
            scanned += len(documents)
            batch: Batch = [ejson.as_document(d) for d in documents]
            if drop_id:
                for doc in batch:
                    doc.pop("_id", None)
            yield batch
        self._check_scanned(collection, options, last, scanned)

    def _check_scanned(self, collection: str, options: ScanOptions, last: Any, scanned: int) -> None:
        """Count the range the scan covered with `aggregate`; fewer documents read than counted
        means the service lost some (see `idrange.scan_count_range` for the range)."""
        match, earlier = scan_count_range(self._base_filter(options), options, last, scanned)
        check_scan_count(
            f"{self.description}: {self.database}.{collection}", counted=self._aggregate_count(collection, match),
            scanned=scanned, earlier=earlier, cause="in paging (a gateway that drops pages or ignores sort?)",
            instead="read through a mongodb:// source or an export",
        )

    def _aggregate_count(self, collection: str, match: Dict[str, Any]) -> int | None:
        reply = self.call("aggregate", collection, {"pipeline": [{"$match": match}, {"$count": "n"}]})
        documents = reply.get("documents") if isinstance(reply, dict) else None
        if not isinstance(documents, list):
            return None
        if not documents:
            return 0
        value = documents[0].get("n") if isinstance(documents[0], dict) else None
        return int(value) if isinstance(value, int) else None

    def count(self, collection: str, options: ScanOptions = ScanOptions()) -> int | None:
        """Exact count through `/action/aggregate` (`$match` + `$count`)."""
        after = after_filter(options.after_id) if options.after_id is not None else {}
        return self._aggregate_count(collection, all_of([self._base_filter(options), after]))

    def close(self) -> None:
        pass

