"""A local Atlas Data API v1 server (the protocol of the removed hosted service), for tests.

Follows the documented surface: `POST /app/{app}/endpoint/data/v1/action/{find,findOne,aggregate}`,
body `dataSource/database/collection/filter/projection/sort/limit/skip`, `apiKey` header or
`Authorization: Bearer`, `Content-Type: application/json|application/ejson`, response format
from `Accept` (default JSON, as an App's default `return_type`), `limit` default 1000 and at
most 50,000, errors as `{"error", "error_code", "link"}`. (De)serialisation is pymongo's
`bson.json_util`, independent of the code under test. Queries support the operators sources
use: equality, `$gt/$gte/$lt/$lte/$eq/$ne/$in/$type/$exists/$and/$or`, with MongoDB's
cross-type sort order and type bracketing.

Misbehaving gateways seen in the wild, for tests: `page_cap` (a page never holds more than N
documents, whatever `limit` asks — many gateways cap at 100 or 1,000), `ignore_sort` (documents
come back in storage order, `sort` is dropped) and `lost_ids` (`find` silently leaves those
documents out while `aggregate` still counts them — a lost page).
"""
from __future__ import annotations

import datetime
import decimal
import json
import re
from typing import Any, Callable, Dict, List, Tuple

from bson import json_util
from bson.binary import Binary
from bson.code import Code
from bson.datetime_ms import DatetimeMS
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.json_util import CANONICAL_JSON_OPTIONS, RELAXED_JSON_OPTIONS, DatetimeConversion, JSONOptions
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

from tests.support.httpserver import FakeServer, Reply, Request

DEFAULT_LIMIT = 1000
MAX_LIMIT = 50_000
_PARSE = JSONOptions(datetime_conversion=DatetimeConversion.DATETIME_MS, tz_aware=True, uuid_representation=0)
_CANONICAL = CANONICAL_JSON_OPTIONS.with_options(datetime_conversion=DatetimeConversion.DATETIME_MS)
_RELAXED = RELAXED_JSON_OPTIONS.with_options(datetime_conversion=DatetimeConversion.DATETIME_MS)
_MISSING = object()


class QueryError(Exception):
    """An operator the fake does not implement: answered as a 400, never silently ignored."""


# -- MongoDB comparison semantics ---------------------------------------------------------

_TYPE_ALIASES: Dict[str, Callable[[Any], bool]] = {
    "double": lambda v: isinstance(v, float),
    "string": lambda v: isinstance(v, str) and not isinstance(v, Code),
    "object": lambda v: isinstance(v, (dict, DBRef)),
    "array": lambda v: isinstance(v, list),
    "binData": lambda v: isinstance(v, (bytes, Binary)),
    "undefined": lambda v: False,
    "objectId": lambda v: isinstance(v, ObjectId),
    "bool": lambda v: isinstance(v, bool),
    "date": lambda v: isinstance(v, (DatetimeMS, datetime.datetime)),
    "null": lambda v: v is None,
    "regex": lambda v: isinstance(v, Regex),
    "dbPointer": lambda v: False,
    "javascript": lambda v: isinstance(v, Code) and v.scope is None,
    "symbol": lambda v: False,
    "javascriptWithScope": lambda v: isinstance(v, Code) and v.scope is not None,
    "int": lambda v: isinstance(v, int) and not isinstance(v, (bool, Int64)) and -(2**31) <= v < 2**31,
    "timestamp": lambda v: isinstance(v, Timestamp),
    "long": lambda v: isinstance(v, Int64) or (isinstance(v, int) and not isinstance(v, bool) and not -(2**31) <= v < 2**31),
    "decimal": lambda v: isinstance(v, Decimal128),
    "minKey": lambda v: isinstance(v, MinKey),
    "maxKey": lambda v: isinstance(v, MaxKey),
}


