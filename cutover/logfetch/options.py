"""fetch-logs' options: the flags as given (defaults = the CLI's), and what they ask resolved
(the window, the durations, the query filters, whether --output may be written)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Tuple

from cutover.core.ratelimit import DEFAULT_HEADROOM
from cutover.core.timespec import iso_ms, parse_time_ms
from cutover.errors import CutoverError, UsageError
from cutover.logfetch.query import Filter, events_filter, script_filter, soak_filter


@dataclass(frozen=True)
class FetchOptions:
    output: str  # FILE.ndjson[.gz] or '-' (stdout, not resumable)
    script: str | None = None
    since: str | None = None  # the one time grammar (core.timespec)
    until: str | None = None  # default now
    from_dir: str | None = None  # merge a Logpush folder instead of calling the API
    only_events: Tuple[str, ...] = ()  # NAME or NAME,NAME items
    soak_only: bool = False
    force: bool = False
    json: str | None = None
    resume: bool = False
    checkpoint: str | None = None  # default OUTPUT.checkpoint.json
    limit: int = 2000
    frame: str = "1h"
    quiet_gap: str = "30m"
    budget_headroom: float = DEFAULT_HEADROOM
    api_limit: Tuple[int, float] | None = None  # the token's budget (default 1200/300)
    account_id: str | None = None
    dry_run: bool = False
    quiet: bool = False
    verbose: bool = False

    @property
    def event_names(self) -> Tuple[str, ...]:
        return tuple(n.strip() for item in self.only_events for n in item.split(",") if n.strip())


def duration_ms(text: str, flag: str) -> int:
    value = parse_time_ms(text, 0, flag)
    if value >= 0 or text.strip().lower() == "now":
        raise UsageError(f"{flag} {text!r}: expected a duration like 30m or 1h")
    return -value


def check_output(options: FetchOptions) -> None:
    """--output must not be a folder, nor a file a new run would replace without --force."""
    if options.output == "-":
        return
    if os.path.isdir(options.output):
        raise UsageError(f"--output {options.output}: is a directory")
    if os.path.exists(options.output) and not options.force:
        raise CutoverError(f"--output {options.output} already exists; add --force to replace it")


def window(options: FetchOptions, now_ms: int, required: bool) -> Tuple[int | None, int | None]:
    if not options.since:
        if required:
            raise UsageError("--since is required (e.g. --since 24h or --since 2026-11-27T18:00:00Z)")
        return None, (parse_time_ms(options.until, now_ms, "--until") if options.until else None)
    from_ms = parse_time_ms(options.since, now_ms, "--since")
    to_ms = parse_time_ms(options.until, now_ms, "--until") if options.until else now_ms
    if from_ms >= to_ms:
        raise UsageError(f"--since {iso_ms(from_ms)} is not before --until {iso_ms(to_ms)}")
    return from_ms, to_ms


def filters(options: FetchOptions) -> List[Filter]:
    chosen = [script_filter(options.script or "")]
    if options.event_names:
        chosen.append(events_filter(list(options.event_names)))
    if options.soak_only:
        chosen.append(soak_filter())
    return chosen
