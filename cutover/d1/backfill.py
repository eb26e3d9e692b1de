"""backfill-d1's run: check the flags and outputs, read Mongo into the planner, write the SQL
file, report, then (when asked) run it with wrangler or send it through the D1 REST API."""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, TextIO

from cutover.core.config import Config
from cutover.core.console import Console
from cutover.core.fsutil import atomic_writer, write_output
from cutover.d1.options import BackfillD1Options
from cutover.d1.plan import D1Planner, Plan, paused_gc, write_file
from cutover.d1.report import report_text, summary_json
from cutover.d1.settings import Settings, build_planner
from cutover.errors import EXIT_ERROR, EXIT_OK, CutoverError, UsageError


@dataclass
class SourceRead:
    description: str  # the source as reports name it (no secret)
    bad_lines: int = 0  # damaged export lines skipped (--skip-bad-lines)
    bad_lines_note: str | None = None  # what to tell the operator about them
    sources: Dict[str, Any] = field(default_factory=dict)  # collection -> fingerprint, for --mode api's checkpoint


def check_flags(options: BackfillD1Options) -> None:
    """Combinations that cannot work, refused before anything is read (exit 2)."""
    if options.execute and options.mode == "api":
        raise UsageError("--execute runs wrangler; --mode api sends through the REST API: choose one")
    if options.execute and options.output == "-":
        raise UsageError("--execute needs a file: give --output FILE.sql")
    if options.mode == "api" and options.output == "-" and not options.dry_run:
        raise UsageError("--mode api keeps the SQL it sends in a file: give --output FILE.sql")
    if options.json == "-" and options.output == "-" and not options.dry_run:
        raise UsageError("--json - and --output - would both write to stdout: send one of them to a file")
    if options.resume and options.mode != "api":
        raise UsageError("--resume applies to --mode api (a SQL file is simply run again: it is rerunnable)")
    if options.start_id is not None and options.start_id < 1:
        raise UsageError("--start-id must be at least 1")
    if not 1000 <= options.max_statement_bytes <= 100_000:
        raise UsageError("--max-statement-bytes must be within 1000..100000 (D1's limit)")


def check_outputs(options: BackfillD1Options) -> None:
    """Every file the run may write, checked before the source is read (not after an hour of it)."""
    from cutover.core.fsutil import check_writable

    if options.json:
        check_writable(options.json, "--json")
    if options.dry_run:
        return
    check_writable(options.output, "--output")
    if options.mode == "api":
        check_writable(options.checkpoint_path, "--checkpoint")


def read_source(options: BackfillD1Options, settings: Settings, planner: D1Planner, console: Console) -> SourceRead:
    """Every document of the collection (or, with --since, the changed ones) into the planner."""
    from cutover.core.timespec import parse_time_ms
    from cutover.mongo import open_source
    from cutover.mongo.base import SourceIncomplete
    from cutover.mongo.values import DateTime

    since: DateTime | None = None
    if options.since:
        since = DateTime(parse_time_ms(options.since, int(time.time() * 1000), "--since"))
    kwargs: Dict[str, Any] = {"database": settings.mongo_database, "data_source": settings.data_source,
                              "skip_bad_lines": options.skip_bad_lines}
    if options.page_size:
        kwargs["page_size"] = options.page_size
    enabled = None if not options.quiet else False
    source = open_source(settings.source, **kwargs)
    with source:
        sources: Dict[str, Any] = {}
        if options.mode == "api" and not options.dry_run:
            from cutover.mongo.resume import fingerprints

            sources = fingerprints(source, {settings.collection: settings.collection})
            if options.resume:
                check_resume_source(options, sources, console)
        try:
            _scan(source, settings, since, planner, console, enabled)
        except SourceIncomplete as exc:
            raise CutoverError(f"{exc}; nothing was written: run the same command again") from None
        return SourceRead(source.description or settings.source.split(":", 1)[0],
                          source.bad_lines, source.bad_lines_note(), sources)


def check_resume_source(options: BackfillD1Options, sources: Dict[str, Any], console: Console) -> None:
    """Before an hour of reading: refuse a resume whose export is not the one the checkpoint
    was made from (the SQL's SHA-256, compared later, would refuse it too, without saying why)."""
    from cutover.core.checkpoint import Checkpoint
    from cutover.mongo.resume import check_same_source

    path = options.checkpoint_path
    state = Checkpoint(path, {}).saved_state()
    if state is None or "sources" not in state:  # none yet, or older: the SHA-256 of the SQL decides
        return
    check_same_source(path, state, sources, console, subject=lambda name: f"collection {name}",
                      risk="the statements not yet sent would come from other data than the ones D1 acknowledged")