def bracket(value: Any) -> int:
    """MongoDB's cross-type sort order (numbers together, strings with symbols)."""
    if isinstance(value, MinKey):
        return 0
    if value is None:
        return 1
    if isinstance(value, bool):
        return 8
    if isinstance(value, (int, float, Decimal128)):
        return 2
    if isinstance(value, Code):
        return 12
    if isinstance(value, str):
        return 3
    if isinstance(value, (dict, DBRef)):
        return 4
    if isinstance(value, list):
        return 5
    if isinstance(value, (bytes, Binary)):
        return 6
    if isinstance(value, ObjectId):
        return 7
    if isinstance(value, (DatetimeMS, datetime.datetime)):
        return 9
    if isinstance(value, Timestamp):
        return 10
    if isinstance(value, Regex):
        return 11
    if isinstance(value, MaxKey):
        return 13
    raise QueryError(f"cannot order {type(value).__name__}")


def sort_key(value: Any) -> Tuple[Any, ...]:
    b = bracket(value)
    if b == 2:
        number = value.to_decimal() if isinstance(value, Decimal128) else decimal.Decimal(value)
        return (b, number)
    if b == 3:
        return (b, value.encode("utf-8"))
    if b == 6:
        data = bytes(value)
        return (b, len(data), getattr(value, "subtype", 0), data)
    if b == 7:
        return (b, value.binary)
    if b == 8:
        return (b, int(value))
    if b == 9:
        millis = int(value) if isinstance(value, DatetimeMS) else int(value.timestamp() * 1000)
        return (b, millis)
    if b == 10:
        return (b, value.time, value.inc)
    if b in (4, 5, 11, 12):
        return (b, json_util.dumps(value, json_options=_CANONICAL))
    return (b,)


def get_field(doc: Any, dotted: str) -> Any:
    node = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _compare(op: str, value: Any, operand: Any) -> bool:
    if value is _MISSING:
        return False
    try:
        if bracket(value) != bracket(operand):  # type bracketing: $gt "a" never matches a number
            return False
    except QueryError:
        return False
    left, right = sort_key(value), sort_key(operand)
    return {"$gt": left > right, "$gte": left >= right, "$lt": left < right, "$lte": left <= right}[op]


def _equal(value: Any, operand: Any) -> bool:
    if value is _MISSING:
        return operand is None
    if isinstance(value, list) and not isinstance(operand, list):
        return any(_equal(v, operand) for v in value)
    try:
        return bracket(value) == bracket(operand) and sort_key(value) == sort_key(operand)
    except QueryError:
        return value == operand


def matches(doc: Dict[str, Any], query: Dict[str, Any]) -> bool:
    for key, cond in query.items():
        if key == "$and":
            if not all(matches(doc, q) for q in cond):
                return False
        elif key == "$or":
            if not any(matches(doc, q) for q in cond):
                return False
        elif key.startswith("$"):
            raise QueryError(f"unknown top level operator: {key}")
        elif isinstance(cond, dict) and cond and all(k.startswith("$") for k in cond):
            value = get_field(doc, key)
            for op, operand in cond.items():
                if op in ("$gt", "$gte", "$lt", "$lte"):
                    ok = _compare(op, value, operand)
                elif op == "$eq":
                    ok = _equal(value, operand)
                elif op == "$ne":
                    ok = not _equal(value, operand)
                elif op == "$in":
                    ok = any(_equal(value, o) for o in operand)
                elif op == "$exists":
                    ok = (value is not _MISSING) == bool(operand)
                elif op == "$type":
                    aliases = operand if isinstance(operand, list) else [operand]
                    unknown = [a for a in aliases if a not in _TYPE_ALIASES]
                    if unknown:
                        raise QueryError(f"unknown type name alias: {unknown[0]}")
                    ok = value is not _MISSING and any(_TYPE_ALIASES[a](value) for a in aliases)
                else:
                    raise QueryError(f"unknown operator: {op}")
                if not ok:
                    return False
        elif not _equal(get_field(doc, key), cond):
            return False
    return True


