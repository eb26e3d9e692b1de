"""The backfill-kv loop: Mongo scan -> records -> sink, one checkpoint per acknowledged batch.

Resume position = the `_id` of the last document whose whole batch was acknowledged. A batch
with failed keys freezes that position for its module, so a resume redoes it (rewriting a
key is harmless, skipping one is not).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Dict, Iterator, List, Sequence, Tuple

from cutover.commands.backfill_kv import DEFAULT_CHECKPOINT, DEFAULT_FAILED_KEYS
from cutover.core.checkpoint import Checkpoint
from cutover.core.config import Config, cloudflare_account_id, cloudflare_api_base, read_secret
from cutover.core.fsutil import check_writable, json_text, write_output
from cutover.core.progress import Progress, format_duration
from cutover.core.ratelimit import cloudflare_api_limit, cloudflare_budget, parse_api_limit
from cutover.errors import CutoverError, UsageError
from cutover.kv.record import INVALID_REASONS, Expired, Invalid, KVRecord, ModuleSpec, map_document
from cutover.kv.sink import KVSink, WriteResult, last_per_key, now_ms
from cutover.mongo import jsvalue

_SENTINEL = object()
SHOWN_INVALID = 10  # invalid documents named on stderr per module (all go to the failed-keys file)


@dataclass
class ModuleStats:
    documents: int = 0
    written: int = 0
    expired: int = 0
    superseded: int = 0
    invalid: int = 0
    invalid_by_reason: Dict[str, int] = field(default_factory=dict)
    failed: int = 0
    single_puts: int = 0  # written by single-key PUT: too big for a bulk request
    bytes: int = 0
    requests: int = 0
    retries: int = 0
    elapsed_s: float = 0.0

    def copy(self) -> ModuleStats:
        return ModuleStats(**{**asdict(self), "invalid_by_reason": dict(self.invalid_by_reason)})



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


# -- settings ----------------------------------------------------------------------------

def parse_fraction(text: str) -> float:
    """'10%' or '0.1' -> 0.1; UsageError outside [0, 1)."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise UsageError(f"--budget-headroom {text!r}: expected a share such as 10% or 0.1") from None
    if not 0.0 <= value < 1.0:
        raise UsageError(f"--budget-headroom {text!r}: must be at least 0 and below 100%")
    return value


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


def settings_from_args(args: argparse.Namespace) -> Settings:
    cfg = Config.load(args.config)
    if args.config is None and not args.source:
        raise UsageError("--config FILE is required (it names the modules, collections and namespaces)")
    cfg.set("mongo.source", args.source)
    cfg.set("mongo.database", args.database)
    specs = module_specs(cfg, args.module, args.namespace_id)
    if args.rate is None or args.rate <= 0:
        raise UsageError("--rate must be positive")
    if args.emit and args.mode == "put":
        raise UsageError("--emit writes a bulk file; it cannot be combined with --mode put")
    if args.emit and args.resume:
        raise UsageError("--emit writes its file at the end; there is nothing to --resume (just run it again)")
    if args.dry_run and args.resume:
        raise UsageError("--dry-run writes nothing and keeps no checkpoint; drop --resume")
    limit, window = parse_api_limit(args.api_limit) if args.api_limit else cloudflare_api_limit()
    if not 1 <= args.batch_size <= 10_000:
        raise UsageError("--batch-size must be between 1 and 10000 (Cloudflare's bulk limit)")
    since_ms = None
    if args.since:
        from cutover.core.timespec import parse_time_ms

        since_ms = parse_time_ms(args.since, now_ms(), "--since")
    account = args.account_id or cloudflare_account_id(cfg)
    return Settings(
        modules=specs,
        source_spec=cfg.source_spec(),
        database=cfg.get("mongo.database", "", kind=str),
        data_source=cfg.get("mongo.data_source", None, kind=str),
        since_iso=args.since or None,
        since_ms=since_ms,
        since_fields={s.name: cfg.get(f"kv_modules.{s.name}.since_field", "updatedAt", kind=str) for s in specs},
        mode=args.mode,
        rate=args.rate,
        headroom=parse_fraction(args.budget_headroom),
        api_limit=limit,
        api_window=window,
        dry_run=args.dry_run,
        emit=args.emit,
        checkpoint_path=None if (args.dry_run or args.emit) else (args.checkpoint or DEFAULT_CHECKPOINT),
        resume=args.resume,
        failed_keys_path=args.failed_keys or DEFAULT_FAILED_KEYS,
        json_path=args.json,
        page_size=args.page_size,
        batch_size=args.batch_size,
        skip_bad_lines=args.skip_bad_lines,
        account_id=account,
        quiet=bool(getattr(args, "quiet", False)),
        verbose=bool(getattr(args, "verbose", False)),
    )


