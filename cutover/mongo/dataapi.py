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

import decimal
import json
from typing import Any, Dict, Iterator, List, Mapping
from urllib.parse import urlsplit

from cutover.core import redact
from cutover.core.config import read_secret
from cutover.core.endpoint import require_private_channel
from cutover.core.http import HttpClient, Response, excerpt
from cutover.errors import ConfigError, CutoverError
from cutover.mongo import ejson
from cutover.mongo.base import Batch, MongoSource, ScanOptions, SourceIncomplete
from cutover.mongo.values import (
    Binary,
    Code,
    DateTime,
    Decimal128,
    MaxKey,
    MinKey,
    ObjectId,
    Regex,
    Symbol,
    Timestamp,
    Undefined,
)

DEFAULT_PAGE_SIZE = 1000  # the Data API's default `limit`
MAX_PAGE_SIZE = 50_000  # "Each request may return up to 50,000 documents"
KEY_ENV = "MONGODB_DATA_API_KEY"

# MongoDB's sort order across BSON types, as `$type` aliases per bracket. `$gt` only matches
# values of the same bracket, so paging past the last `_id` must also ask for every later
# bracket, or a collection with mixed `_id` types would silently lose the later ones.
_TYPE_BRACKETS: List[List[str]] = [
    ["minKey"],
    ["null", "undefined"],
    ["int", "long", "double", "decimal"],
    ["string", "symbol"],
    ["object"],
    ["array"],
    ["binData"],
    ["objectId"],
    ["bool"],
    ["date"],
    ["timestamp"],
    ["regex"],
    ["javascript", "javascriptWithScope", "dbPointer"],
    ["maxKey"],
]


def _bracket(value: Any) -> int:
    """Index into `_TYPE_BRACKETS` of a decoded `_id` value."""
    if value is MinKey:
        return 0
    if value is None or value is Undefined:
        return 1
    if isinstance(value, bool):
        return 8
    if isinstance(value, (int, float, Decimal128)):
        return 2
    if isinstance(value, (str, Symbol)):
        return 3
    if isinstance(value, dict):
        return 4
    if isinstance(value, list):
        return 5
    if isinstance(value, Binary):
        return 6
    if isinstance(value, ObjectId):
        return 7
    if isinstance(value, DateTime):
        return 9
    if isinstance(value, Timestamp):
        return 10
    if isinstance(value, Regex):
        return 11
    if isinstance(value, Code):
        return 12
    if value is MaxKey:
        return 13
    return 4  # DBRef and friends are documents on the wire


def id_order(value: Any) -> tuple | None:  # type: ignore[type-arg]
    """MongoDB's order of `_id` values as a sortable tuple; None within a bracket this does not
    order (documents, arrays, binaries, ...), where only the bracket is compared."""
    b = _bracket(value)
    if isinstance(value, bool):
        return (b, int(value))
    if isinstance(value, Decimal128):
        try:
            return (b, decimal.Decimal(value.value))
        except decimal.InvalidOperation:
            return None
    if isinstance(value, (int, float)):
        return (b, decimal.Decimal(value)) if value == value else (b, decimal.Decimal("-Infinity"))
    if isinstance(value, (str, Symbol)):
        return (b, str(value).encode("utf-8", "surrogatepass"))
    if isinstance(value, ObjectId):
        return (b, value.binary)
    if isinstance(value, DateTime):
        return (b, value.millis)
    if value is MinKey or value is MaxKey or value is None or value is Undefined:
        return (b,)
    return None


def increases(previous: Any, current: Any) -> bool:
    """Whether `current` comes strictly after `previous` in MongoDB's `_id` order (as far as known)."""
    pb, cb = _bracket(previous), _bracket(current)
    if pb != cb:
        return cb > pb
    p, c = id_order(previous), id_order(current)
    if p is None or c is None:
        return bool(previous != current)
    return c > p


def upto_filter(last_id: Any) -> Dict[str, Any]:
    """Query for every `_id` up to and including `last_id` in MongoDB's sort order (all types)."""
    earlier = [alias for bracket in _TYPE_BRACKETS[: _bracket(last_id)] for alias in bracket]
    same_type = {"_id": {"$lte": last_id}}
    if not earlier:
        return same_type
    return {"$or": [same_type, {"_id": {"$type": earlier}}]}


def after_filter(last_id: Any) -> Dict[str, Any]:
    """Query for every `_id` after `last_id` in MongoDB's sort order (all types)."""
    later = [alias for bracket in _TYPE_BRACKETS[_bracket(last_id) + 1 :] for alias in bracket]
    same_type = {"_id": {"$gt": last_id}}
    if not later:
        return same_type
    return {"$or": [same_type, {"_id": {"$type": later}}]}


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
            clauses = [c for c in (base, after_filter(last) if resumed else None) if c]
            query = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else {})
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
        self._check_scanned(collection, options, last if scanned else None, scanned)

    def _check_scanned(self, collection: str, options: ScanOptions, last: Any, scanned: int) -> None:
        """Count the range the scan covered with `aggregate`; fewer documents read than counted
        means the service lost some (deletions meanwhile only make the count smaller). A resume
        that knows what its earlier runs read (`read_before`) counts from the start."""
        from_start = options.after_id is not None and options.read_before is not None
        earlier = (options.read_before or 0) if from_start else 0
        clauses = [self._base_filter(options)]
        if options.after_id is not None and not from_start:
            clauses.append(after_filter(options.after_id))
        upper = last if last is not None else (options.after_id if from_start else None)
        if upper is not None:
            clauses.append(upto_filter(upper))
        clauses = [c for c in clauses if c]
        match = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else {})
        counted = self._aggregate_count(collection, match)
        read = scanned + earlier
        if counted is not None and counted > read:
            runs = f" ({earlier} of them in the runs before this --resume)" if earlier else ""
            raise SourceIncomplete(
                f"{self.description}: {self.database}.{collection}: aggregate counts {counted} documents in the "
                f"range read, find returned {read}{runs}: {counted - read} were lost in paging (a gateway that "
                "drops pages or ignores sort?) or added behind the read position meanwhile; if it repeats, read "
                "through a mongodb:// source or an export",
                counted=counted, scanned=read,
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
        clauses = [c for c in (self._base_filter(options), after_filter(options.after_id) if options.after_id is not None else None) if c]
        match = clauses[0] if len(clauses) == 1 else ({"$and": clauses} if clauses else {})
        return self._aggregate_count(collection, match)

    def close(self) -> None:
        pass

