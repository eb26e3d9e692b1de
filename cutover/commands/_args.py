"""argparse types shared by the commands' parsers."""
from __future__ import annotations

import argparse
from typing import Any, Callable, Dict, Mapping, Tuple, TypeVar

T = TypeVar("T")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def positive_int(text: str) -> int:
    value = non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be > 0: {text!r}")
    return value


def headroom(text: str) -> float:
    """Share of the API budget left unused: `10%` or `0.1` (the same), in [0, 1)."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share like 10% or 0.1, not {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be at least 0% and below 100%: {text!r}")
    return value


def api_limit(text: str) -> Tuple[int, float]:
    """`REQUESTS/SECONDS`, e.g. 1200/300."""
    from cutover.core.ratelimit import parse_api_limit
    from cutover.errors import UsageError

    try:
        return parse_api_limit(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


# -- shared argument groups -------------------------------------------------------------------
# One spelling, one meaning, one help text per flag across commands. An old spelling stays a
# hidden alias (help=SUPPRESS, default=SUPPRESS so it never overrides the canonical default).


def hidden_alias(group: Any, flag: str, dest: str, **kwargs: Any) -> None:
    group.add_argument(flag, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS, **kwargs)


def add_config(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument("--config", metavar="FILE", required=required,
                        help="backfill config (JSON; flags override it; see `cutover docs config`)")


def add_mongo_source(
    parser: argparse.ArgumentParser, *, database_alias: bool = False, page_size: bool = True
) -> Any:
    """--source, --mongo-database, --page-size, --skip-bad-lines. `database_alias`: the command
    used to spell --mongo-database as --database (kept hidden)."""
    group = parser.add_argument_group("Mongo source")
    group.add_argument("--source", metavar="SPEC",
                       help="Mongo source (overrides mongo.source): export:DIR_OR_FILE, dataapi:URL, mongodb+srv://")
    group.add_argument("--mongo-database", metavar="NAME", help="Mongo database (overrides mongo.database)")
    if database_alias:
        hidden_alias(group, "--database", "mongo_database", metavar="NAME")
    if page_size:
        group.add_argument("--page-size", type=positive_int, default=None, metavar="N",
                           help="dataapi: documents per page (default 1000, at most 50000)")
    group.add_argument("--skip-bad-lines", action="store_true",
                       help="export: skip and count damaged lines instead of stopping")
    return group


def add_cloudflare(
    parser: argparse.ArgumentParser, *, headroom_alias: bool = False, limit: bool = True, account: bool = True
) -> Any:
    """--account-id, --budget-headroom, --api-limit. `headroom_alias`: keep the old `--headroom`."""
    group = parser.add_argument_group("Cloudflare API")
    if account:
        group.add_argument("--account-id", metavar="ID",
                           help="Cloudflare account (overrides CLOUDFLARE_ACCOUNT_ID and cloudflare.account_id)")
    group.add_argument("--budget-headroom", type=headroom, default=0.1, metavar="PCT",
                       help="share of the token's request budget left unused, e.g. 10%% or 0.1 (default 10%%)")
    if headroom_alias:
        hidden_alias(group, "--headroom", "budget_headroom", type=headroom, metavar="FRACTION")
    if limit:
        group.add_argument("--api-limit", type=api_limit, default=None, metavar="N/SECONDS",
                           help="the token's request budget (default 1200/300: 1,200 per 5 minutes), shared with "
                                "the other cutover runs on this machine that use the same token")
    return group


def add_time_window(parser: argparse.ArgumentParser, what: str, *, until: bool = True) -> Any:
    """--since / --until in the one time grammar (core.timespec)."""
    group = parser.add_argument_group("time window")
    group.add_argument("--since", metavar="WHEN",
                       help=f"only {what} at or after WHEN: 24h, 7d, 2026-12-03, 2026-12-03T18:00:00Z or epoch ms")
    if until:
        group.add_argument("--until", metavar="WHEN", help=f"only {what} before WHEN (same forms; default now)")
    return group


def add_json(parser: Any, what: str = "the summary") -> None:
    parser.add_argument("--json", metavar="FILE|-", help=f"write {what} as JSON to FILE (- for stdout)")


def _converted(text: str, convert: Callable[[str], Any], what: str) -> Any:
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None


def seconds(text: str) -> float:
    """A number of seconds from 0 to a day."""
    value = float(_converted(text, float, "a number of seconds"))
    if not 0 <= value <= 86400:
        raise argparse.ArgumentTypeError("must be between 0 and 86400 seconds")
    return value


def percent(text: str) -> float:
    """A percentage above 0 and at most 100."""
    value = float(_converted(text, float, "a number"))
    if not 0 < value <= 100:
        raise argparse.ArgumentTypeError("must be a percentage above 0 and at most 100")
    return value

def percent_or_off(text: str) -> float | None:
    """A percentage 0..100, or `off` (None): a stop-condition switched off."""
    if text.strip().lower() in ("off", "none", "no"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a percentage or 'off': {text!r}") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100: {text!r}")
    return value


def add_gate(parser: argparse.ArgumentParser, title: str, *, live: bool = False) -> Any:
    """--baseline-cold-ping-ms, --factor, --gate-cmd, --min-cold-samples: analyze-soak's gate.
    `live` (soak-watch): the same gate also judges each complete event-hour towards a stop."""
    group = parser.add_argument_group(title)
    group.add_argument("--baseline-cold-ping-ms", type=positive_float, metavar="MS",
                       help="cold /ping P95 of the old stack (default $BASELINE_COLD_PING_MS; none = REPORT-ONLY"
                            + (", no latency stop)" if live else ")"))
    group.add_argument("--factor", type=positive_float, default=2.5,
                       help="PROCEED when cold P95 <= factor x baseline"
                            + ("; an hour above it counts towards a stop" if live else "") + " (default 2.5)")
    group.add_argument("--gate-cmd", metavar="CMD",
                       help="gate on this command's cold samples only (e.g. /start)"
                            + (", at the end and in each hour" if live else "") + "; default all commands")
    group.add_argument("--min-cold-samples", type=non_negative_int, default=20, metavar="N",
                       help=("cold samples an hour needs to count towards a stop, and the run to decide" if live
                             else "fewer cold samples than this -> INCONCLUSIVE, exit 5") + " (default 20)")
    return group


def add_counting_rules(parser: argparse.ArgumentParser, title: str) -> Any:
    """--dual-write-pattern, --mongo-error-pattern, --cpu-outcome: what the soak counts as a failure."""
    group = parser.add_argument_group(title)
    group.add_argument("--dual-write-pattern", metavar="REGEX",
                       help="log text counted as a dual-write failure (default: (?i)dual.?write.*(fail|error))")
    group.add_argument("--mongo-error-pattern", metavar="REGEX",
                       help="log text / exception counted as a Mongo connection error (default: "
                            "Mongo(Network|NetworkTimeout|ServerSelection|TopologyClosed|PoolClosed)Error)")
    group.add_argument("--cpu-outcome", metavar="OUTCOME",
                       help="invocation outcome counted as CPU limit exceeded (default exceededCpu)")
    return group


def add_atlas(parser: argparse.ArgumentParser, *, poll_interval: bool = True, stop: str = "abort",
              can_be_off: bool = False) -> Any:
    """--atlas-group, --atlas-process, --atlas-cap, --atlas-max-pct (and --atlas-poll-interval):
    the Atlas connection cap watched through the Atlas Admin API. `stop`: what happens over the
    cap ("abort" the burst, "stop" the soak); `can_be_off`: --atlas-max-pct accepts `off`."""
    group = parser.add_argument_group("Atlas connection cap (needs ATLAS_* credentials in the environment)")
    group.add_argument("--atlas-group", metavar="ID", help="Atlas project (group) id, 24 hex digits")
    group.add_argument("--atlas-process", metavar="HOST:PORT", help="the mongod process to watch (the primary)")
    group.add_argument("--atlas-cap", type=positive_int, default=500, help="connection limit of the cluster tier (default 500)")
    group.add_argument("--atlas-max-pct", type=percent_or_off if can_be_off else percent, default=60.0,
                       metavar="PCT|off" if can_be_off else "PCT",
                       help=f"{stop} when connections peak above PCT %% of the cap (default 60)")
    if poll_interval:
        group.add_argument("--atlas-poll-interval", type=seconds, default=10.0, metavar="SECONDS",
                           help="seconds between Atlas readings (default 10, Atlas's PT10S granularity)")
    return group


# -- from the parsed flags to the feature's Options ------------------------------------------


def options(cls: Callable[..., T], args: argparse.Namespace, renamed: Mapping[str, str] | None = None,
            parts: Mapping[str, Callable[..., Any]] | None = None, **values: Any) -> T:
    """The feature's frozen Options from the parsed flags, one way for every command.

    Each flag's value goes to the field of the same name (`renamed` maps a flag's dest to another
    field name); `values` give fields computed here. `parts` name fields that hold a dataclass of
    their own (e.g. soak-watch's `limits`): a flag named after one of its fields goes there.
    Lists become tuples (None -> () for a tuple field). Strict both ways, so a flag can never be
    silently dropped: every parsed flag must land in a field (TypeError otherwise); a field with
    no flag keeps its default.
    """
    import dataclasses

    renamed = dict(renamed or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    owner = {name: part for part, part_cls in (parts or {}).items()
             for name in (f.name for f in dataclasses.fields(part_cls))}  # type: ignore[arg-type]
    given: Dict[str, Any] = {}
    in_parts: Dict[str, Dict[str, Any]] = {part: {} for part in parts or {}}
    for dest, value in vars(args).items():
        if dest.startswith("_") and dest not in renamed:
            continue  # the CLI's bookkeeping (the subcommand, its module), not a flag of this command
        name = renamed.get(dest, dest)
        if name not in fields and name in owner:
            in_parts[owner[name]][name] = value
            continue
        if name not in fields:
            raise TypeError(f"{getattr(cls, '__name__', cls)} has no field for the flag {dest!r}")
        if isinstance(value, list):
            value = tuple(value)
        elif value is None and isinstance(fields[name].default, tuple):
            value = ()
        given[name] = value
    for part, part_cls in (parts or {}).items():
        given[part] = options(part_cls, argparse.Namespace(**in_parts[part]))
    given.update(values)
    return cls(**given)
