"""Workers KV through the Cloudflare API: bulk writes (default) and per-key PUTs, both paced
by the token's one `RateLimiter` (core.ratelimit.cloudflare_limiter: Cloudflare's budget is per
token), which the client calls before every attempt (its `pace`).

Every attempt of a request is built when it goes out (the client's `prepare` hook, called after
the budget wait and after each retry wait or 429 block wait), so its `expiration_ttl`s count from
that moment and a record that died while waiting is dropped (counted as expired), never written.
"""
from __future__ import annotations

import base64
import time
import uuid
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Callable, Iterator, List, Sequence, Tuple
from urllib.parse import quote

from cutover.core import waits
from cutover.core.http import Attempt, HttpClient, HttpError
from cutover.core.workers import Workers
from cutover.errors import CutoverError
from cutover.kv.record import EXPIRED, KVRecord, expiration_ttl_at_send
from cutover.kv.sink import FailedKey, KVSink, WriteResult, last_per_key, now_ms

BULK_MAX_PAIRS = 10_000
# Cloudflare: "the entire request size must be 100 megabytes or less"; stay clearly below.
BULK_MAX_BYTES = 95_000_000
UNSUCCESSFUL_KEY_RETRIES = 5
# Statuses that mean the namespace/token is unusable: stop the run instead of failing every key.
FATAL_STATUSES = frozenset({401, 403, 404})


class _AllExpired(Exception):
    """Every record of a request died while it waited: nothing left to send."""


class _Abandoned(Exception):
    """The run was interrupted while this request waited: it is not sent."""


def namespace_path(account_id: str, namespace_id: str) -> str:
    return f"accounts/{quote(account_id, safe='')}/storage/kv/namespaces/{quote(namespace_id, safe='')}"


def pair_parts(record: KVRecord) -> Tuple[bytes, bytes]:
    """A bulk pair without its TTL: (`{"key":…,"value":…`, `,"metadata":…}`). Non-UTF-8 values
    go base64 with `"base64": true`."""
    try:
        text = record.value.decode("utf-8")
        b64 = False
    except UnicodeDecodeError:
        text = base64.b64encode(record.value).decode("ascii")
        b64 = True
    # encode_basestring is json.dumps(str, ensure_ascii=False) without building an encoder per call
    head = '{"key":' + encode_basestring(record.key) + ',"value":' + encode_basestring(text)
    if record.metadata is None and not b64:
        return head.encode("utf-8"), b"}"
    tail = (',"metadata":' + record.metadata if record.metadata is not None else "") + (',"base64":true' if b64 else "") + "}"
    return head.encode("utf-8"), tail.encode("utf-8")


def ttl_part(ttl: int | None) -> bytes:
    return b"" if ttl is None else b',"expiration_ttl":%d' % ttl


def bulk_pair(record: KVRecord, ttl: int | None) -> str:
    """One element of the bulk body (as text)."""
    head, tail = pair_parts(record)
    return (head + ttl_part(ttl) + tail).decode("utf-8")


class BulkChunk:
    """One bulk request: the records it carries, their pairs without TTLs, and the records too
    big for any bulk request (`single`: they go by single-key PUT)."""

    def __init__(self) -> None:
        self.records: List[KVRecord] = []
        self.parts: List[Tuple[bytes, bytes]] = []
        self.single: List[KVRecord] = []
        self.size = 2  # "[" and "]"

    def body(self, now: int, on_expired: Callable[[KVRecord], None] | None = None) -> bytes:
        """The JSON body with TTLs as of `now`; records dead by then leave the chunk."""
        pairs: List[bytes] = []
        dead: List[int] = []
        for i, record in enumerate(self.records):
            head, tail = self.parts[i]
            if record.expires_at_ms is None:
                pairs.append(head + tail)
                continue
            ttl = expiration_ttl_at_send(record.expires_at_ms, now)
            if ttl == EXPIRED:
                dead.append(i)
                if on_expired is not None:
                    on_expired(record)
                continue
            pairs.append(b"%s,\"expiration_ttl\":%d%s" % (head, ttl, tail))
        if dead:
            gone = set(dead)
            self.records = [r for i, r in enumerate(self.records) if i not in gone]
            self.parts = [p for i, p in enumerate(self.parts) if i not in gone]
        return b"[" + b",".join(pairs) + b"]"


# The longest TTL part a pair can get (seconds up to year 10000): a body rebuilt later is never bigger.
_TTL_PART_MAX = len(ttl_part(10**12))


def bulk_chunks(
    records: Sequence[KVRecord], now: int, max_pairs: int = BULK_MAX_PAIRS, max_bytes: int = BULK_MAX_BYTES
) -> Iterator[Tuple[BulkChunk, List[KVRecord]]]:
    """Split records into bulk requests (≤ max_pairs, encoded body ≤ max_bytes), dropping those dead at `now`.

    Yields (chunk, expired records); the last chunk may hold no pairs when only expired or
    too-big records remain. A pair that alone would exceed max_bytes (a value of control
    characters escapes to six bytes each) goes to `chunk.single` for a single-key PUT.
    """
    chunk = BulkChunk()
    expired: List[KVRecord] = []
    for record in records:
        ttl = expiration_ttl_at_send(record.expires_at_ms, now)
        if ttl == EXPIRED:
            expired.append(record)
            continue
        parts = pair_parts(record)
        pair_size = len(parts[0]) + len(parts[1]) + (_TTL_PART_MAX if ttl is not None else 0)
        if pair_size + 2 > max_bytes:
            chunk.single.append(record)
            continue
        extra = pair_size + (1 if chunk.records else 0)
        if chunk.records and (len(chunk.records) >= max_pairs or chunk.size + extra > max_bytes):
            yield chunk, expired
            chunk, expired = BulkChunk(), []
            extra = pair_size
        chunk.records.append(record)
        chunk.parts.append(parts)
        chunk.size += extra
    if chunk.records or chunk.single or expired:
        yield chunk, expired


