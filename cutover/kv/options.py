"""What a backfill-kv run is asked to do (`BackfillKVOptions`, the CLI's values) and the
settings resolved from it and the config file (`Settings`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from cutover.core.config import Config, cloudflare_account_id
from cutover.core.ratelimit import DEFAULT_HEADROOM, cloudflare_api_limit
from cutover.errors import CutoverError, UsageError
from cutover.kv import DEFAULT_CHECKPOINT, DEFAULT_FAILED_KEYS
from cutover.kv.record import ModuleSpec
from cutover.kv.sink import now_ms

DEFAULT_PAGE_SIZE = 1000
DEFAULT_RATE = 50.0
MAX_BATCH = 10_000  # Cloudflare's bulk limit


@dataclass(frozen=True)
class BackfillKVOptions:
    """One backfill-kv run as the operator asked for it; defaults are the CLI's."""

    config: str | None = None
    modules: Tuple[str, ...] = ()
    dry_run: bool = False
    mode: str = "bulk"
    rate: float = DEFAULT_RATE
    budget_headroom: float = DEFAULT_HEADROOM
    api_limit: Tuple[int, float] | None = None
    batch_size: int = MAX_BATCH
    emit: str | None = None
    since: str | None = None
    checkpoint: str | None = None
    resume: bool = False
    failed_keys: str | None = None
    json: str | None = None
    source: str | None = None
    mongo_database: str | None = None
    page_size: int | None = None
    namespace_id: str | None = None
    account_id: str | None = None
    skip_bad_lines: bool = False
    quiet: bool = False
    verbose: bool = False


@dataclass
class Settings:
    modules: List[ModuleSpec]
    source_spec: str
    database: str
    data_source: str | None
    since_iso: str | None  # as the operator gave it (part of the checkpoint's job)
    since_ms: int | None  # resolved once; a resume keeps the first run's instant (`--since 24h`)
    since_fields: Dict[str, str]
    mode: str
    rate: float
    headroom: float
    api_limit: int
    api_window: float
    dry_run: bool
    emit: str | None
    checkpoint_path: str | None
    resume: bool
    failed_keys_path: str
    json_path: str | None
    page_size: int
    batch_size: int
    skip_bad_lines: bool
    account_id: str | None
    quiet: bool
    verbose: bool


def module_specs(cfg: Config, wanted: Sequence[str] | None, namespace_override: str | None) -> List[ModuleSpec]:
    table = cfg.get("kv_modules", {}, kind=dict)
    if not table:
        raise CutoverError(f"config file {cfg.source}: no kv_modules configured")
    names = list(wanted) if wanted else list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise UsageError(f"unknown module(s) {', '.join(unknown)}; configured: {', '.join(table)}")
    if namespace_override and len(names) != 1:
        raise UsageError("--namespace-id needs exactly one --module (each module has its own namespace)")
    specs = []
    for name in dict.fromkeys(names):
        prefix = f"kv_modules.{name}"
        cfg.get(prefix, kind=dict)
        expires = cfg.get(f"{prefix}.expires_field", "expiresAt", kind=str)
        specs.append(
            ModuleSpec(
                name=name,
                collection=cfg.require(f"{prefix}.collection"),
                namespace_id=namespace_override or cfg.require(f"{prefix}.namespace_id"),
                key_field=cfg.get(f"{prefix}.key_field", "_id", kind=str),
                value_field=cfg.get(f"{prefix}.value_field", "value", kind=str),
                expires_field=expires or None,
                metadata_field=cfg.get(f"{prefix}.metadata_field", None, kind=str) or None,
            )
        )
    return specs


def _check_combinations(options: BackfillKVOptions) -> None:
    if not options.rate > 0:
        raise UsageError("--rate must be positive")
    if options.emit and options.mode == "put":
        raise UsageError("--emit writes a bulk file; it cannot be combined with --mode put")
    if options.emit and options.resume:
        raise UsageError("--emit writes its file at the end; there is nothing to --resume (just run it again)")
    if options.dry_run and options.resume:
        raise UsageError("--dry-run writes nothing and keeps no checkpoint; drop --resume")
    if not 1 <= options.batch_size <= MAX_BATCH:
        raise UsageError("--batch-size must be between 1 and 10000 (Cloudflare's bulk limit)")
    if not 0.0 <= options.budget_headroom < 1.0:
        raise UsageError("--budget-headroom must be at least 0 and below 100%")


def resolve(options: BackfillKVOptions) -> Settings:
    """The run's settings: the options over the config file, checked together."""
    cfg = Config.load(options.config)
    if options.config is None and not options.source:
        raise UsageError("--config FILE is required (it names the modules, collections and namespaces)")
    cfg.set("mongo.source", options.source)
    cfg.set("mongo.database", options.mongo_database)
    specs = module_specs(cfg, options.modules, options.namespace_id)
    _check_combinations(options)
    limit, window = options.api_limit or cloudflare_api_limit()
    since_ms = None
    if options.since:
        from cutover.core.timespec import parse_time_ms

        since_ms = parse_time_ms(options.since, now_ms(), "--since")
    writes_nothing_to_resume = options.dry_run or bool(options.emit)
    return Settings(
        modules=specs,
        source_spec=cfg.source_spec(),
        database=cfg.get("mongo.database", "", kind=str),
        data_source=cfg.get("mongo.data_source", None, kind=str),
        since_iso=options.since or None,
        since_ms=since_ms,
        since_fields={s.name: cfg.get(f"kv_modules.{s.name}.since_field", "updatedAt", kind=str) for s in specs},
        mode=options.mode,
        rate=options.rate,
        headroom=options.budget_headroom,
        api_limit=limit,
        api_window=window,
        dry_run=options.dry_run,
        emit=options.emit,
        checkpoint_path=None if writes_nothing_to_resume else (options.checkpoint or DEFAULT_CHECKPOINT),
        resume=options.resume,
        failed_keys_path=options.failed_keys or DEFAULT_FAILED_KEYS,
        json_path=options.json,
        page_size=options.page_size if options.page_size is not None else DEFAULT_PAGE_SIZE,
        batch_size=options.batch_size,
        skip_bad_lines=options.skip_bad_lines,
        account_id=options.account_id or cloudflare_account_id(cfg),
        quiet=options.quiet,
        verbose=options.verbose,
    )
