"""The backfill-kv loop: Mongo scan -> records -> sink, one checkpoint per acknowledged batch.

Resume position = the `_id` of the last document whose whole batch was acknowledged. A batch
with failed keys freezes that position for its module, so a resume redoes it (rewriting a
key is harmless, skipping one is not).
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict
from typing import Any, Dict, Iterator, List, Tuple

from cutover.core.checkpoint import Checkpoint
from cutover.core.console import Console
from cutover.core.fsutil import check_writable
from cutover.core.progress import Progress, format_duration
from cutover.core.ratelimit import cloudflare_budget
from cutover.errors import EXIT_OK, CutoverError
from cutover.kv import resume
from cutover.kv.batcher import NO_POSITION, Batcher
from cutover.kv.dryrun import DryRunSink
from cutover.kv.options import BackfillKVOptions, Settings, module_specs, resolve
from cutover.kv.problems import ProblemLog
from cutover.kv.record import Expired, Invalid, KVRecord, ModuleSpec, map_document
from cutover.kv.report import Reporter, shown_id
from cutover.kv.sink import KVSink, WriteResult, now_ms
from cutover.kv.stats import ModuleStats
from cutover.mongo.base import SourceIncomplete

__all__ = ["Backfill", "BackfillKVOptions", "module_specs", "run"]

SHOWN_INVALID = 10  # invalid documents named on stderr per module (all go to the failed-keys file)


def run(options: BackfillKVOptions) -> int:
    settings = resolve(options)
    return Backfill(settings, Console(settings.quiet, settings.verbose)).run()


class Backfill:
    def __init__(self, settings: Settings, console: Console) -> None:
        self.s = settings
        self.console = console
        self.window_budget = cloudflare_budget(settings.headroom, settings.api_limit)
        self.report = Reporter(settings, console, self.window_budget)
        self.stats: Dict[str, ModuleStats] = {}
        self.client: Any = None
        self.emit_sink: Any = None
        self.started = time.monotonic()
        self.earlier_elapsed = 0.0  # wall time of the earlier runs of this job (from the checkpoint)
        self.runs = 1
        self.acknowledged = False  # Cloudflare answered a write of this run
        self.checkpoint: Checkpoint | None = None

    # -- setup ---------------------------------------------------------------------
    def _job(self) -> Dict[str, Any]:
        return resume.job(self.s)

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
        cp = Checkpoint(self.s.checkpoint_path, self._job(), describe=resume.describe_setting)
        if cp.open(self.s.resume):
            resume.check_same_source(cp, sources, self.s.modules, self.console)
        elif self.s.resume:
            self.console.info(cp.start_note())  # every write is an idempotent upsert: start over
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

    def _api(self) -> None:
        from cutover.core import cloudflare
        from cutover.core.http import RetryEvent

        token = cloudflare.api_token(required=True)
        assert token is not None
        if not self.s.account_id:
            raise CutoverError(
                "no Cloudflare account id: set CLOUDFLARE_ACCOUNT_ID, cloudflare.account_id in the config, or --account-id"
            )
        per_second = self.s.rate if self.s.mode == "put" else None
        budget = cloudflare.budget(token, per_second=per_second, headroom=self.s.headroom,
                                   api_limit=(self.s.api_limit, self.s.api_window), on_wait=self._on_wait)

        def on_retry(event: RetryEvent) -> None:
            self.console.debug(f"retry {event.attempt} in {event.delay:.1f}s: {event.reason} ({event.url})")

        # The client waits out 429 blocks (resending with fresh TTLs, see kv.api) and reports each.
        self.client = cloudflare.client(token, pace=budget, api_limit=(self.s.api_limit, self.s.api_window),
                                        timeout=120.0, on_retry=on_retry, on_block=self._on_block)

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

        if self.s.mode == "put":
            workers = max(1, min(32, math.ceil(self.s.rate / 5)))
            sink = PutSink(self.client, self.s.account_id, spec.namespace_id, workers=workers)
            sink.batch_records = put_batch_records(self.s.rate, self.window_budget, self.s.api_window)
            return sink
        return BulkSink(self.client, self.s.account_id, spec.namespace_id, max_pairs=self.s.batch_size)

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
        progress = resume.checkpoint_progress(self.checkpoint) if saved and self.checkpoint is not None else ""
        return interrupted(path, saved, progress)

    def _open(self) -> Any:
        """Token, account and source, then the checkpoint: a run that cannot start leaves none behind."""
        from cutover.mongo import open_source

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
            self.checkpoint = self._open_checkpoint(sources)
        except BaseException:
            source.close()
            raise
        return source

    def _run(self) -> int:
        self.started = started = time.monotonic()
        self._check_outputs()  # before anything else: a bad path fails now, not an hour in
        source = self._open()
        checkpoint = self.checkpoint
        try:
            problems = ProblemLog(None if self.s.dry_run else self.s.failed_keys_path)
            if checkpoint is not None and checkpoint.on_disk:
                resume.keep_listed_before_checkpoint(problems, checkpoint, self.console)
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
        self.report.summary(self.stats, self.client, self.runs, elapsed, self.earlier_elapsed + elapsed, failed, problems)
        if failed:
            raise CutoverError(f"{failed:,} key(s) failed after retries; listed in {problems.path} "
                               f"(run again with --resume to retry them)")
        return EXIT_OK

    def _run_module(self, source: Any, spec: ModuleSpec, checkpoint: Checkpoint | None, problems: ProblemLog) -> None:
        from cutover.mongo import ScanOptions, ejson
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
            batch_size=min(sink.batch_records, 10_000), read_before=stats.documents if after_id is not None else None,
        )
        progress = Progress(spec.name, enabled=None if not self.s.quiet else False, unit=" docs")
        if progress.enabled:
            progress.total = source.count(spec.collection, options)
        self.console.progress = progress
        after_sent = _AfterSent(self, spec, stats, checkpoint, problems)
        try:
            self._feed(source, spec, options, Batcher(sink, stats, after_id, after_sent), problems, progress)
        except SourceIncomplete as exc:
            raise self._gap(exc, spec, checkpoint) from None
        finally:
            progress.close()
            self.console.progress = None
        note = source.bad_lines_note()
        if note:
            self.console.warn(f"{spec.name}: {note}")
        if checkpoint is not None and not after_sent.frozen:
            checkpoint.state["modules"][spec.name] = {"done": True, "stats": asdict(stats)}
            self._save(checkpoint)
        oversized = self.emit_sink.oversized if self.emit_sink is not None else []
        self.report.module_line(spec, stats, oversized)

    def _gap(self, exc: CutoverError, spec: ModuleSpec, checkpoint: Checkpoint | None) -> CutoverError:
        """The scan found documents it did not return: every position it saved may lie past
        one, so the module's position is dropped and a --resume reads the module again."""
        if checkpoint is None:
            return CutoverError(f"{exc}; what was read is written: run the same command again")
        checkpoint.state["modules"].pop(spec.name, None)
        self._save(checkpoint)
        if not checkpoint.on_disk:
            return CutoverError(f"{exc}; what was read is written: run the same command again")
        return CutoverError(f"{exc}; what was read is written, and the checkpoint keeps no position for it: "
                            f"the same command with --resume reads module {spec.name} again from the start")

    def _feed(self, source: Any, spec: ModuleSpec, options: Any, batcher: Batcher, problems: ProblemLog,
              progress: Progress) -> None:
        """Every document of the scan mapped, counted and handed to the batcher, then the sink
        closed. A scan that found documents it did not return says so after its last batch:
        what was read is written first, then the run fails."""
        stats = batcher.stats
        gap: List[SourceIncomplete] = []

        def scanned() -> Iterator[Any]:
            try:
                yield from source.scan(spec.collection, options)
            except SourceIncomplete as exc:
                gap.append(exc)

        for batch in scanned():
            now = now_ms()
            for doc in batch:
                stats.documents += 1
                mapped = map_document(doc, spec, now)
                if isinstance(mapped, KVRecord):
                    batcher.add(mapped)
                elif isinstance(mapped, Expired):
                    stats.expired += 1
                elif isinstance(mapped, Invalid):
                    self._invalid(spec, stats, mapped, problems)
                batcher.advance(doc.get("_id"))
            progress.update(len(batch))
            batcher.batch_done()
        batcher.finish()
        batcher.sink.close()
        if gap:
            raise gap[0]

    def _invalid(self, spec: ModuleSpec, stats: ModuleStats, mapped: Invalid, problems: ProblemLog) -> None:
        stats.invalid += 1
        stats.invalid_by_reason[mapped.reason] = stats.invalid_by_reason.get(mapped.reason, 0) + 1
        problems.add(spec.name, "invalid", None, mapped.doc_id, f"{mapped.reason}: {mapped.detail}")
        if stats.invalid <= SHOWN_INVALID or self.s.verbose:
            self.console.item(f"{spec.name}: document _id {shown_id(mapped.doc_id)} not written: {mapped.detail}")
        elif stats.invalid == SHOWN_INVALID + 1:
            self.console.item(f"{spec.name}: more invalid documents; all are counted in the summary"
                              + ("" if self.s.dry_run else f" and listed in {problems.path}"))


