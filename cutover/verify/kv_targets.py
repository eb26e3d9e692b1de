"""Where verify reads KV from: the Cloudflare REST API, wrangler (local or remote), a
`wrangler kv bulk put` file, or the drill's local store file. All read-only."""
from __future__ import annotations

import abc
import base64
import json
import os
import sqlite3
import tempfile
import time
from typing import Any, Dict, Iterator, List, Sequence

from cutover.errors import CutoverError
from cutover.verify import wrangler
from cutover.verify.compare import KVEntry

KVState = Dict[str, KVEntry]
BULK_GET_MAX_KEYS = 100  # Cloudflare's limit per bulk/get call
LIST_PAGE = 1000
STORE_FORMAT = "cutover-kv-store/1"


class KVTarget(abc.ABC):
    description = ""
    #: when the last `read` finished (epoch seconds): a key whose expiry passed by then may be gone
    read_at: float | None = None

    @abc.abstractmethod
    def read(self, namespace_id: str) -> KVState:
        """Every live key of the namespace with value, expiry and metadata."""


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class RestKV(KVTarget):
    """GET …/keys (cursor pagination) then POST …/bulk/get (≤ 100 keys) per namespace."""

    def __init__(self, client: Any, account_id: str) -> None:
        self.client = client  # cutover.core.http.HttpClient, paced by the shared limiter
        self.account_id = account_id
        self.description = "Cloudflare API"

    def _base(self, namespace_id: str) -> str:
        return f"/accounts/{self.account_id}/storage/kv/namespaces/{namespace_id}"

    def list_keys(self, namespace_id: str) -> List[Dict[str, Any]]:
        keys: List[Dict[str, Any]] = []
        cursor = ""
        for _ in range(1_000_000):  # bounded: a cursor that never ends is a server bug
            body = self.client.get_json(self._base(namespace_id) + "/keys", params={"limit": LIST_PAGE, "cursor": cursor or None})
            keys.extend(body.get("result") or [])
            cursor = (body.get("result_info") or {}).get("cursor") or ""
            if not cursor:
                return keys
        raise CutoverError(f"KV namespace {namespace_id}: key listing did not end")

    def read(self, namespace_id: str) -> KVState:
        listed = self.list_keys(namespace_id)
        state: KVState = {}
        names = [k["name"] for k in listed]
        info = {k["name"]: k for k in listed}
        for chunk in _chunks(names, BULK_GET_MAX_KEYS):
            body = self.client.post_json(
                self._base(namespace_id) + "/bulk/get", {"keys": list(chunk), "type": "text", "withMetadata": True}
            )
            found = ((body.get("result") or {}).get("values")) or {}
            for name in chunk:
                item = found.get(name)
                if item is None:  # deleted or expired between list and get
                    continue
                meta = item.get("metadata", info[name].get("metadata"))
                expiration = item.get("expiration", info[name].get("expiration"))
                state[name] = KVEntry(item.get("value"), float(expiration) if expiration else None, meta)
        self.read_at = time.time()
        return state


