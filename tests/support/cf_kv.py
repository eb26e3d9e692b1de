"""Workers KV endpoints for `FakeCloudflare`, per the Cloudflare API docs:

- `PUT  …/storage/kv/namespaces/{ns}/values/{key}` raw body or multipart (`value`, `metadata`),
  `expiration` / `expiration_ttl` query parameters (TTL at least 60 s)
- `GET  …/values/{key}` raw value (404 when absent), `GET …/metadata/{key}`
- `PUT  …/bulk` up to 10,000 `{key, value, expiration?, expiration_ttl?, metadata?, base64?}`,
  body ≤ 100 MB, answers `{successful_key_count, unsuccessful_keys}`
- `POST …/bulk/get` `{keys (≤ 100), type?, withMetadata?}` -> `{values: {key: value|null}}`
- `GET  …/keys?prefix&limit&cursor` -> `[{name, expiration?, metadata?}]`, `result_info.cursor`

Faults beyond the base server's: `unsuccessful_once` (keys reported unsuccessful — and not
stored — on their next bulk write), `unsuccessful_always` (on every write),
`unsuccessful_rate` (each pair fails with that chance) and `hold_puts_after` (single-key PUTs
past that many get no answer until `release` is set: requests in flight, a slow API).
"""
from __future__ import annotations

import base64
import contextlib
import email.parser
import email.policy
import json
import random
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Set, Tuple
from urllib.parse import unquote

from tests.support.cfapi import ACCOUNT_ID, FakeCloudflare, envelope, error
from tests.support.httpserver import Reply, Request

MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 25 * 1024 * 1024
MAX_METADATA_BYTES = 1024
MAX_BULK_PAIRS = 10_000
MAX_BULK_BYTES = 100_000_000
MAX_BULK_GET = 100
MIN_TTL = 60
HOLD_LIMIT = 90.0  # seconds a held request waits for `release` at most (every wait is bounded)


@dataclass
class Entry:
    value: bytes
    expiration: int | None  # epoch seconds
    metadata: Any = None


class KVState:
    """The fake's storage: namespace id -> key -> Entry. Read it directly in tests."""

    def __init__(self, clock: Callable[[], float] = time.time, seed: int = 0,
                 max_bulk_bytes: int = MAX_BULK_BYTES) -> None:
        self.clock = clock
        self.max_bulk_bytes = max_bulk_bytes  # a test may lower the 100 MB request limit
        self.namespaces: Dict[str, Dict[str, Entry]] = {}
        self.lock = threading.Lock()
        self.unsuccessful_once: Set[str] = set()
        self.unsuccessful_rate = 0.0
        self.unsuccessful_always: Set[str] = set()
        self.rng = random.Random(seed)
        self.writes = 0  # accepted key writes (bulk pairs + single PUTs)
        self.ever_written: Set[str] = set()  # every key ever stored, to prove dead keys never were
        self.bulk_requests = 0
        self.put_requests = 0
        self.ttl_too_low = 0  # writes refused because the TTL was under 60 s (must stay 0)
        self.hold_puts_after: int | None = None  # PUTs arriving past this many are held until `release`
        self.release = threading.Event()
        self.held = 0  # PUTs held so far
        self.put_keys: List[str] = []  # keys stored by single-key PUTs, in order

    def create_namespace(self, namespace_id: str) -> Dict[str, Entry]:
        return self.namespaces.setdefault(namespace_id, {})

    def live(self, namespace_id: str) -> Dict[str, Entry]:
        """Entries not yet expired."""
        now = self.clock()
        with self.lock:
            return {k: e for k, e in self.namespaces.get(namespace_id, {}).items() if e.expiration is None or e.expiration > now}

    def _expiration(self, ttl: Any, absolute: Any) -> Tuple[int | None, str | None]:
        now = self.clock()
        if ttl is not None:
            try:
                ttl_n = int(ttl)
            except (TypeError, ValueError):
                return None, f"Invalid expiration_ttl of {ttl}."
            if ttl_n < MIN_TTL:
                self.ttl_too_low += 1
                return None, f"Invalid expiration_ttl of {ttl_n}. Expiration TTL must be at least {MIN_TTL}."
            return int(now) + ttl_n, None
        if absolute is not None:
            try:
                exp = int(absolute)
            except (TypeError, ValueError):
                return None, f"Invalid expiration of {absolute}."
            if exp < now + MIN_TTL:
                self.ttl_too_low += 1
                return None, f"Invalid expiration of {exp}. Expiration times must be at least {MIN_TTL} seconds in the future."
            return exp, None
        return None, None