def project(doc: Dict[str, Any], projection: Dict[str, Any] | None) -> Dict[str, Any]:
    if not projection:
        return doc
    keep_id = bool(projection.get("_id", 1))
    fields = {k: bool(v) for k, v in projection.items() if k != "_id"}
    if fields and len(set(fields.values())) > 1:
        raise QueryError("Cannot do exclusion on field in inclusion projection")
    if fields and next(iter(fields.values())):
        out: Dict[str, Any] = {"_id": doc["_id"]} if keep_id and "_id" in doc else {}
        for key in fields:
            value = get_field(doc, key)
            if value is _MISSING:
                continue
            node = out
            parts = key.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        return out
    out = json_util.loads(json_util.dumps(doc, json_options=_CANONICAL), json_options=_PARSE)  # deep copy
    if not keep_id:
        out.pop("_id", None)
    for key in fields:
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(parts[-1], None)
    return out


# -- the server --------------------------------------------------------------------------


class FakeDataApi(FakeServer):
    """Collections live in `self.collections[(data_source, database, collection)]` as pymongo values."""

    APP = "cutover-test-abcde"

    def __init__(self, api_keys: Tuple[str, ...] = ("test-data-api-key",), tokens: Tuple[str, ...] = (), return_type: str = "JSON") -> None:
        super().__init__()
        self.api_keys = set(api_keys)
        self.tokens = set(tokens)
        self.return_type = return_type
        self.collections: Dict[Tuple[str, str, str], List[Dict[str, Any]]] = {}
        self.page_cap: int | None = None
        self.ignore_sort = False
        self.lost_ids: List[Any] = []
        self.finds = 0  # find requests answered
        # the collection changing while a scan pages through it: run after the Nth find is answered
        self.after_find: Dict[int, Callable[[], None]] = {}
        for action in ("find", "findOne", "aggregate"):
            self.route("POST", f"/app/{{app}}/endpoint/data/v1/action/{action}", self._handler(action))

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/app/{self.APP}/endpoint/data/v1"

    def insert(self, data_source: str, database: str, collection: str, documents: List[Dict[str, Any]]) -> None:
        """Store documents given as pymongo values (`bson` types)."""
        self.collections.setdefault((data_source, database, collection), []).extend(documents)

    # -- protocol details ---------------------------------------------------------------
    @staticmethod
    def error(status: int, message: str, code: str) -> Reply:
        body = {"error": message, "error_code": code, "link": "https://services.cloud.mongodb.com/groups/x/apps/y/logs?co_id=z"}
        return Reply.json(body, status)

    def before(self, request: Request) -> Reply | None:
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            if auth[len("Bearer "):] in self.tokens:
                return None
            return self.error(401, "invalid session: access token expired", "InvalidSession")
        key = request.headers.get("apikey")
        if key is None:
            if "email" in request.headers or "password" in request.headers or "jwttokenstring" in request.headers:
                return self.error(401, "invalid session: error finding user for endpoint", "InvalidSession")
            return self.error(400, "no authentication methods were specified", "InvalidParameter")
        if key not in self.api_keys:
            return self.error(401, "invalid session: error finding user for endpoint", "InvalidSession")
        return None

    def _handler(self, action: str) -> Callable[[Request], Reply]:
        def handle(request: Request) -> Reply:
            if request.params["app"] != self.APP:
                return self.error(404, f"cannot find app using Client App ID '{request.params['app']}'", "AppNotFound")
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if content_type not in ("application/json", "application/ejson"):
                return self.error(400, "unsupported content type; use application/json or application/ejson", "InvalidParameter")
            try:
                body = json_util.loads(request.body.decode("utf-8"), json_options=_PARSE)
            except (ValueError, TypeError) as exc:
                return self.error(400, f"invalid request body: {exc}", "InvalidParameter")
            for field in ("dataSource", "database", "collection"):
                if not isinstance(body.get(field), str) or not body[field]:
                    return self.error(400, f"{field} is required", "MissingParameter")
            namespace = (body["dataSource"], body["database"], body["collection"])
            if not any(ns[0] == body["dataSource"] for ns in self.collections) and self.collections:
                return self.error(400, f"data source '{body['dataSource']}' not found", "InvalidParameter")
            docs = [json_util.loads(json_util.dumps(d, json_options=_CANONICAL), json_options=_PARSE) for d in self.collections.get(namespace, [])]
            try:
                result = getattr(self, f"_{action}")(docs, body)
            except QueryError as exc:
                return self.error(400, str(exc), "InvalidParameter")
            accept = request.headers.get("accept", "")
            ejson_out = "application/ejson" in accept or ("application/json" not in accept and self.return_type == "EJSON")
            text = json_util.dumps(result, json_options=_CANONICAL if ejson_out else _RELAXED)
            if not ejson_out:
                text = json.dumps(_plain_json(json.loads(text)))
            content = "application/ejson" if ejson_out else "application/json"
            return Reply(200, text.encode("utf-8"), {"Content-Type": content})

        return handle

    def _select(self, docs: List[Dict[str, Any]], body: Dict[str, Any]) -> List[Dict[str, Any]]:
        query = body.get("filter") or {}
        if not isinstance(query, dict):
            raise QueryError("filter must be an object")
        selected = [d for d in docs if matches(d, query)]
        sort = body.get("sort") or {}
        if self.ignore_sort:
            sort = {}
        for field, direction in reversed(list(sort.items())):
            if direction not in (1, -1):
                raise QueryError(f"bad sort direction for {field}")
            selected.sort(key=lambda d, f=field: sort_key(_null_if_missing(get_field(d, f))), reverse=direction == -1)
        return selected

    def _find(self, docs: List[Dict[str, Any]], body: Dict[str, Any]) -> Dict[str, Any]:
        limit = body.get("limit", DEFAULT_LIMIT)
        skip = body.get("skip", 0)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0 or limit > MAX_LIMIT:
            raise QueryError(f"limit must be a number between 0 and {MAX_LIMIT}")
        limit = limit or DEFAULT_LIMIT
        if self.page_cap is not None:
            limit = min(limit, self.page_cap)
        if self.lost_ids:
            lost = {sort_key(i) for i in self.lost_ids}
            docs = [d for d in docs if sort_key(d.get("_id")) not in lost]
        selected = self._select(docs, body)[skip : skip + limit]
        self.finds += 1
        change = self.after_find.pop(self.finds, None)
        if change is not None:
            change()
        return {"documents": [project(d, body.get("projection")) for d in selected]}

    def _findOne(self, docs: List[Dict[str, Any]], body: Dict[str, Any]) -> Dict[str, Any]:  # noqa: N802 - action name
        selected = self._select(docs, body)
        return {"document": project(selected[0], body.get("projection")) if selected else None}

    def _aggregate(self, docs: List[Dict[str, Any]], body: Dict[str, Any]) -> Dict[str, Any]:
        pipeline = body.get("pipeline")
        if not isinstance(pipeline, list):
            raise QueryError("pipeline is required")
        current: List[Dict[str, Any]] = docs
        for stage in pipeline:
            (name, arg), = stage.items()
            if name == "$match":
                current = [d for d in current if matches(d, arg)]
            elif name == "$count":
                current = [{arg: len(current)}] if current else []
            elif name == "$sort":
                current = self._select(current, {"sort": arg})
            elif name == "$limit":
                current = current[:arg]
            else:
                raise QueryError(f"unsupported stage {name}")
        return {"documents": current}


def _null_if_missing(value: Any) -> Any:
    return None if value is _MISSING else value


def _plain_json(value: Any) -> Any:
    """What `return_type: JSON` does to EJSON: ObjectId -> hex string, date -> ISO string, numbers plain."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            if key == "$oid":
                return inner
            if key == "$date":
                return inner if isinstance(inner, str) else datetime.datetime.fromtimestamp(
                    int(inner["$numberLong"]) / 1000, datetime.timezone.utc
                ).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            if key in ("$numberLong", "$numberInt"):
                return int(inner)
            if key in ("$numberDouble", "$numberDecimal"):
                return float(inner) if re.fullmatch(r"-?[0-9.eE+-]+", inner) else inner
        return {k: _plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_json(v) for v in value]
    return value