class WranglerKV(KVTarget):
    """`wrangler kv key list` + `wrangler kv bulk get`, local (default) or --remote.

    wrangler 4 pages the remote listing itself (cursor), but `--local` answers with the first
    1,000 keys and has no cursor or limit flag. A full local page is therefore completed from
    wrangler's own local state (Miniflare's SQLite index, read-only), after checking that it
    holds the keys wrangler listed; values still come through `wrangler kv bulk get`."""

    def __init__(self, wrangler: Sequence[str], cwd: str, remote: bool = False, persist_to: str | None = None,
                 env: Dict[str, str] | None = None) -> None:
        self.wrangler = list(wrangler)
        self.cwd = cwd
        self.remote = remote
        self.persist_to = persist_to
        self.where = ["--remote"] if remote else ["--local"] + (["--persist-to", persist_to] if persist_to else [])
        self.env = env
        self.description = "wrangler " + ("--remote" if remote else "--local")

    def _run(self, args: List[str]) -> str:
        return wrangler.run(self.wrangler + args + self.where, self.cwd, self.env, " ".join(args[:3]))

    def list_keys(self, namespace_id: str) -> List[Dict[str, Any]]:
        listed = wrangler.decode_json(self._run(["kv", "key", "list", "--namespace-id", namespace_id]), "kv key list")
        if not isinstance(listed, list):
            raise CutoverError("kv key list: wrangler did not print a JSON array")
        if self.remote or len(listed) < LOCAL_LIST_MAX:
            return listed
        state_dir = os.path.join(self.cwd, self.persist_to) if self.persist_to else os.path.join(self.cwd, ".wrangler", "state")
        everything = local_state_keys(state_dir, namespace_id)
        names = {k["name"] for k in everything}
        unseen = [k["name"] for k in listed if k["name"] not in names]
        if unseen:
            raise CutoverError(f"kv key list --local: wrangler's local state in {state_dir} does not hold key {unseen[0]!r} "
                               "that wrangler listed; give the directory wrangler uses with --persist-to DIR")
        return everything

    def read(self, namespace_id: str) -> KVState:
        listed = self.list_keys(namespace_id)
        state: KVState = {}
        with tempfile.TemporaryDirectory(prefix="cutover-verify-") as tmp:
            for chunk in _chunks(listed, 1000):
                keys_file = os.path.join(tmp, "keys.json")
                with open(keys_file, "w", encoding="utf-8") as handle:
                    json.dump([item["name"] for item in chunk], handle)
                got = wrangler.decode_json(self._run(["kv", "bulk", "get", keys_file, "--namespace-id", namespace_id]), "kv bulk get")
                for item in chunk:
                    name = item["name"]
                    if name in got and (got[name] or {}).get("value") is not None:
                        exp = item.get("expiration")
                        state[name] = KVEntry(got[name]["value"], float(exp) if exp else None, item.get("metadata"))
        self.read_at = time.time()
        return state


LOCAL_LIST_MAX = 1000  # what `wrangler kv key list --local` returns at most (Miniflare's list default)


