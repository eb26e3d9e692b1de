"""`NativeSource`: scan collections over the native driver, sorted by _id, resuming after drops.

At the end of a scan the range it read is counted with `aggregate` (`$match` + `$count`, the
count MongoDB documents as exact, unlike a `count` without a predicate) and a scan that read
fewer documents than counted fails loudly (`SourceIncomplete`), the same as the Data API source.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterator

from cutover.errors import ConfigError
from cutover.mongo.base import Batch, MongoSource, ScanOptions
from cutover.mongo.idrange import check_scan_count, scan_count_range
from cutover.mongo.native.client import MongoClient
from cutover.mongo.native.connection import Warn, stderr_warning
from cutover.mongo.native.dns import DNSError, Resolver, parse_nameserver
from cutover.mongo.native.errors import MongoCommandError, MongoNetworkError, MongoServerSelectionError
from cutover.mongo.native.uri import expand_srv, parse

_NO_ID = object()
# The server dropped the cursor (idle > 10 minutes while a slow sink worked, or a failover).
_CURSOR_NOT_FOUND = 43


def scan_filter(options: ScanOptions) -> Dict[str, Any]:
    """The `find` filter for a scan: only `since` (the resume position travels as `min`)."""
    if options.since is None:
        return {}
    return {options.since_field: {"$gte": options.since}}


def _count_in(first_batch: Any) -> int | None:
    """`n` of a `$count` stage's reply batch: no document means nothing matched; None: not a count."""
    if not isinstance(first_batch, list):
        return None
    if not first_batch:
        return 0
    value = first_batch[0].get("n") if isinstance(first_batch[0], dict) else None
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def scan_projection(options: ScanOptions) -> Dict[str, Any] | None:
    # _id must come back: it is the resume position.
    if not options.projection:
        return None
    projection = dict(options.projection)
    if "_id" in projection and not projection["_id"]:
        del projection["_id"]
    return projection or None


class NativeSource(MongoSource):
    """Read-only MongoDB source over `mongodb://` or `mongodb+srv://` (SCRAM, TLS, SRV)."""

    def __init__(
        self,
        uri: str,
        database: str,
        *,
        dns_server: str | None = None,
        max_resumes: int = 5,
        warn: Warn = stderr_warning,
        sleep: Callable[[float], None] = time.sleep,
        app_name: str | None = None,
    ) -> None:
        parsed = parse(uri)
        for name in parsed.ignored:
            warn(f"MongoDB URI option {name!r} is not known; ignored")
        resolver = None
        if dns_server or parsed.srv:
            try:
                resolver = Resolver([parse_nameserver(dns_server)] if dns_server else None)
                parsed = expand_srv(parsed, resolver)
            except (DNSError, ValueError) as exc:
                raise ConfigError(f"{parsed.display}: {exc}") from None
        self.uri = parsed
        self.database = database or parsed.database
        if not self.database:
            raise ConfigError("no database: set mongo.database in the config or put it in the URI path")
        self.description = f"{parsed.display} (database {self.database})"
        self.max_resumes = max_resumes
        self.warn = warn
        self.sleep = sleep
        # An injected nameserver also resolves the hosts; otherwise the system resolver does.
        self.client = MongoClient(
            parsed, resolver=resolver if dns_server else None, warn=warn, app_name=app_name, sleep=sleep
        )

    def scan(self, collection: str, options: ScanOptions = ScanOptions()) -> Iterator[Batch]:
        """Batches sorted by _id; a dropped connection is reopened and the scan resumes after the last _id."""
        last_id: Any = _NO_ID if options.after_id is None else options.after_id
        failures = scanned = 0
        while True:
            find: Dict[str, Any] = {"filter": scan_filter(options), "sort": {"_id": 1}}
            projection = scan_projection(options)
            if projection:
                find["projection"] = projection
            if last_id is not _NO_ID:
                # `min` walks the _id index from that key across all BSON types ($gt would stay within
                # one type); it is inclusive, so the first document is dropped when it is `last_id`.
                find["min"] = {"_id": last_id}
                find["hint"] = {"_id": 1}
            skip_first = last_id is not _NO_ID
            cursor = self.client.cursor(self.database, collection, find, options.batch_size)
            try:
                for batch in cursor:
                    if skip_first and batch:
                        skip_first = False
                        if batch[0].get("_id") == last_id:
                            batch = batch[1:]
                    if batch:
                        last_id = batch[-1].get("_id")
                        failures = 0
                        scanned += len(batch)
                        yield batch
                break
            except (MongoNetworkError, MongoCommandError) as exc:
                if isinstance(exc, MongoCommandError) and exc.code != _CURSOR_NOT_FOUND:
                    raise
                if isinstance(exc, MongoServerSelectionError):
                    # Selection already retried for its whole timeout; reconnecting again would
                    # only multiply the wait (minutes) before the operator hears about it.
                    raise
                failures += 1
                if isinstance(exc, MongoNetworkError):
                    self.client.reset()
                if failures > self.max_resumes:
                    raise MongoNetworkError(f"{exc} (gave up after {self.max_resumes} reconnects)") from None
                where = "from the start" if last_id is _NO_ID else "after the last _id read"
                self.warn(f"{exc}; reconnecting and resuming {collection} {where}")
                self.sleep(min(0.5 * 2 ** (failures - 1), 10.0))
            finally:
                cursor.close()  # killCursors now, not when the garbage collector gets to it
        self._check_scanned(collection, options, last_id, scanned)

    def _check_scanned(self, collection: str, options: ScanOptions, last_id: Any, scanned: int) -> None:
        """Count the range the scan read (up to its last _id, so the bot's inserts past the end are
        not a loss) through `aggregate`, a different server path than the find cursor."""
        match, earlier = scan_count_range(scan_filter(options), options, last_id, scanned)
        reply = self.client.connection().command(
            self.database, {"aggregate": collection, "pipeline": [{"$match": match}, {"$count": "n"}], "cursor": {}}
        )
        first = (reply.get("cursor") or {}).get("firstBatch")
        value = _count_in(first)
        if value is None:
            self.warn(f"{collection}: the server's aggregate reply holds no count; the scan is not cross-checked")
            return
        check_scan_count(
            f"{self.description}: {self.database}.{collection}", counted=value, scanned=scanned, earlier=earlier,
            cause="by the find cursor (a proxy or server that dropped documents?)",
            instead="read from a mongoexport of the collection (an export: source)",
        )

    def count(self, collection: str, options: ScanOptions = ScanOptions()) -> int | None:
        reply = self.client.connection().command(self.database, {"count": collection, "query": scan_filter(options)})
        return int(reply.get("n", 0))

    def close(self) -> None:
        self.client.close()