def _scan(source: Any, settings: Settings, since: Any, planner: D1Planner, console: Console, enabled: bool | None) -> None:
    """The documents to write into the planner (with --since, every legacy id first)."""
    from cutover.core.progress import Progress
    from cutover.mongo import ScanOptions

    if since is not None:
        # Every legacy id in the collection is a floor for new ids (a legacy document not
        # written by this pass still owns its id) and is checked for duplicates: read them
        # all (only _id and the legacy id), write only the changed documents.
        with Progress(f"planning ids over {settings.collection}", stream=console.stream, enabled=enabled) as progress:
            projection = {"_id": 1, settings.legacy_id_field: 1}
            for batch in source.scan(settings.collection, ScanOptions(projection=projection, batch_size=5000)):
                for doc in batch:
                    planner.add_id_only(doc)
                progress.update(len(batch))
    scan = ScanOptions(since=since, since_field=settings.since_field, batch_size=5000)
    with Progress(f"reading {settings.collection}", stream=console.stream, enabled=enabled) as progress:
        for batch in source.scan(settings.collection, scan):
            for doc in batch:
                planner.add(doc)
            progress.update(len(batch))


def _warn_bad_lines(read: SourceRead, console: Console) -> None:
    if read.bad_lines_note:
        console.warn(f"{read.bad_lines_note}; their documents are not in the SQL")


def run(options: BackfillD1Options) -> int:
    from cutover.core.interrupt import terminate_as_interrupt

    with terminate_as_interrupt():
        return _run(options, sys.stdout, Console(options.quiet, options.verbose))


def _run(options: BackfillD1Options, out: TextIO, console: Console) -> int:
    check_flags(options)
    check_outputs(options)
    cfg = Config.load(options.config)
    settings, _table, planner = build_planner(options, cfg)
    with paused_gc():
        read = read_source(options, settings, planner, console)
        plan = planner.plan()
    _warn_bad_lines(read, console)
    summary = summary_json(plan, settings, read.description, options, read.bad_lines)
    text = report_text(plan, settings, read.description, planner.options.start_id, options.dry_run, options.output)
    err = console.stream

    def emit_json(extra: Dict[str, Any] | None = None) -> None:
        if options.json:
            write_output(options.json, json.dumps({**summary, **(extra or {})}, indent=2, ensure_ascii=False) + "\n", out)

    if options.dry_run:
        (out if options.json != "-" else err).write(text)
        emit_json()
        return EXIT_ERROR if plan.report.error_count else EXIT_OK
    if plan.report.error_count:
        err.write(text)
        emit_json()
        raise CutoverError(
            f"{plan.report.error_count:,} problem(s) listed above; nothing written"
            + (" and nothing executed" if options.execute or options.mode == "api" else "")
        )
    sql_sha256 = _write_sql(options, plan, out)
    if not options.quiet:
        err.write(text)
    extra = _execute(options, cfg, settings, plan, sql_sha256, read.sources, console)
    emit_json(extra)
    status = int(extra.get("execute_status", 0))
    if status != 0:
        # The documented exit codes (docs/reference.md): a failed wrangler is a runtime error (1); its own status
        # (which could read as 3, 4 or 5 here) is in the message and in the JSON summary.
        raise CutoverError(f"wrangler exited with status {status}; the file is rerunnable: "
                           f"fix the cause and run it again: {options.output}")
    return EXIT_OK


def _write_sql(options: BackfillD1Options, plan: Plan, out: TextIO) -> str:
    """The SQL file (or stdout); its SHA-256."""
    if options.output == "-":
        sql_sha256 = write_file(plan, out)
        out.flush()
        return sql_sha256
    with atomic_writer(options.output) as handle:
        return write_file(plan, handle)


def _execute(
    options: BackfillD1Options, cfg: Config, settings: Settings, plan: Plan, sql_sha256: str, sources: Dict[str, Any],
    console: Console,
) -> Dict[str, Any]:
    """Run the SQL as asked; what the JSON summary adds about it."""
    from cutover.d1.execute import execute_api, execute_wrangler

    extra: Dict[str, Any] = {}
    if not plan.statements:
        if options.execute or options.mode == "api":
            console.info("backfill-d1: no rows to write; nothing executed")
        return extra
    if options.mode == "api":
        extra["api"] = execute_api(options, cfg, settings, plan, sql_sha256, sources, console)
    if options.execute:
        extra["execute_status"] = execute_wrangler(options, settings, options.output, console)
    return extra
