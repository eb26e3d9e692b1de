"""Workers KV through the Cloudflare API: bulk writes (default) and per-key PUTs, both paced
by the token's one `RateLimiter` (core.ratelimit.cloudflare_limiter: Cloudflare's budget is per token).

A rate-limiter slot is taken *before* a request body is built, so the `expiration_ttl` in
it is computed at the moment it is sent, not minutes earlier while waiting for the budget.
"""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, List, Sequence, Tuple
from urllib.parse import quote

from cutover.core import waits
from cutover.core.http import HttpClient, HttpError, parse_retry_after
from cutover.core.ratelimit import RateLimiter
from cutover.errors import CutoverError
from cutover.sinks.base import FailedKey, KVSink, WriteResult, last_per_key, now_ms
from cutover.sinks.kvrecord import EXPIRED, KVRecord, expiration_ttl_at_send

BULK_MAX_PAIRS = 10_000
# Cloudflare: "the entire request size must be 100 megabytes or less"; stay clearly below.
BULK_MAX_BYTES = 95_000_000
UNSUCCESSFUL_KEY_RETRIES = 5
# A 429 block (another client on the same token) lasts 5 minutes; wait it out a few times.
BLOCK_RETRIES = 3
MAX_BLOCK_WAIT = 330.0
# Statuses that mean the namespace/token is unusable: stop the run instead of failing every key.
FATAL_STATUSES = frozenset({401, 403, 404})