# -- output ------------------------------------------------------------------------------

class Console:
    """stderr notes (quiet-aware, progress-safe); warnings always shown, per-document ones not with -q."""

    def __init__(self, quiet: bool, verbose: bool, stream: IO[str] | None = None) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.stream = stream or sys.stderr
        self.progress: Progress | None = None
        self._warned: set = set()  # type: ignore[type-arg]

    def _emit(self, text: str) -> None:
        if self.progress is not None:
            self.progress.note(text)
        else:
            print(text, file=self.stream, flush=True)

    def info(self, text: str) -> None:
        if not self.quiet:
            self._emit(text)

    def debug(self, text: str) -> None:
        if self.verbose and not self.quiet:
            self._emit(text)

    def item(self, text: str) -> None:
        """A warning about one document: -q drops it (the summary still counts it)."""
        if not self.quiet:
            self._emit(f"warning: {text}")

    def warn(self, text: str, once: str | None = None) -> None:
        if once is not None:
            if once in self._warned:
                return
            self._warned.add(once)
        self._emit(f"warning: {text}")


class ProblemLog:
    """NDJSON lines for failed keys and invalid documents, opened only when there is one.
    `path` None (dry run) counts without writing."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.append = False
        self.count = 0
        self.by_kind: Dict[str, int] = {}
        self._handle: IO[str] | None = None

    def keep_first(self, wanted: Dict[str, int]) -> Dict[str, int]:
        """On --resume: keep the first `wanted[module]` invalid-document lines of each module (the
        documents the checkpoint counts, which this run will not read again) and drop every other
        line (this run redoes them), so nothing is listed twice. Returns the lines kept per module."""
        found: Dict[str, int] = {}
        if self.path is None:
            return found
        try:
            with open(self.path, "rb") as handle:
                lines = handle.read().split(b"\n")
        except FileNotFoundError:
            lines = []
        except OSError as exc:
            raise CutoverError(f"--failed-keys {self.path}: cannot read it to resume ({exc.strerror or exc})") from None
        kept: List[bytes] = []
        for raw in lines:
            try:
                entry = json.loads(raw)
            except ValueError:
                continue  # blank, or the torn last line of a killed run
            if not isinstance(entry, dict) or entry.get("kind") != "invalid":
                continue
            module = str(entry.get("module"))
            if found.get(module, 0) < wanted.get(module, 0):
                found[module] = found.get(module, 0) + 1
                kept.append(raw)
        if kept:
            from cutover.core.fsutil import atomic_write_bytes

            atomic_write_bytes(self.path, b"".join(line + b"\n" for line in kept))
            self.append = True
        elif lines:
            os.unlink(self.path)  # it listed only what this run redoes
        self.count = len(kept)
        self.by_kind = {"invalid": len(kept)} if kept else {}
        return found

    def add(self, module: str, kind: str, key: str | None, doc_id: Any, reason: str) -> None:
        self.count += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        if self.path is None:
            return
        if self._handle is None:
            self._handle = open(self.path, "a" if self.append else "w", encoding="utf-8")  # noqa: SIM115
        try:
            shown_id = jsvalue.to_plain(doc_id)
        except TypeError:
            shown_id = repr(doc_id)
        line = {"module": module, "kind": kind, "key": key, "_id": shown_id, "reason": reason}
        self._handle.write(json_text(line) + "\n")  # a lone-surrogate _id or key must not stop the run
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


# -- sinks -------------------------------------------------------------------------------

class DryRunSink(KVSink):
    """Counts the requests a real run would send; writes nothing."""

    def __init__(self, mode: str, batch_size: int) -> None:
        self.mode = mode
        self.batch_size = batch_size
        self.batch_records = batch_size if mode == "bulk" else 200

    def write(self, records: Sequence[KVRecord]) -> WriteResult:
        from cutover.kv.api import bulk_chunks

        result = WriteResult()
        unique = last_per_key(records)
        result.superseded = len(records) - len(unique)
        if self.mode == "put":
            result.written = len(unique)
            result.requests = len(unique)
            return result
        for chunk, expired in bulk_chunks(unique, now_ms(), max_pairs=self.batch_size):
            result.expired += len(expired)
            result.written += len(chunk.records) + len(chunk.single)
            result.requests += (1 if chunk.records else 0) + len(chunk.single)
            result.single_puts += len(chunk.single)
        return result


def estimate_seconds(requests: int, per_second: float | None, window_budget: int, window: float) -> float:
    """Lower bound on wall time for `requests` under a per-second rate and a window budget."""
    if requests <= 0:
        return 0.0
    by_rate = (requests - 1) / per_second if per_second else 0.0
    by_budget = ((requests - 1) // window_budget) * window
    return max(by_rate, by_budget)


# -- the run -----------------------------------------------------------------------------

def run_backfill(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    console = Console(settings.quiet, settings.verbose)
    return Backfill(settings, console).run()


class Backfill:
    def __init__(self, settings: Settings, console: Console) -> None:
        self.s = settings
        self.console = console
        self.window_budget = cloudflare_budget(settings.headroom, settings.api_limit)
        self.stats: Dict[str, ModuleStats] = {}
        self.client: Any = None
        self.pacer: Any = None
        self.lines: List[str] = []
        self.emit_sink: Any = None
        self.started = time.monotonic()
        self.earlier_elapsed = 0.0  # wall time of the earlier runs of this job (from the checkpoint)
        self.runs = 1
        self.acknowledged = False  # Cloudflare answered a write of this run
        self.checkpoint: Checkpoint | None = None

    # -- setup ---------------------------------------------------------------------
    def _job(self) -> Dict[str, Any]:
        return {
            "command": "backfill-kv",
            "source": self.s.source_spec,
            "database": self.s.database,
            "since": self.s.since_iso,
            "modules": {
                m.name: {"collection": m.collection, "namespace_id": m.namespace_id, "key_field": m.key_field,
                         "value_field": m.value_field, "expires_field": m.expires_field,
                         "metadata_field": m.metadata_field}
                for m in self.s.modules
            },
        }

    def _check_outputs(self) -> None:
        """Every file this run may write, checked before the first write (not when the first
        failed key shows up an hour in)."""
        outputs: List[Tuple[str, str | None]] = [("--checkpoint", self.s.checkpoint_path), ("--json", self.s.json_path)]
        if not self.s.dry_run:
            outputs.append(("--failed-keys", self.s.failed_keys_path))
            if self.s.emit:
                from cutover.kv.emit import emit_path

                several = len(self.s.modules) > 1
                outputs.extend(("--emit", emit_path(self.s.emit, m.name, several)) for m in self.s.modules)
        for flag, path in outputs:
            if path is not None:
                check_writable(path, flag)

    def _open_checkpoint(self, sources: Dict[str, Any]) -> Checkpoint | None:
        if self.s.checkpoint_path is None:
            return None
        cp = Checkpoint(self.s.checkpoint_path, self._job(), describe=_describe_setting)
        if cp.open(self.s.resume):
            self._check_same_source(cp, sources)
        elif self.s.resume:
            self.console.warn(f"no checkpoint at {cp.path}; starting from the beginning")
        cp.state.setdefault("modules", {})
        if cp.state.get("since_ms") is not None:
            self.s.since_ms = int(cp.state["since_ms"])
        cp.state["since_ms"] = self.s.since_ms
        cp.state.setdefault("sources", sources)
        cp.state.setdefault("started_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.earlier_elapsed = float(cp.state.get("elapsed_s", 0.0))
        self.runs = int(cp.state.get("runs", 1)) + 1 if cp.on_disk else 1
        # Not saved yet: the first acknowledged write saves it, so a run refused at its first
        # request (a wrong token or namespace) leaves nothing to refuse the corrected rerun.
        return cp

    def _save(self, cp: Checkpoint) -> None:
        if not (cp.on_disk or self.acknowledged):
            return
        cp.state["elapsed_s"] = round(self.earlier_elapsed + time.monotonic() - self.started, 3)
        cp.state["runs"] = self.runs
        cp.save()

    def _keep_listed_before_checkpoint(self, problems: ProblemLog, cp: Checkpoint) -> None:
        wanted = {name: int((entry.get("stats") or {}).get("invalid", 0)) for name, entry in cp.state["modules"].items()}
        found = problems.keep_first(wanted)
        for name, n in wanted.items():
            if found.get(name, 0) < n:
                self.console.warn(f"{problems.path} lists {found.get(name, 0):,} of the {n:,} invalid documents of "
                                  f"module {name} the checkpoint counts (was it moved or edited?); the summary counts {n:,}")

    def _check_same_source(self, cp: Checkpoint, sources: Dict[str, Any]) -> None:
        """Refuse to resume on other data: documents before the checkpoint would keep old values."""
        saved = cp.state.get("sources")
        if not isinstance(saved, dict):
            self.console.warn(f"checkpoint {cp.path} predates source fingerprints: cannot tell whether the "
                              "export changed since; if it did, start over without --resume")
            return
        started = cp.state.get("started_at", "the first run")
        for spec in self.s.modules:
            before, now = saved.get(spec.name), sources.get(spec.name)
            if before == now and now is not None:
                continue
            if before is None and now is None:
                self.console.info(f"{spec.name}: resuming a live source: documents changed in Mongo since {started} "
                                  f"before the resume position keep the values read then; afterwards run again "
                                  f"with --since {started}")
                continue
            changed = _fingerprint_change(before, now)
            raise CutoverError(
                f"--resume: the source of module {spec.name} changed since the checkpoint {cp.path} was written "
                f"({changed}); documents before the checkpoint would keep their old values. Start over: delete "
                f"{cp.path} and run again without --resume"
            )

    def _api(self) -> None:
        from cutover.core.http import HttpClient, RetryEvent
        from cutover.core.ratelimit import cloudflare_limiter
        from cutover.kv.api import Pacer

        token = read_secret("CLOUDFLARE_API_TOKEN", required=True)
        if not self.s.account_id:
            raise CutoverError(
                "no Cloudflare account id: set CLOUDFLARE_ACCOUNT_ID, cloudflare.account_id in the config, or --account-id"
            )
        per_second = self.s.rate if self.s.mode == "put" else None
        limiter = cloudflare_limiter(token, cloudflare_api_base(), per_second, self.s.headroom,
                                     (self.s.api_limit, self.s.api_window), on_wait=self._on_wait)
        self.pacer = Pacer(limiter)

        def on_retry(event: RetryEvent) -> None:
            self.console.debug(f"retry {event.attempt} in {event.delay:.1f}s: {event.reason} ({event.url})")

        self.client = HttpClient(
            cloudflare_api_base(),
            headers={"Authorization": f"Bearer {token}"},
            timeout=120.0,
            max_retry_after=60.0,
            pace=self.pacer,
            on_retry=on_retry,
        )

    def _on_wait(self, delay: float, reason: str) -> None:
        if reason != "window":
            return
        limit = f"{self.window_budget:,} requests per {format_duration(self.s.api_window)}"
        rate_note = " not --rate," if self.s.mode == "put" else ""
        self.console.warn(f"the API budget ({limit}),{rate_note} is what limits this run now", once="budget")

    def _on_block(self, seconds: float) -> None:
        self.console.warn(
            "Cloudflare answered 429 (rate limit; another client on this token?)"
        )

    def _sink(self, spec: ModuleSpec) -> KVSink:
        if self.s.dry_run:
            return DryRunSink(self.s.mode, self.s.batch_size)
        if self.s.emit:
            from cutover.kv.emit import EmitSink, emit_path

            self.emit_sink = EmitSink(emit_path(self.s.emit, spec.name, len(self.s.modules) > 1))
            return self.emit_sink
        from cutover.kv.api import BulkSink, PutSink, put_batch_records

        kwargs = {"on_block": self._on_block}
        if self.s.mode == "put":
            workers = max(1, min(32, math.ceil(self.s.rate / 5)))
            sink = PutSink(self.client, self.pacer, self.s.account_id, spec.namespace_id, workers=workers, **kwargs)
            sink.batch_records = put_batch_records(self.s.rate, self.window_budget, self.s.api_window)
            return sink
        return BulkSink(self.client, self.pacer, self.s.account_id, spec.namespace_id, max_pairs=self.s.batch_size, **kwargs)

    # -- main ----------------------------------------------------------------------
    def run(self) -> int:
        from cutover.core.interrupt import terminate_as_interrupt

        with terminate_as_interrupt():
            try:
                return self._run()
            except KeyboardInterrupt:
                raise self._interrupted() from None

    def _interrupted(self) -> CutoverError:
        """Ctrl-C / SIGTERM: what is saved, where, and the command that goes on (exit 130)."""
        from cutover.core.interrupt import interrupted
        from cutover.errors import InterruptedRun

        path = self.s.checkpoint_path
        if path is None:
            return InterruptedRun("interrupted; nothing was written (the files are written whole at the end): "
                                  "run the same command again")
        saved = os.path.exists(path)
        progress = _checkpoint_progress(self.checkpoint) if saved and self.checkpoint is not None else ""
        return interrupted(path, saved, progress)

    def _run(self) -> int:
        from cutover.mongo import open_source

        self.started = started = time.monotonic()
        # Outputs, token, account and source first: a run that cannot start leaves no checkpoint behind.
        self._check_outputs()
        if not (self.s.dry_run or self.s.emit):
            self._api()
        source = open_source(
            self.s.source_spec,
            database=self.s.database,
            data_source=self.s.data_source,
            page_size=self.s.page_size,
            skip_bad_lines=self.s.skip_bad_lines,
        )
        try:
            sources = {} if self.s.checkpoint_path is None else {
                m.name: source.fingerprint(m.collection) for m in self.s.modules}
            checkpoint = self.checkpoint = self._open_checkpoint(sources)
        except BaseException:
            source.close()
            raise
        try:
            problems = ProblemLog(None if self.s.dry_run else self.s.failed_keys_path)
            if checkpoint is not None and checkpoint.on_disk:
                self._keep_listed_before_checkpoint(problems, checkpoint)
        except BaseException:
            source.close()
            raise
        try:
            for spec in self.s.modules:
                self._run_module(source, spec, checkpoint, problems)
        finally:
            problems.close()
            source.close()
        elapsed = time.monotonic() - started
        failed = sum(st.failed for st in self.stats.values())
        if checkpoint is not None and failed == 0:
            checkpoint.remove()  # finished cleanly: nothing to resume
        elif checkpoint is not None:
            self._save(checkpoint)  # the job's time so far, for the next run's headline
        self._report(elapsed, failed, problems)
        if failed:
            raise CutoverError(f"{failed:,} key(s) failed after retries; listed in {problems.path} "
                               f"(run again with --resume to retry them)")
        return 0

    def _run_module(self, source: Any, spec: ModuleSpec, checkpoint: Checkpoint | None, problems: ProblemLog) -> None:
        from cutover.mongo import ScanOptions, ejson
        from cutover.mongo.base import SourceIncomplete
        from cutover.mongo.values import DateTime

        saved: Dict[str, Any] = checkpoint.state["modules"].get(spec.name, {}) if checkpoint else {}
        if saved.get("done"):
            self.stats[spec.name] = ModuleStats(**saved.get("stats", {}))
            self.console.info(f"{spec.name}: already done in the checkpoint; skipped")
            return
        stats = ModuleStats(**saved["stats"]) if saved.get("stats") else ModuleStats()
        self.stats[spec.name] = stats
        after_id = ejson.loads(saved["after_id"]) if saved.get("after_id") is not None else None
        if after_id is not None:
            self.console.info(f"{spec.name}: resuming after _id {saved['after_id']} ({stats.documents:,} documents done)")
        since = DateTime(self.s.since_ms) if self.s.since_ms is not None else None
        sink = self._sink(spec)
        options = ScanOptions(
            since=since, since_field=self.s.since_fields[spec.name], after_id=after_id,
            batch_size=min(sink.batch_records, 10_000),
        )
        progress = Progress(spec.name, enabled=None if not self.s.quiet else False, unit=" docs")
        if progress.enabled:
            progress.total = source.count(spec.collection, options)
        self.console.progress = progress
        frozen = False
        elapsed_before = stats.elapsed_s
        module_start = time.monotonic()
        # Per-module request counts: what the checkpoint carried plus what the shared client sent since.
        base_requests, base_retries = stats.requests, stats.retries
        requests_before = self.client.stats.requests if self.client else 0
        retries_before = self.client.stats.retries if self.client else 0
        buffer: List[KVRecord] = []
        batch_n = sink.batch_records
        # A full batch is sent as soon as a source batch completes it; the records after it wait
        # for the next. `cut` = (position, counters) just before the first waiting record, so the
        # checkpoint never claims a document whose record has not been acknowledged.
        cut: Tuple[Any, ModuleStats] | None = None
        prev_id: Any = after_id if after_id is not None else _SENTINEL

        def send(records: List[KVRecord], position: Any, at_position: ModuleStats) -> None:
            nonlocal frozen
            result = sink.write(records) if records else WriteResult()
            if result.written or result.failed:
                self.acknowledged = True
            for st in {id(stats): stats, id(at_position): at_position}.values():
                st.written += result.written
                st.expired += result.expired
                st.superseded += result.superseded
                st.failed += len(result.failed)
                st.single_puts += result.single_puts
                if self.client is None:
                    st.requests += result.requests
                else:
                    st.requests = base_requests + self.client.stats.requests - requests_before
                    st.retries = base_retries + self.client.stats.retries - retries_before
                st.elapsed_s = round(elapsed_before + time.monotonic() - module_start, 3)
            for failure in result.failed:
                problems.add(spec.name, "failed", failure.key, failure.doc_id, failure.reason)
            if result.failed and not frozen:
                frozen = True
                self.console.warn(f"{spec.name}: {len(result.failed)} key(s) failed; the checkpoint stays before "
                                  "them so --resume retries them")
            if checkpoint is not None and not frozen and position is not _SENTINEL:
                checkpoint.state["modules"][spec.name] = {"after_id": ejson.dumps(position), "stats": asdict(at_position)}
                self._save(checkpoint)

        gap: List[SourceIncomplete] = []

        def scanned() -> Iterator[Any]:
            # a scan that finds documents it did not return says so after its last batch:
            # write what was read first, then fail
            try:
                yield from source.scan(spec.collection, options)
            except SourceIncomplete as exc:
                gap.append(exc)

        try:
            for batch in scanned():
                now = now_ms()
                for doc in batch:
                    stats.documents += 1
                    mapped = map_document(doc, spec, now)
                    if isinstance(mapped, KVRecord):
                        if len(buffer) == batch_n and cut is None:
                            before = stats.copy()
                            before.documents -= 1
                            cut = (prev_id, before)
                        buffer.append(mapped)
                        stats.bytes += len(mapped.value)
                    elif isinstance(mapped, Expired):
                        stats.expired += 1
                    elif isinstance(mapped, Invalid):
                        stats.invalid += 1
                        stats.invalid_by_reason[mapped.reason] = stats.invalid_by_reason.get(mapped.reason, 0) + 1
                        problems.add(spec.name, "invalid", None, mapped.doc_id, f"{mapped.reason}: {mapped.detail}")
                        if stats.invalid <= SHOWN_INVALID or self.s.verbose:
                            self.console.item(f"{spec.name}: document _id {_shown(mapped.doc_id)} not written: {mapped.detail}")
                        elif stats.invalid == SHOWN_INVALID + 1:
                            self.console.item(f"{spec.name}: more invalid documents; all are counted in the summary"
                                              + ("" if self.s.dry_run else f" and listed in {problems.path}"))
                    prev_id = doc.get("_id")
                progress.update(len(batch))
                if cut is not None:
                    part, buffer = buffer[:batch_n], buffer[batch_n:]
                    position, at_position = cut
                    cut = None
                    send(part, position, at_position)
                elif len(buffer) >= batch_n:
                    part, buffer = buffer, []
                    send(part, prev_id, stats)
            send(buffer, prev_id, stats)
            sink.close()
            if gap:
                raise gap[0]
        finally:
            progress.close()
            self.console.progress = None
        bad_lines = getattr(source, "bad_lines", 0)
        if bad_lines:
            self.console.warn(f"{spec.name}: {bad_lines} damaged line(s) in the export were skipped (--skip-bad-lines)")
        if checkpoint is not None and not frozen:
            checkpoint.state["modules"][spec.name] = {"done": True, "stats": asdict(stats)}
            self._save(checkpoint)
        self._module_line(spec, stats)

    # -- reporting -----------------------------------------------------------------
    def _module_line(self, spec: ModuleSpec, st: ModuleStats) -> None:
        invalid = ""
        if st.invalid:
            parts = ", ".join(f"{r} {st.invalid_by_reason[r]:,}" for r in INVALID_REASONS if st.invalid_by_reason.get(r))
            invalid = f" ({parts})"
        verb = "would write" if self.s.dry_run else ("emitted" if self.s.emit else "written")
        line = (f"{spec.name}: {st.documents:,} documents, {verb} {st.written:,} ({_size(st.bytes)}), "
                f"expired skipped {st.expired:,}, invalid {st.invalid:,}{invalid}, failed {st.failed:,}")
        if st.superseded:
            line += f", {st.superseded:,} superseded by a later document with the same key"
        if st.single_puts:
            from cutover.kv.api import BULK_MAX_BYTES

            went = "would go" if self.s.dry_run else "went"
            line += (f"; {st.single_puts:,} too big for a bulk request (the escaped pair is over "
                     f"{BULK_MAX_BYTES // 1_000_000} MB) {went} by single-key PUT")
        if self.s.dry_run and not self.s.emit:
            per_second = self.s.rate if self.s.mode == "put" else None
            secs = estimate_seconds(st.requests, per_second, self.window_budget, self.s.api_window)
            kind = "bulk request(s)" if self.s.mode == "bulk" else "PUT(s)"
            line += (f"; would send {st.requests:,} {kind}, >= {format_duration(secs)} under the budget of "
                     f"{self.window_budget:,} per {format_duration(self.s.api_window)}")
        elif not self.s.emit:
            line += f"; {st.requests:,} requests, {st.retries:,} retries, {format_duration(st.elapsed_s)}"
        if self.s.emit and not self.s.dry_run:
            from cutover.kv.api import BULK_MAX_BYTES
            from cutover.kv.emit import emit_path

            path = emit_path(self.s.emit, spec.name, len(self.s.modules) > 1)
            line += (f"\n  apply with: wrangler kv bulk put {path} --namespace-id {spec.namespace_id} --remote"
                     "   (TTLs count from now: apply it within minutes)")
            oversized = self.emit_sink.oversized if self.emit_sink is not None else []
            if oversized:
                self.console.warn(
                    f"{spec.name}: {len(oversized):,} pair(s) in {path} are over {BULK_MAX_BYTES // 1_000_000} MB "
                    f"(e.g. key {json.dumps(oversized[0])}), more than one bulk request may carry: wrangler will "
                    "fail on them; run backfill-kv against the API instead (it writes them by single-key PUT)")
        self.lines.append(line)
        self.console.debug(line)

    def _report(self, elapsed: float, failed: int, problems: ProblemLog) -> None:
        # One source of truth: the module counters, carried through the checkpoint, cover the
        # whole job; the totals are their sums, the headline time the job's (all runs).
        total_elapsed = self.earlier_elapsed + elapsed
        summary = {
            "ok": failed == 0,
            "dry_run": self.s.dry_run,
            "mode": "emit" if self.s.emit else self.s.mode,
            "modules": {name: asdict(st) for name, st in self.stats.items()},
            "requests": sum(s.requests for s in self.stats.values()),
            "retries": sum(s.retries for s in self.stats.values()),
            "throttled": self.client.stats.throttled if self.client else 0,
            "elapsed_s": round(total_elapsed, 3),
            "runs": self.runs,
            "this_run": {
                "elapsed_s": round(elapsed, 3),
                "requests": self.client.stats.requests if self.client else sum(s.requests for s in self.stats.values()),
                "retries": self.client.stats.retries if self.client else 0,
            },
            "budget_per_window": self.window_budget,
            "failed_keys_file": problems.path if problems.count and problems.path else None,
        }
        total_written = sum(s.written for s in self.stats.values())
        head = "DRY RUN: " if self.s.dry_run else ""
        verdict = "OK" if failed == 0 else f"FAILED ({failed:,} keys)"
        # The summary is the result: stdout, unless stdout carries the JSON.
        out = sys.stderr if self.s.json_path == "-" else sys.stdout
        verb = "to write" if self.s.dry_run else ("emitted for wrangler" if self.s.emit else "written")
        runs = f" over {self.runs} runs (this one {format_duration(elapsed)})" if self.runs > 1 else ""
        out.write(f"{head}backfill-kv {verdict}: {total_written:,} keys {verb} in {format_duration(total_elapsed)}{runs}\n")
        for line in self.lines:
            out.write(line + "\n")
        out.flush()
        if problems.count and problems.path:
            what = " and ".join(f"{n:,} {label}" for kind, label in (("failed", "failed key(s)"), ("invalid", "invalid document(s)"))
                                for n in [problems.by_kind.get(kind, 0)] if n)
            self.console.warn(f"{what} listed in {problems.path}")
        if self.s.json_path:
            write_output(self.s.json_path, json.dumps(summary, indent=2, sort_keys=True) + "\n")


_SETTING_LABELS = {"source": "Mongo source (mongo.source / --source)", "database": "Mongo database",
                   "since": "--since", "command": "the command"}


def _describe_setting(path: Tuple[str, ...], before: Any, now: Any) -> str | None:
    """A job setting that differs from the checkpoint's, in the operator's words."""
    from cutover.core.checkpoint import setting_change

    if len(path) == 1 and path[0] in _SETTING_LABELS:
        return setting_change(_SETTING_LABELS[path[0]], before, now)
    if len(path) == 2 and path[0] == "modules":
        if before is None:
            return f"module {path[1]} was not part of that run"
        return f"module {path[1]} was part of that run, not of this one (add --module {path[1]})"
    if len(path) == 3 and path[0] == "modules":
        field = {"namespace_id": "namespace"}.get(path[2], path[2])
        return setting_change(f"{field} for module {path[1]}", before, now)
    return None


def _checkpoint_progress(cp: Checkpoint) -> str:
    """'sessions done, prefs: 1,200 documents done' from what the checkpoint on disk holds."""
    parts = []
    for name, entry in cp.state.get("modules", {}).items():
        if entry.get("done"):
            parts.append(f"{name} done")
        else:
            parts.append(f"{name}: {int((entry.get('stats') or {}).get('documents', 0)):,} documents done")
    return ", ".join(parts)


def _fingerprint_change(before: Dict[str, Any] | None, now: Dict[str, Any] | None) -> str:
    if before is None or now is None:
        return "it was " + ("a live database" if before is None else "an export file") + ", now it is not"
    if before.get("file") != now.get("file"):
        return f"file {before.get('file')} is now {now.get('file')}"
    if before.get("size") != now.get("size"):
        return f"{now.get('file')}: {before.get('size'):,} bytes then, {now.get('size'):,} now"
    if before.get("mtime_ns") != now.get("mtime_ns"):
        return f"{now.get('file')} was modified"
    return f"{now.get('file')}: content differs"


def _shown(doc_id: Any) -> str:
    try:
        return json.dumps(jsvalue.to_plain(doc_id))
    except TypeError:
        return repr(doc_id)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000.0  # type: ignore[assignment]
    return f"{n} B"

