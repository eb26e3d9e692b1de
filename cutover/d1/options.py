"""What one backfill-d1 run is asked to do: the flags, typed and frozen (defaults = the CLI's).

None means "not given": the config file (then the built-in default) decides.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from cutover.core.ratelimit import DEFAULT_HEADROOM

DEFAULT_OUTPUT = "backfill-d1.sql"
DEFAULT_RATE = 4.0  # --mode api requests per second, within the token's budget
MODES = ("file", "api")


@dataclass(frozen=True)
class BackfillD1Options:
    config: str | None = None
    # Mongo source
    source: str | None = None
    mongo_database: str | None = None
    page_size: int | None = None
    skip_bad_lines: bool = False
    collection: str | None = None
    since: str | None = None
    since_field: str | None = None
    # target table
    schema: str | None = None
    table: str | None = None
    id_column: str | None = None
    legacy_id_field: str | None = None
    start_id: int | None = None
    date_formats: Tuple[str, ...] = ()  # COLUMN=UNIT
    replace_lone_surrogates: bool = False
    max_statement_bytes: int = 100_000
    # output and execution
    dry_run: bool = False
    output: str = DEFAULT_OUTPUT
    json: str | None = None
    mode: str = "file"
    execute: bool = False
    wrangler: str = "wrangler"
    d1_database: str | None = None
    database_id: str | None = None
    # Cloudflare API (--mode api)
    account_id: str | None = None
    checkpoint: str | None = None
    resume: bool = False
    rate: float = DEFAULT_RATE
    budget_headroom: float = DEFAULT_HEADROOM
    api_limit: Tuple[int, float] | None = None
    quiet: bool = False
    verbose: bool = False

    @property
    def checkpoint_path(self) -> str:
        return self.checkpoint or f"{self.output}.checkpoint.json"