class _AfterSent:
    """After each batch the sink answered: the module's request counts and time, the failed
    keys, and the checkpoint (which stops moving for the module once a key failed)."""

    def __init__(self, run: Backfill, spec: ModuleSpec, stats: ModuleStats, checkpoint: Checkpoint | None,
                 problems: ProblemLog) -> None:
        self.run, self.spec, self.stats, self.checkpoint, self.problems = run, spec, stats, checkpoint, problems
        self.frozen = False
        self.elapsed_before = stats.elapsed_s
        self.module_start = time.monotonic()
        # Per-module request counts: what the checkpoint carried plus what the shared client sent since.
        self.base_requests, self.base_retries = stats.requests, stats.retries
        client = run.client
        self.requests_before = client.stats.requests if client else 0
        self.retries_before = client.stats.retries if client else 0

    def __call__(self, result: WriteResult, position: Any, at_position: ModuleStats) -> None:
        from cutover.mongo import ejson

        run, client, name = self.run, self.run.client, self.spec.name
        if result.written or result.failed:
            run.acknowledged = True
        for st in {id(self.stats): self.stats, id(at_position): at_position}.values():
            if client is not None:  # the shared client counts every attempt, retries included
                st.requests = self.base_requests + client.stats.requests - self.requests_before
                st.retries = self.base_retries + client.stats.retries - self.retries_before
            st.elapsed_s = round(self.elapsed_before + time.monotonic() - self.module_start, 3)
        for failure in result.failed:
            self.problems.add(name, "failed", failure.key, failure.doc_id, failure.reason)
        if result.failed and not self.frozen:
            self.frozen = True
            run.console.warn(f"{name}: {len(result.failed)} key(s) failed; the checkpoint stays before "
                             "them so --resume retries them")
        if self.checkpoint is not None and not self.frozen and position is not NO_POSITION:
            self.checkpoint.state["modules"][name] = {"after_id": ejson.dumps(position), "stats": asdict(at_position)}
            run._save(self.checkpoint)