class Pacer:
    """`HttpClient.pace` hook: the sink pays for a request's first attempt itself (`prepay`),
    so only retries take a slot inside the client."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self._local = threading.local()

    def prepay(self) -> None:
        self.limiter.acquire()
        self._local.prepaid = True

    def blocked(self, seconds: float) -> None:
        self.limiter.blocked(seconds)

    def __call__(self) -> None:
        if getattr(self._local, "prepaid", False):
            self._local.prepaid = False
            return
        self.limiter.acquire()


def namespace_path(account_id: str, namespace_id: str) -> str:
    return f"accounts/{quote(account_id, safe='')}/storage/kv/namespaces/{quote(namespace_id, safe='')}"


def bulk_pair(record: KVRecord, ttl: int | None) -> str:
    """One element of the bulk body; non-UTF-8 values go base64 with `"base64": true`."""
    try:
        text = record.value.decode("utf-8")
        b64 = False
    except UnicodeDecodeError:
        text = base64.b64encode(record.value).decode("ascii")
        b64 = True
    parts = ['{"key":', json.dumps(record.key, ensure_ascii=False), ',"value":', json.dumps(text, ensure_ascii=False)]
    if ttl is not None:
        parts.append(f',"expiration_ttl":{ttl}')
    if record.metadata is not None:
        parts.append(',"metadata":' + record.metadata)
    if b64:
        parts.append(',"base64":true')
    parts.append("}")
    return "".join(parts)


class BulkChunk:
    """One bulk request: the records it carries and its JSON body."""

    def __init__(self) -> None:
        self.records: List[KVRecord] = []
        self.pairs: List[bytes] = []
        self.size = 2  # "[" and "]"

    def body(self) -> bytes:
        return b"[" + b",".join(self.pairs) + b"]"


def bulk_chunks(
    records: Sequence[KVRecord], now: int, max_pairs: int = BULK_MAX_PAIRS, max_bytes: int = BULK_MAX_BYTES
) -> Iterator[Tuple[BulkChunk, List[KVRecord]]]:
    """Split records into bulk requests (≤ max_pairs, body ≤ max_bytes) with TTLs as of `now`.

    Yields (chunk, expired records); the last chunk may be empty when only expired remain.
    """
    chunk = BulkChunk()
    expired: List[KVRecord] = []
    for record in records:
        ttl = expiration_ttl_at_send(record.expires_at_ms, now)
        if ttl == EXPIRED:
            expired.append(record)
            continue
        pair = bulk_pair(record, ttl).encode("utf-8")
        extra = len(pair) + (1 if chunk.pairs else 0)
        if chunk.pairs and (len(chunk.pairs) >= max_pairs or chunk.size + extra > max_bytes):
            yield chunk, expired
            chunk, expired = BulkChunk(), []
            extra = len(pair)
        chunk.records.append(record)
        chunk.pairs.append(pair)
        chunk.size += extra
    if chunk.pairs or expired:
        yield chunk, expired


def _fatal(exc: HttpError, what: str) -> CutoverError:
    hint = {401: "check CLOUDFLARE_API_TOKEN", 403: "check CLOUDFLARE_API_TOKEN: wrong, or without Workers KV Storage Write",
            404: "check the account id and namespace id"}.get(exc.status or 0, "")
    return CutoverError(f"{what}: {exc}" + (f" ({hint})" if hint else ""))


class _ApiSink(KVSink):
    def __init__(
        self,
        client: HttpClient,
        pacer: Pacer,
        account_id: str,
        namespace_id: str,
        clock_ms: Callable[[], int] = now_ms,
        sleep: Callable[[float], None] = time.sleep,
        on_block: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.pacer = pacer
        self.base = namespace_path(account_id, namespace_id)
        self.namespace_id = namespace_id
        self.clock_ms = clock_ms  # type: ignore[assignment]
        self.sleep = sleep
        self.on_block = on_block

    def _blocked_wait(self, exc: HttpError, attempt: int) -> bool:
        """After a 429 the client would not wait out (a 5-minute block): wait here, then rebuild."""
        if exc.status != 429 or attempt >= BLOCK_RETRIES:
            return False
        after = parse_retry_after(exc.response.header("retry-after") if exc.response else None) or 60.0
        after = min(after, MAX_BLOCK_WAIT)
        if self.on_block is not None:
            self.on_block(after)
        self.pacer.blocked(after)
        waits.wait(after, "429", self.sleep, ": Cloudflare blocks this token; then sent again with fresh TTLs")
        return True


class BulkSink(_ApiSink):
    """`PUT …/bulk`: up to 10,000 pairs per request; `unsuccessful_keys` are sent again."""

    batch_records = BULK_MAX_PAIRS

    def __init__(self, *args, max_pairs: int = BULK_MAX_PAIRS, max_bytes: int = BULK_MAX_BYTES,
                 key_retries: int = UNSUCCESSFUL_KEY_RETRIES, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.max_pairs = max_pairs
        self.max_bytes = max_bytes
        self.key_retries = key_retries
        self.batch_records = max_pairs

    def write(self, records: Sequence[KVRecord]) -> WriteResult:
        result = WriteResult()
        pending = last_per_key(records)
        result.superseded = len(records) - len(pending)
        for attempt in range(self.key_retries + 1):
            if attempt:
                self.sleep(min(30.0, 0.25 * 2 ** (attempt - 1)))
            retry: List[KVRecord] = []
            while pending:
                # TTLs are fixed per request, right after its rate-limit slot is granted.
                self.pacer.prepay()
                chunk, expired = next(bulk_chunks(pending, self.clock_ms(), self.max_pairs, self.max_bytes))
                result.expired += len(expired)
                taken = len(chunk.records) + len(expired)
                pending = pending[taken:]
                if not chunk.records:
                    continue
                unsuccessful = self._send(chunk, result)
                result.written += sum(1 for r in chunk.records if r.key not in unsuccessful)
                retry.extend(r for r in chunk.records if r.key in unsuccessful)
            pending = retry
            if not pending:
                break
        result.failed.extend(
            FailedKey(r.key, r.doc_id, f"still in unsuccessful_keys after {self.key_retries} retries") for r in pending
        )
        return result

    def _send(self, chunk: BulkChunk, result: WriteResult) -> set:  # type: ignore[type-arg]
        attempt = 0
        body = chunk.body()
        while True:
            result.requests += 1
            try:
                response = self.client.request(
                    "PUT", f"{self.base}/bulk", data=body, headers={"Content-Type": "application/json"}
                )
                break
            except HttpError as exc:
                if exc.status in FATAL_STATUSES:
                    raise _fatal(exc, f"bulk write to namespace {self.namespace_id}") from None
                if not self._blocked_wait(exc, attempt):
                    raise CutoverError(f"bulk write to namespace {self.namespace_id} failed: {exc}") from None
                attempt += 1
                self.pacer.prepay()
                body = _rebuild(chunk, self.clock_ms(), result)
        payload = response.json()
        if not isinstance(payload, dict) or payload.get("success") is False:
            raise CutoverError(f"bulk write to namespace {self.namespace_id}: unexpected answer {response.text[:200]}")
        outcome = payload.get("result") or {}
        unsuccessful = outcome.get("unsuccessful_keys") if isinstance(outcome, dict) else None
        return set(unsuccessful or ())


def _rebuild(chunk: BulkChunk, now: int, result: WriteResult) -> bytes:
    """The same chunk with TTLs recomputed after a long wait (records that died meanwhile dropped)."""
    records = chunk.records
    chunk.records, chunk.pairs, chunk.size = [], [], 2
    for record in records:
        ttl = expiration_ttl_at_send(record.expires_at_ms, now)
        if ttl == EXPIRED:
            result.expired += 1
            continue
        chunk.records.append(record)
        chunk.pairs.append(bulk_pair(record, ttl).encode("utf-8"))
    return chunk.body()


def multipart_body(value: bytes, metadata: str) -> Tuple[bytes, str]:
    """multipart/form-data with `value` and `metadata` parts; returns (body, content type)."""
    boundary = "cutover-" + uuid.uuid4().hex
    crlf = b"\r\n"
    parts = [
        b"--" + boundary.encode() + crlf,
        b'Content-Disposition: form-data; name="value"' + crlf,
        b"Content-Type: application/octet-stream" + crlf + crlf,
        value + crlf,
        b"--" + boundary.encode() + crlf,
        b'Content-Disposition: form-data; name="metadata"' + crlf,
        b"Content-Type: application/json" + crlf + crlf,
        metadata.encode("utf-8") + crlf,
        b"--" + boundary.encode() + b"--" + crlf,
    ]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class PutSink(_ApiSink):
    """`PUT …/values/{key}` one key at a time, `workers` in flight, paced by the shared limiter."""

    batch_records = 200

    def __init__(self, *args, workers: int = 8, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.workers = max(1, workers)
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="kv-put")

    def write(self, records: Sequence[KVRecord]) -> WriteResult:
        result = WriteResult()
        unique = last_per_key(records)
        result.superseded = len(records) - len(unique)
        futures = [self._pool.submit(self._put_one, r) for r in unique]
        try:
            for future in futures:
                result.add(future.result())
        except BaseException:
            # Ctrl-C or a fatal answer: nothing more starts; the checkpoint still predates this batch.
            for future in futures:
                future.cancel()
            raise
        return result

    def _put_one(self, record: KVRecord) -> WriteResult:
        result = WriteResult()
        url = f"{self.base}/values/{quote(record.key, safe='')}"
        attempt = 0
        while True:
            self.pacer.prepay()
            ttl = expiration_ttl_at_send(record.expires_at_ms, self.clock_ms())
            if ttl == EXPIRED:
                result.expired = 1
                return result
            params = {"expiration_ttl": ttl} if ttl is not None else None
            if record.metadata is not None:
                body, ctype = multipart_body(record.value, record.metadata)
            else:
                body, ctype = record.value, "application/octet-stream"
            result.requests += 1
            try:
                self.client.request("PUT", url, params=params, data=body, headers={"Content-Type": ctype})
                result.written = 1
                return result
            except HttpError as exc:
                if exc.status in FATAL_STATUSES:
                    raise _fatal(exc, f"write to namespace {self.namespace_id}") from None
                if exc.status is None:  # the network, not this key: stop and let --resume continue
                    raise CutoverError(f"write to namespace {self.namespace_id} failed: {exc}") from None
                if self._blocked_wait(exc, attempt):
                    attempt += 1
                    continue
                result.failed.append(FailedKey(record.key, record.doc_id, str(exc)))
                return result

    def close(self) -> None:
        self._pool.shutdown(wait=True)