def local_state_keys(state_dir: str, namespace_id: str) -> List[Dict[str, Any]]:
    """Every live key of a namespace in wrangler's local state (`<state>/v3/kv`), as `kv key list`
    prints them. Miniflare keeps one SQLite index per namespace (`_mf_entries`) whose blobs live
    in `<state>/v3/kv/<namespace id>/blobs`; the index is matched to the namespace by its blobs."""
    kv_dir = os.path.join(state_dir, "v3", "kv")
    index_dir = os.path.join(kv_dir, "miniflare-KVNamespaceObject")
    blobs = os.path.join(kv_dir, namespace_id, "blobs")
    hint = ("wrangler kv key list --local stops at 1,000 keys and has no cursor; cutover reads the rest from "
            "wrangler's local state")
    if not os.path.isdir(index_dir) or not os.path.isdir(blobs):
        raise CutoverError(f"{hint}, but found none for namespace {namespace_id} under {state_dir}: "
                           "give the directory wrangler uses with --persist-to DIR")
    now_ms = time.time() * 1000
    for name in sorted(os.listdir(index_dir)):
        if not name.endswith(".sqlite") or name == "metadata.sqlite":
            continue
        try:
            conn = sqlite3.connect(f"file:{os.path.join(index_dir, name)}?mode=ro", uri=True)
        except sqlite3.Error:
            continue
        try:
            sample = conn.execute("SELECT blob_id FROM _mf_entries LIMIT 20").fetchall()
            if not sample or not all(os.path.exists(os.path.join(blobs, str(b))) for (b,) in sample):
                continue
            rows = conn.execute("SELECT key, expiration, metadata FROM _mf_entries "
                                "WHERE expiration IS NULL OR expiration > ? ORDER BY key", (now_ms,)).fetchall()
        except sqlite3.Error:
            continue
        finally:
            conn.close()
        out: List[Dict[str, Any]] = []
        for key, expiration, metadata in rows:
            item: Dict[str, Any] = {"name": key}
            if expiration is not None:
                item["expiration"] = int(expiration // 1000)
            if metadata is not None:
                item["metadata"] = json.loads(metadata)
            out.append(item)
        return out
    raise CutoverError(f"{hint}, but no index there matches namespace {namespace_id} ({index_dir}); "
                       "give the directory wrangler uses with --persist-to DIR")


def entry_from_bulk_item(item: Dict[str, Any], applied_at: float) -> KVEntry:
    """A `wrangler kv bulk put` item as stored: relative TTLs anchored at `applied_at`."""
    value: Any = item["value"]
    if item.get("base64"):
        raw = base64.b64decode(value)
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            value = raw
    expiration = item.get("expiration")
    if expiration is None and item.get("expiration_ttl") is not None:
        expiration = applied_at + float(item["expiration_ttl"])
    return KVEntry(value, float(expiration) if expiration is not None else None, item.get("metadata"))


def read_bulk_file(path: str) -> List[Dict[str, Any]]:
    try:
        with open(path, encoding="utf-8") as handle:
            items = json.load(handle)
    except (OSError, ValueError) as exc:
        raise CutoverError(f"{path}: not a readable wrangler kv bulk file ({exc})") from None
    if not isinstance(items, list):
        raise CutoverError(f"{path}: a wrangler kv bulk file is a JSON array")
    return items


class BulkFileKV(KVTarget):
    """A `wrangler kv bulk put` file as if applied when it was written (its mtime)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"bulk file {path}"

    def read(self, namespace_id: str) -> KVState:
        applied = os.path.getmtime(self.path)
        self.read_at = time.time()
        return {item["key"]: entry_from_bulk_item(item, applied) for item in read_bulk_file(self.path)}


class LocalStoreKV(KVTarget):
    """The drill's stand-in for KV when wrangler is absent: one JSON file, namespaces → keys."""

    def __init__(self, path: str, now: float | None = None) -> None:
        self.path = path
        self.now = now
        self.description = f"local store {path}"

    def load(self) -> Dict[str, Dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise CutoverError(f"{self.path}: unreadable KV store ({exc})") from None
        if data.get("format") != STORE_FORMAT:
            raise CutoverError(f"{self.path}: not a {STORE_FORMAT} file")
        return data.get("namespaces") or {}

    def apply_bulk(self, namespace_id: str, items: List[Dict[str, Any]], now: float | None = None) -> int:
        """Write bulk-put items like `wrangler kv bulk put` would (later writes win)."""
        from cutover.core.fsutil import atomic_write_json

        applied = time.time() if now is None else now
        spaces = self.load()
        space = spaces.setdefault(namespace_id, {})
        for item in items:
            entry = entry_from_bulk_item(item, applied)
            is_bytes = isinstance(entry.value, bytes)
            space[item["key"]] = {
                "value": base64.b64encode(entry.value).decode() if is_bytes else entry.value,  # type: ignore[arg-type]
                "base64": is_bytes,
                "expiration": entry.expiration,
                "metadata": entry.metadata,
            }
        atomic_write_json(self.path, {"format": STORE_FORMAT, "namespaces": spaces})
        return len(items)

    def read(self, namespace_id: str) -> KVState:
        now = time.time() if self.now is None else self.now
        self.read_at = now
        state: KVState = {}
        for key, item in (self.load().get(namespace_id) or {}).items():
            if item.get("expiration") is not None and item["expiration"] <= now:
                continue  # expired keys are gone, as in KV
            value: Any = base64.b64decode(item["value"]) if item.get("base64") else item["value"]
            state[key] = KVEntry(value, item.get("expiration"), item.get("metadata"))
        return state
