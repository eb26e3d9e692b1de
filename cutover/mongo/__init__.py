"""Mongo sources behind one interface (`base.MongoSource`); `open_source` picks one from a spec.

Every source yields batches of documents made of `values` types, in a stable order, and can
resume after a given `_id` (`ScanOptions`):
- `export:DIR_OR_FILE` — `export.ExportSource`: mongoexport files (NDJSON, --jsonArray or
  --pretty; plain or gzip), read in file order, checked whole first (unless skipping bad lines).
- `dataapi:https://…/endpoint/data/v1` — `dataapi.DataApiSource`: the Atlas Data API protocol,
  paged by `_id`, its completeness cross-checked by a count.
- `mongodb://…`, `mongodb+srv://…` — `native.source.NativeSource`: a read-only native driver
  (TLS, SCRAM, SRV), sorted by `_id`, its completeness cross-checked by a count (a bare
  scheme takes the whole URI from MONGODB_URI).

`idrange` holds MongoDB's `_id` order, the paging/counting filters and the end-of-scan check.

Beside them: `values` (the types), `ejson` (Extended JSON), `jsvalue` (values as a Worker's
`JSON.stringify` prints them), `filtering` (the `since` filter and projection for files).
"""
from __future__ import annotations

import re
from typing import Mapping

from cutover.errors import ConfigError
from cutover.mongo.base import MongoSource, ScanOptions

__all__ = ["MongoSource", "ScanOptions", "open_source", "MAX_PAGE_SIZE"]

MAX_PAGE_SIZE = 50_000  # the Data API's per-call `limit` ceiling
_BARE_MONGO = re.compile(r"^mongodb(\+srv)?:(//)?/?$")
_CREDENTIALS = re.compile(r"^mongodb(\+srv)?://[^/@]*@")


def open_source(
    spec: str,
    *,
    database: str,
    data_source: str | None = None,
    page_size: int = 1000,
    skip_bad_lines: bool = False,
    environ: Mapping[str, str] | None = None,
) -> MongoSource:
    """The source a spec names; ConfigError (secret-free) when it is unusable."""
    spec = (spec or "").strip()
    if spec.startswith("export:"):
        from cutover.mongo.export import ExportSource

        path = spec[len("export:"):]
        if not path:
            raise ConfigError("source export: needs a path (export:DIR or export:FILE.json)")
        return ExportSource(path, skip_bad_lines=skip_bad_lines)
    if spec.startswith("dataapi:"):
        from cutover.mongo.dataapi import DataApiSource

        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigError(f"page size {page_size} is outside 1..{MAX_PAGE_SIZE} (the Data API's limit)")
        return DataApiSource(
            spec[len("dataapi:"):], database=database, data_source=data_source, page_size=page_size, environ=environ
        )
    if spec.startswith(("mongodb://", "mongodb+srv://", "mongodb:", "mongodb+srv:")):
        from cutover.core.config import read_secret

        if _BARE_MONGO.match(spec):
            uri = read_secret("MONGODB_URI", environ, required=True) or ""
            if not uri.startswith(("mongodb://", "mongodb+srv://")):
                raise ConfigError("MONGODB_URI must start with mongodb:// or mongodb+srv://")
        elif _CREDENTIALS.match(spec):
            # Never echo the spec: it holds a password.
            raise ConfigError(
                "the Mongo source carries credentials; put the whole URI in MONGODB_URI (or MONGODB_URI_FILE) "
                "and set the source to the bare scheme 'mongodb+srv://' or 'mongodb://'"
            )
        else:
            uri = spec
        from cutover.mongo.native.source import NativeSource  # type: ignore[import-not-found]

        return NativeSource(uri, database)  # type: ignore[no-any-return]
    if not spec:
        raise ConfigError("no Mongo source given (set mongo.source in the config or pass --source)")
    shown = spec.split(":", 1)[0] + ":…" if ":" in spec else spec
    raise ConfigError(
        f"unknown Mongo source {shown!r}: expected export:DIR_OR_FILE, dataapi:https://…/endpoint/data/v1, "
        "mongodb://… or mongodb+srv://…"
    )