def _key_error(key: str) -> Reply | None:
    if key in ("", ".", ".."):
        return error(400, 10019, "Illegal key name: key names cannot be empty, '.' or '..'")
    size = len(key.encode("utf-8", "surrogatepass"))
    if size > MAX_KEY_BYTES:
        return error(414, 10033, f"UTF-8 encoded length of {size} exceeds key length limit of {MAX_KEY_BYTES}.")
    return None


def _parse_multipart(content_type: str, body: bytes) -> Dict[str, bytes]:
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    parts: Dict[str, bytes] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            parts[str(name)] = part.get_payload(decode=True) or b""
    return parts


def install(fake: FakeCloudflare, state: KVState | None = None) -> KVState:
    """Register the KV routes on `fake`; returns the state to seed and inspect."""
    kv = state or KVState()
    base = "/accounts/{account}/storage/kv/namespaces/{ns}"

    def namespace(request: Request) -> Tuple[Dict[str, Entry] | None, Reply | None]:
        if request.params["account"] != ACCOUNT_ID:
            return None, error(404, 7003, "Could not route to /accounts/…, perhaps your object identifier is invalid?")
        store = kv.namespaces.get(request.params["ns"])
        if store is None:
            return None, error(404, 10013, "namespace not found")
        return store, None

    def put_value(request: Request) -> Reply:
        store, err = namespace(request)
        if err is not None:
            return err
        with kv.lock:
            hold = kv.hold_puts_after is not None and kv.put_requests + kv.held >= kv.hold_puts_after
            kv.held += hold
        if hold and not kv.release.wait(HOLD_LIMIT):
            return error(504, 10000, "held request never released")
        key = unquote(request.params["key"])
        bad = _key_error(key)
        if bad is not None:
            return bad
        ctype = request.headers.get("content-type", "")
        metadata: Any = None
        if ctype.startswith("multipart/form-data"):
            parts = _parse_multipart(ctype, request.body)
            if "value" not in parts:
                return error(400, 10021, "multipart body without a value part")
            value = parts["value"]
            if "metadata" in parts:
                if len(parts["metadata"]) > MAX_METADATA_BYTES:
                    return error(413, 10023, "metadata too large")
                try:
                    metadata = json.loads(parts["metadata"].decode("utf-8"))
                except ValueError:
                    return error(400, 10022, "metadata is not valid JSON")
        else:
            value = request.body
        if len(value) > MAX_VALUE_BYTES:
            return error(413, 10014, "value too large")
        expiration, problem = kv._expiration(request.query.get("expiration_ttl"), request.query.get("expiration"))
        if problem:
            return error(400, 10014, problem)
        with kv.lock:
            store[key] = Entry(value, expiration, metadata)  # type: ignore[index]
            kv.ever_written.add(key)
            kv.writes += 1
            kv.put_requests += 1
            kv.put_keys.append(key)
        return envelope(None)

    def get_value(request: Request) -> Reply:
        store, err = namespace(request)
        if err is not None:
            return err
        entry = kv.live(request.params["ns"]).get(unquote(request.params["key"]))
        if entry is None:
            return error(404, 10009, "get: 'key not found'")
        headers = {"Content-Type": "application/octet-stream"}
        if entry.expiration is not None:
            headers["Expiration"] = str(entry.expiration)
        return Reply(200, entry.value, headers)

    def get_metadata(request: Request) -> Reply:
        store, err = namespace(request)
        if err is not None:
            return err
        entry = kv.live(request.params["ns"]).get(unquote(request.params["key"]))
        if entry is None:
            return error(404, 10009, "get: 'key not found'")
        return envelope(entry.metadata)

    def put_bulk(request: Request) -> Reply:
        store, err = namespace(request)
        if err is not None:
            return err
        if len(request.body) > kv.max_bulk_bytes:
            return error(413, 10011, "request body too large")
        try:
            pairs = request.json()
        except ValueError:
            return error(400, 10026, "could not parse request body as JSON")
        if not isinstance(pairs, list):
            return error(400, 10026, "body must be an array of key-value pairs")
        if len(pairs) > MAX_BULK_PAIRS:
            return error(400, 10025, f"bulk writes are limited to {MAX_BULK_PAIRS} pairs")
        prepared: List[Tuple[str, Entry]] = []
        for pair in pairs:
            if not isinstance(pair, dict) or not isinstance(pair.get("key"), str) or not isinstance(pair.get("value"), str):
                return error(400, 10026, "each pair needs a string key and a string value")
            bad = _key_error(pair["key"])
            if bad is not None:
                return bad
            value = base64.b64decode(pair["value"]) if pair.get("base64") else pair["value"].encode("utf-8", "surrogatepass")
            if len(value) > MAX_VALUE_BYTES:
                return error(413, 10014, "value too large")
            if "metadata" in pair and len(json.dumps(pair["metadata"]).encode()) > MAX_METADATA_BYTES:
                return error(413, 10023, "metadata too large")
            expiration, problem = kv._expiration(pair.get("expiration_ttl"), pair.get("expiration"))
            if problem:
                return error(400, 10014, problem)
            prepared.append((pair["key"], Entry(value, expiration, pair.get("metadata"))))
        unsuccessful: List[str] = []
        with kv.lock:
            kv.bulk_requests += 1
            for key, entry in prepared:
                if key in kv.unsuccessful_once:
                    kv.unsuccessful_once.discard(key)
                    unsuccessful.append(key)
                    continue
                if key in kv.unsuccessful_always or (kv.unsuccessful_rate and kv.rng.random() < kv.unsuccessful_rate):
                    unsuccessful.append(key)
                    continue
                store[key] = entry  # type: ignore[index]
                kv.ever_written.add(key)
                kv.writes += 1
        return envelope({"successful_key_count": len(prepared) - len(unsuccessful), "unsuccessful_keys": unsuccessful})

    def bulk_get(request: Request) -> Reply:
        store, err = namespace(request)
        if err is not None:
            return err
        try:
            body = request.json()
        except ValueError:
            return error(400, 10026, "could not parse request body as JSON")
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            return error(400, 10026, "keys must be an array of strings")
        if len(keys) > MAX_BULK_GET:
            return error(400, 10026, f"at most {MAX_BULK_GET} keys per bulk get")
        as_json = body.get("type") == "json"
        with_meta = bool(body.get("withMetadata"))
        live = kv.live(request.params["ns"])
        values: Dict[str, Any] = {}
        for key in keys:
            entry = live.get(key)
            if entry is None:
                values[key] = None
                continue
            try:
                text: Any = entry.value.decode("utf-8")
            except UnicodeDecodeError:
                return error(400, 10026, f"value of {key!r} is not text; bulk get needs text-based values")
            if as_json:
                try:
                    text = json.loads(text)
                except ValueError:
                    return error(400, 10026, f"value of {key!r} is not JSON")
            if with_meta:
                item: Dict[str, Any] = {"value": text, "metadata": entry.metadata}
                if entry.expiration is not None:
                    item["expiration"] = entry.expiration
                values[key] = item
            else:
                values[key] = text
        return envelope({"values": values})

    def list_keys(request: Request) -> Reply:
        store, err = namespace(request)
        if err is not None:
            return err
        try:
            limit = int(request.query.get("limit", "1000"))
        except ValueError:
            return error(400, 10026, "limit must be a number")
        if not 10 <= limit <= 1000:
            return error(400, 10026, "limit must be between 10 and 1000")
        prefix = request.query.get("prefix", "")
        cursor = request.query.get("cursor") or ""
        start = base64.urlsafe_b64decode(cursor.encode()).decode("utf-8") if cursor else None
        names = sorted((k for k in kv.live(request.params["ns"]) if k.startswith(prefix)), key=lambda k: k.encode("utf-8"))
        if start is not None:
            names = [k for k in names if k.encode("utf-8") > start.encode("utf-8")]
        page, rest = names[:limit], names[limit:]
        live = kv.live(request.params["ns"])
        result = []
        for name in page:
            item: Dict[str, Any] = {"name": name}
            entry = live.get(name)
            if entry is not None and entry.expiration is not None:
                item["expiration"] = entry.expiration
            if entry is not None and entry.metadata is not None:
                item["metadata"] = entry.metadata
            result.append(item)
        next_cursor = base64.urlsafe_b64encode(page[-1].encode("utf-8")).decode() if rest else ""
        return envelope(result, {"count": len(result), "cursor": next_cursor})

    fake.route("PUT", base + "/values/{key}", put_value)
    fake.route("GET", base + "/values/{key}", get_value)
    fake.route("GET", base + "/metadata/{key}", get_metadata)
    fake.route("PUT", base + "/bulk", put_bulk)
    fake.route("POST", base + "/bulk/get", bulk_get)
    fake.route("GET", base + "/keys", list_keys)
    fake.kv = kv  # type: ignore[attr-defined]
    return kv


@contextlib.contextmanager
def serving_namespace(namespace: str) -> Iterator[FakeCloudflare]:
    """A started fake Cloudflare API holding one empty KV namespace."""
    fake = FakeCloudflare()
    install(fake).create_namespace(namespace)
    with fake:
        yield fake