def _fatal(exc: HttpError, what: str) -> CutoverError:
    hint = {401: "check CLOUDFLARE_API_TOKEN", 403: "check CLOUDFLARE_API_TOKEN: wrong, or without Workers KV Storage Write",
            404: "check the account id and namespace id"}.get(exc.status or 0, "")
    return CutoverError(f"{what}: {exc}" + (f" ({hint})" if hint else ""))


class _ApiSink(KVSink):
    def __init__(
        self,
        client: HttpClient,
        account_id: str,
        namespace_id: str,
        clock_ms: Callable[[], int] = now_ms,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.base = namespace_path(account_id, namespace_id)
        self.namespace_id = namespace_id
        self.clock_ms = clock_ms  # type: ignore[assignment]
        self.sleep = sleep
        self.stopped = False  # an interrupt: no request is sent from now on

    def _put_one(self, record: KVRecord) -> WriteResult:
        """`PUT …/values/{key}`; the TTL query parameter is computed afresh for every attempt."""
        result = WriteResult()
        url = f"{self.base}/values/{quote(record.key, safe='')}"
        if record.metadata is not None:
            body, ctype = multipart_body(record.value, record.metadata)
        else:
            body, ctype = record.value, "application/octet-stream"

        def prepare() -> Attempt:
            if self.stopped:
                raise _Abandoned
            ttl = expiration_ttl_at_send(record.expires_at_ms, self.clock_ms())
            if ttl == EXPIRED:
                raise _AllExpired
            return Attempt(params={"expiration_ttl": ttl})  # None: no expiry (left out of the URL)

        result.requests += 1
        try:
            self.client.request("PUT", url, data=body, headers={"Content-Type": ctype}, prepare=prepare)
            result.written = 1
        except _AllExpired:
            result.requests -= 1
            result.expired = 1
        except HttpError as exc:
            if exc.status in FATAL_STATUSES:
                raise _fatal(exc, f"write to namespace {self.namespace_id}") from None
            if exc.status is None:  # the network, not this key: stop and let --resume continue
                raise CutoverError(f"write to namespace {self.namespace_id} failed: {exc}") from None
            result.failed.append(FailedKey(record.key, record.doc_id, str(exc)))
        return result


class BulkSink(_ApiSink):
    """`PUT …/bulk`: up to 10,000 pairs per request; `unsuccessful_keys` are sent again. A pair
    too big for any bulk request goes by single-key PUT."""

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
                chunk, expired = next(bulk_chunks(pending, self.clock_ms(), self.max_pairs, self.max_bytes))
                result.expired += len(expired)
                pending = pending[len(chunk.records) + len(chunk.single) + len(expired):]
                for record in chunk.single:
                    one = self._put_one(record)
                    result.add(one)
                    result.single_puts += one.written
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
        def on_expired(_record: KVRecord) -> None:
            result.expired += 1

        def prepare() -> Attempt:
            body = chunk.body(self.clock_ms(), on_expired)
            if not chunk.records:
                raise _AllExpired
            return Attempt(data=body)

        result.requests += 1
        try:
            response = self.client.request(
                "PUT", f"{self.base}/bulk", data=b"[]", headers={"Content-Type": "application/json"}, prepare=prepare
            )
        except _AllExpired:
            result.requests -= 1
            return set()
        except HttpError as exc:
            if exc.status in FATAL_STATUSES:
                raise _fatal(exc, f"bulk write to namespace {self.namespace_id}") from None
            raise CutoverError(f"bulk write to namespace {self.namespace_id} failed: {exc}") from None
        payload = response.json()
        if not isinstance(payload, dict) or payload.get("success") is False:
            raise CutoverError(f"bulk write to namespace {self.namespace_id}: unexpected answer {response.text[:200]}")
        outcome = payload.get("result") or {}
        unsuccessful = outcome.get("unsuccessful_keys") if isinstance(outcome, dict) else None
        return set(unsuccessful or ())


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


# Put mode checkpoints after each batch: a batch is this much work, so a crash loses at most that.
PUT_BATCH_SECONDS = 2.0
PUT_BATCH_MAX = 200


def put_batch_records(rate: float, window_budget: int, window_seconds: float) -> int:
    """Keys per put-mode batch: about PUT_BATCH_SECONDS of PUTs at the slower of --rate and the
    budget's long-run pace, so a checkpoint follows every couple of seconds of acknowledged work."""
    per_second = min(rate, window_budget / window_seconds)
    return max(1, min(PUT_BATCH_MAX, int(per_second * PUT_BATCH_SECONDS)))


class PutSink(_ApiSink):
    """`PUT …/values/{key}` one key at a time, `workers` in flight, paced by the shared limiter.

    Ctrl-C (or a fatal answer) stops at once: the queued PUTs are cancelled, none is sent after
    it, and those in flight are not waited for (their batch is not acknowledged, so the
    checkpoint still predates it and a --resume sends it again)."""

    batch_records = 200

    def __init__(self, *args, workers: int = 8, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.workers = max(1, workers)
        self._pool = Workers(self.workers, "kv-put")

    def write(self, records: Sequence[KVRecord]) -> WriteResult:
        result = WriteResult()
        unique = last_per_key(records)
        result.superseded = len(records) - len(unique)
        futures = [self._pool.submit(self._put_one, r) for r in unique]
        try:
            for future in futures:
                result.add(future.result())
        except BaseException:
            self.stopped = True
            waits.abandon()  # workers waiting out a budget or block wait stop when they wake, silently
            self._pool.abandon()
            raise
        return result

    def close(self) -> None:
        self._pool.close()
