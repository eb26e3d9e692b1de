"""What one verify run is asked to check and where it reads from: the flags, typed and frozen."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

DEFAULT_TTL_TOLERANCE = 300.0  # seconds: expiries closer than this are equal


@dataclass(frozen=True)
class VerifyOptions:
    config: str
    modules: Tuple[str, ...] = ()  # KV modules to check (none given: see `d1`)
    d1: bool = False  # check D1 (alone: only D1; neither: everything configured)
    kv_file: str | None = None  # a bulk file or drill store instead of the API ({module} expands)
    d1_sqlite: str | None = None  # a SQLite file instead of the API
    local: bool = False  # through `wrangler … --local`
    remote_wrangler: bool = False  # through `wrangler … --remote`
    wrangler: str = "wrangler"
    wrangler_dir: str | None = None
    persist_to: str | None = None
    ttl_tolerance: float = DEFAULT_TTL_TOLERANCE
    source: str | None = None
    mongo_database: str | None = None
    skip_bad_lines: bool = False
    json: str | None = None
    quiet: bool = False
    verbose: bool = False
