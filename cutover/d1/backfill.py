"""backfill-d1's work (kept apart from the argparse module so `--help` stays fast)."""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, TextIO, Tuple

from cutover.core.config import Config, cloudflare_account_id, cloudflare_api_base, read_secret
from cutover.core.fsutil import atomic_writer, write_output
from cutover.d1 import ids as d1ids
from cutover.d1 import sql
from cutover.d1.plan import D1Planner, Plan, PlanOptions, Report, paused_gc, write_file
from cutover.d1.schema import SchemaError, Table, columns_from_definitions, load_table
from cutover.errors import ConfigError, CutoverError, UsageError

DEFAULT_TABLE = "trading_trades"

WARNING_TEXT = {
    sql.NOTE_NON_FINITE: "NaN/±Infinity written as NULL",
    sql.NOTE_UNSAFE_INTEGER: "integers beyond ±2^53: exact in D1, but D1's JSON API and Workers read them rounded",
    sql.NOTE_SURROGATE_REPLACED: "lone surrogates replaced by U+FFFD",
    sql.NOTE_DATE_OUT_OF_RANGE: "dates outside JavaScript's range (±8.64e15 ms)",
}
ERROR_TEXT = {
    "unwritable_value": "values D1 cannot store as they are",
    "bad_legacy_id": "legacy ids that are not integers",
    "duplicate_legacy_id": "legacy ids used by more than one document",
    "duplicate_id": "documents whose _id appears more than once in the source",
    "row_too_large": "documents over D1's 2 MB row limit",
    "not_null_without_value": "documents without a value for a NOT NULL column",
    "unfilled_not_null_column": "NOT NULL columns that no Mongo field fills",
    "id_overflow": "assigned ids beyond 64 bits",
}


@dataclass
class Settings:
    source: str
    mongo_database: str
    data_source: str | None
    collection: str
    table_name: str
    id_column: str
    legacy_id_field: str
    database: str | None
    database_id: str | None
    since_field: str


def _settings(args: argparse.Namespace, cfg: Config) -> Settings:
    cfg.set("mongo.source", args.source)
    cfg.set("mongo.database", args.mongo_database)
    cfg.set("d1.collection", args.collection)
    cfg.set("d1.table", args.table)
    cfg.set("d1.id_column", args.id_column)
    cfg.set("d1.legacy_id_field", args.legacy_id_field)
    cfg.set("d1.database", args.database)
    cfg.set("d1.database_id", args.database_id)
    cfg.set("d1.since_field", args.since_field)
    table = cfg.get("d1.table", DEFAULT_TABLE, kind=str)
    source = cfg.source_spec() if cfg.get("mongo.source", "", kind=str) else ""
    return Settings(
        source=source,
        mongo_database=cfg.get("mongo.database", "", kind=str),
        data_source=cfg.get("mongo.data_source", None, kind=str),
        collection=cfg.get("d1.collection", table, kind=str),
        table_name=table,
        id_column=cfg.get("d1.id_column", "id", kind=str),
        legacy_id_field=cfg.get("d1.legacy_id_field", "legacy_id", kind=str),
        database=cfg.get("d1.database", None, kind=str),
        database_id=cfg.get("d1.database_id", None, kind=str),
        since_field=cfg.get("d1.since_field", "updatedAt", kind=str),
    )


def _table(args: argparse.Namespace, cfg: Config, settings: Settings) -> Table:
    schema = args.schema or cfg.get("d1.schema", None, kind=str)
    try:
        if schema:
            table = load_table(args.schema or cfg.resolve_path(schema), settings.table_name)
        else:
            columns = cfg.get("d1.columns", None, kind=list)
            if not columns:
                raise ConfigError(
                    f"no table definition: pass --schema FILE (from: wrangler d1 export DB --remote --no-data "
                    f"--output schema.sql) or list the columns in {cfg.where('d1.columns')}"
                )
            if not all(isinstance(c, str) for c in columns):
                raise ConfigError(f"{cfg.where('d1.columns')}: must be a list of strings like \"qty REAL\"")
            table = columns_from_definitions(columns, cfg.where("d1.columns"))
            table.name = settings.table_name
            if table.column(settings.id_column) is None:
                table.columns.insert(0, columns_from_definitions([f"{settings.id_column} INTEGER PRIMARY KEY"], "").columns[0])
                table.primary_key = (settings.id_column,)
    except SchemaError as exc:
        raise ConfigError(str(exc)) from None
    if table.column(settings.id_column) is None:
        raise ConfigError(f"table {table.name} has no column {settings.id_column!r} (set d1.id_column or --id-column)")
    if not table.is_unique_key(settings.id_column):
        raise ConfigError(
            f"column {settings.id_column!r} of {table.name} is neither PRIMARY KEY nor UNIQUE, so an upsert "
            "on it (ON CONFLICT) is impossible; check the schema file"
        )
    return table


def _date_units(args: argparse.Namespace, cfg: Config) -> Dict[str, str]:
    units: Dict[str, str] = {}
    for column, unit in (cfg.get("d1.date_format", {}, kind=dict) or {}).items():
        units[str(column)] = str(unit)
    for item in args.date_format:
        column, sep, unit = item.partition("=")
        if not sep or not column:
            raise UsageError(f"--date-format {item!r}: expected COLUMN=UNIT")
        units[column] = unit
    for column, unit in units.items():
        if unit not in sql.DATE_UNITS:
            raise UsageError(f"date format for column {column!r}: {unit!r} is not one of {', '.join(sql.DATE_UNITS)}")
    return units


def _check_outputs(args: argparse.Namespace) -> None:
    """Every file the run may write, checked before the source is read (not after an hour of it)."""
    from cutover.core.fsutil import check_writable

    if args.json:
        check_writable(args.json, "--json")
    if args.dry_run:
        return
    check_writable(args.output, "--output")
    if args.mode == "api":
        check_writable(args.checkpoint or f"{args.output}.checkpoint.json", "--checkpoint")


def _check_flags(args: argparse.Namespace) -> None:
    if args.execute and args.mode == "api":
        raise UsageError("--execute runs wrangler; --mode api sends through the REST API: choose one")
    if args.execute and args.output == "-":
        raise UsageError("--execute needs a file: give --output FILE.sql")
    if args.mode == "api" and args.output == "-" and not args.dry_run:
        raise UsageError("--mode api keeps the SQL it sends in a file: give --output FILE.sql")
    if args.json == "-" and args.output == "-" and not args.dry_run:
        raise UsageError("--json - and --output - would both write to stdout: send one of them to a file")
    if args.resume and args.mode != "api":
        raise UsageError("--resume applies to --mode api (a SQL file is simply run again: it is rerunnable)")
    if args.start_id is not None and args.start_id < 1:
        raise UsageError("--start-id must be at least 1")
    if not 1000 <= args.max_statement_bytes <= 100_000:
        raise UsageError("--max-statement-bytes must be within 1000..100000 (D1's limit)")


def _read(args: argparse.Namespace, settings: Settings, planner: D1Planner, err: TextIO) -> str:
    from cutover.core.progress import Progress
    from cutover.core.timespec import parse_time_ms
    from cutover.mongo import ScanOptions, open_source
    from cutover.mongo.values import DateTime

    since: DateTime | None = None
    if args.since:
        since = DateTime(parse_time_ms(args.since, int(time.time() * 1000), "--since"))
    kwargs: Dict[str, Any] = {"database": settings.mongo_database, "data_source": settings.data_source}
    if args.page_size:
        kwargs["page_size"] = args.page_size
    source = open_source(settings.source, **kwargs)
    with source:
        if since is not None:
            # Every legacy id in the collection is a floor for new ids (a legacy document not
            # written by this pass still owns its id) and is checked for duplicates: read them
            # all (only _id and the legacy id), write only the changed documents.
            with Progress(f"planning ids over {settings.collection}", stream=err,
                          enabled=None if not args.quiet else False) as progress:
                projection = {"_id": 1, settings.legacy_id_field: 1}
                for batch in source.scan(settings.collection, ScanOptions(projection=projection, batch_size=5000)):
                    for doc in batch:
                        planner.add_id_only(doc)
                    progress.update(len(batch))
        options = ScanOptions(since=since, since_field=settings.since_field, batch_size=5000)
        with Progress(f"reading {settings.collection}", stream=err, enabled=None if not args.quiet else False) as progress:
            for batch in source.scan(settings.collection, options):
                for doc in batch:
                    planner.add(doc)
                progress.update(len(batch))
        return source.description or settings.source.split(":", 1)[0]


# -- reporting ----------------------------------------------------------------------------------

def _fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1_000_000 else (f"{n / 1e3:.1f} kB" if n >= 1000 else f"{n} bytes")


def _ids_line(report: Report, start_id: int) -> str:
    parts = []
    if report.legacy_ids:
        parts.append(f"{report.legacy_ids:,} legacy ids kept ({report.legacy_min}..{report.legacy_max})")
    else:
        parts.append("no legacy ids")
    if report.assigned:
        parts.append(
            f"{report.assigned:,} documents without one: their ids are given when the SQL is applied, through "
            f"D1's {d1ids.MAP_TABLE} table (an id given once is kept; a new one goes above every id the table "
            f"and the map hold, and at least {report.base_id} = max(largest legacy id, --start-id {start_id} - 1) + 1)"
        )
    return "; ".join(parts)


def _issue_lines(title: str, issues: Dict[str, Any], texts: Dict[str, str], limit: int) -> List[str]:
    lines = []
    if issues:
        lines.append(f"{title}:")
        for kind, issue in issues.items():
            lines.append(f"  {issue.count:,} x {texts.get(kind, kind)}")
            for example in issue.examples[:limit]:
                lines.append(f"      {example}")
            if issue.count > min(limit, len(issue.examples)):
                lines.append(f"      … {issue.count - min(limit, len(issue.examples)):,} more")
    return lines


def report_text(plan: Plan, settings: Settings, source: str, start_id: int, dry_run: bool, output: str) -> str:
    r = plan.report
    head = "DRY RUN (nothing written): " if dry_run else ""
    lines = [
        f"backfill-d1 {head}{r.documents:,} documents from {source} ({settings.collection}) -> D1 table {settings.table_name}",
        f"rows: {r.rows:,} in {r.statements:,} statements ({_fmt_bytes(r.bytes)}) "
        + ("would be written to " if dry_run else "written to ") + output,
        f"ids: {_ids_line(r, start_id)}",
    ]
    if r.split_values:
        lines.append(f"large values: {r.split_values:,} too big for one statement, appended in pieces (UPDATE … || …)")
    lines.append("columns written: " + ", ".join(plan.columns))
    for column, fields in r.mapping.items():
        if list(fields) != [column]:
            lines.append(f"  {column} <- " + ", ".join(f"{f} ({n:,})" for f, n in fields.items()))
    if r.unmapped_fields:
        shown = list(r.unmapped_fields.items())[:15]
        lines.append("fields with no column (not written): " + ", ".join(f"{f} ({n:,})" for f, n in shown)
                     + (" …" if len(r.unmapped_fields) > 15 else ""))
    if r.unfilled_columns:
        lines.append("columns no field fills (left to D1's default / existing value): " + ", ".join(r.unfilled_columns))
    lines += _issue_lines("warnings", r.warnings, WARNING_TEXT, 3)
    lines += _issue_lines("errors", r.errors, ERROR_TEXT, 20)
    if dry_run and plan.first_row_statement < len(plan.statements):
        first = plan.statements[plan.first_row_statement]
        size = len(first.encode("utf-8"))
        shown_text = first if len(first) <= 2000 else first[:2000] + f"\n… ({size:,} bytes in all)"
        lines.append(f"first statement that writes rows (of {len(plan.statements):,}; "
                     f"{plan.report.map_statements:,} before it fill the id map):")
        lines.append(shown_text)
    return "\n".join(lines) + "\n"


def summary_json(plan: Plan, settings: Settings, source: str, args: argparse.Namespace) -> Dict[str, Any]:
    r = plan.report

    def issues(d: Dict[str, Any]) -> Dict[str, Any]:
        return {k: {"count": i.count, "examples": i.examples} for k, i in d.items()}

    return {
        "table": settings.table_name,
        "collection": settings.collection,
        "source": source,
        "dry_run": bool(args.dry_run),
        "mode": args.mode,
        "output": None if args.dry_run else args.output,
        "documents": r.documents,
        "rows": r.rows,
        "statements": r.statements,
        "bytes": r.bytes,
        "split_values": r.split_values,
        "ids": {
            "base": r.base_id,
            "map_table": d1ids.MAP_TABLE,
            "legacy": {"count": r.legacy_ids, "min": r.legacy_min, "max": r.legacy_max},
            "assigned": {"count": r.assigned, "first": r.assigned_first, "last": r.assigned_last},
        },
        "columns": plan.columns,
        "mapping": r.mapping,
        "unmapped_fields": r.unmapped_fields,
        "unfilled_columns": r.unfilled_columns,
        "warnings": issues(r.warnings),
        "errors": issues(r.errors),
        "ok": r.error_count == 0,
    }


# -- execution ----------------------------------------------------------------------------------

def _execute_wrangler(args: argparse.Namespace, settings: Settings, path: str, err: TextIO) -> int:
    if not settings.database:
        raise ConfigError("--execute needs the D1 database name: set d1.database in the config or pass --database")
    try:
        base = shlex.split(args.wrangler)
    except ValueError as exc:
        raise UsageError(f"--wrangler {args.wrangler!r}: {exc}") from None
    if not base:
        raise UsageError("--wrangler is empty")
    cmd = base + ["d1", "execute", settings.database, "--remote", "--file", path, "-y"]
    if not args.quiet:
        print("running: " + " ".join(shlex.quote(c) for c in cmd), file=err, flush=True)
    sys.stdout.flush()
    # wrangler's output streams straight to the operator, but to stderr when stdout carries
    # the JSON summary (`--json -` must stay valid JSON on its own).
    stdout = 2 if args.json == "-" else None
    try:
        proc = subprocess.run(cmd, check=False, stdout=stdout)
    except FileNotFoundError:
        raise CutoverError(
            f"{base[0]!r} not found: install wrangler, point --wrangler at it (e.g. 'npx wrangler'), "
            f"or send the same SQL with --mode api; the file is ready: {path}"
        ) from None
    return proc.returncode


def _execute_api(
    args: argparse.Namespace, cfg: Config, settings: Settings, plan: Plan, sql_sha256: str, err: TextIO
) -> Dict[str, Any]:
    from cutover.core.checkpoint import Checkpoint
    from cutover.core.http import HttpClient
    from cutover.core.progress import Progress
    from cutover.core.ratelimit import cloudflare_limiter
    from cutover.d1.api import D1Api, D1ApiError, apply_statements

    cfg.set("cloudflare.account_id", args.account_id)
    account = args.account_id or cloudflare_account_id(cfg)
    if not account:
        raise ConfigError("--mode api needs the account: set cloudflare.account_id, CLOUDFLARE_ACCOUNT_ID or --account-id")
    if not settings.database_id:
        raise ConfigError("--mode api needs the database id: set d1.database_id in the config or pass --database-id")
    token = read_secret("CLOUDFLARE_API_TOKEN", required=True)
    try:
        limiter = cloudflare_limiter(token, cloudflare_api_base(), per_second=args.rate, headroom=args.headroom)
    except ValueError as exc:
        raise UsageError(f"--rate/--headroom: {exc}") from None
    client = HttpClient(cloudflare_api_base(), headers={"Authorization": f"Bearer {token}"}, pace=limiter)
    api = D1Api(client, account, settings.database_id)
    job = {
        "command": "backfill-d1",
        "database_id": settings.database_id,
        "table": settings.table_name,
        "sql_sha256": sql_sha256,
    }
    checkpoint = Checkpoint(args.checkpoint or f"{args.output}.checkpoint.json", job, describe=_describe_setting)
    if not checkpoint.open(args.resume, " (every statement is an upsert, so starting over is safe)") and args.resume:
        print(f"backfill-d1: no checkpoint at {checkpoint.path}; starting at the first statement", file=err)
    total = len(plan.statements)
    with Progress("sending to D1", total=total, stream=err, enabled=None if not args.quiet else False, unit=" stmt") as progress:
        done_before = int(checkpoint.state.get("done", 0))
        if done_before and not args.quiet:
            progress.note(f"resuming at statement {done_before + 1:,} of {total:,}")
        progress.count = done_before

        def on_batch(done: int, _total: int) -> None:
            progress.update(done - progress.count)

        try:
            result = apply_statements(api, plan.statements, plan.units, checkpoint, on_batch)
        except D1ApiError as exc:
            done = int(checkpoint.state.get("done", 0))
            raise CutoverError(
                f"{exc}; {done:,} of {total:,} statements were applied and recorded in {checkpoint.path}: "
                "fix the cause and run the same command with --resume"
            ) from None
        except KeyboardInterrupt:
            from cutover.core.interrupt import interrupted

            done = int(checkpoint.state.get("done", 0))
            raise interrupted(checkpoint.path, checkpoint.exists(),
                              f"{done:,} of {total:,} statements acknowledged by D1") from None
    checkpoint.remove()  # finished: a later run starts afresh (and may redo everything safely)
    if not args.quiet:
        print(f"backfill-d1: D1 acknowledged {result.statements:,} statements in {result.batches:,} requests "
              f"({client.stats.retries} retries)", file=err)
    return {"statements_sent": result.statements, "batches": result.batches, "resumed_from": result.resumed_from,
            "checkpoint": checkpoint.path, "retries": client.stats.retries}


# -- entry point --------------------------------------------------------------------------------

def build_planner(args: argparse.Namespace, cfg: Config) -> Tuple[Settings, Table, D1Planner]:
    """Settings, table and an empty planner exactly as backfill-d1 would use them (verify shares this)."""
    settings = _settings(args, cfg)
    table = _table(args, cfg, settings)
    start_id = args.start_id if args.start_id is not None else cfg.get("d1.start_id", 1, kind=int)
    column_map = {str(k): str(v) for k, v in (cfg.get("d1.column_map", {}, kind=dict) or {}).items()}
    try:
        planner = D1Planner(PlanOptions(
            table=table,
            id_column=settings.id_column,
            legacy_id_field=settings.legacy_id_field,
            start_id=start_id,
            date_units=_date_units(args, cfg),
            column_map=column_map,
            max_statement_bytes=args.max_statement_bytes,
            replace_lone_surrogates=args.replace_lone_surrogates,
        ))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return settings, table, planner


def _describe_setting(path: Tuple[str, ...], before: Any, now: Any) -> str | None:
    """A setting that differs from the checkpoint's, in the operator's words."""
    from cutover.core.checkpoint import setting_change

    if path == ("sql_sha256",):
        return ("the SQL built now differs from the SQL that run was sending (the Mongo data, the schema or "
                "the options changed since; a relative --since such as 24h moves with the clock)")
    label = {"database_id": "D1 database id", "table": "D1 table", "command": "the command"}.get(path[0] if path else "")
    return setting_change(label, before, now) if label and len(path) == 1 else None


def run_backfill_d1(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from cutover.core.interrupt import terminate_as_interrupt

    with terminate_as_interrupt():
        return _run_backfill_d1(args, out, err)


def _run_backfill_d1(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    _check_flags(args)
    _check_outputs(args)
    cfg = Config.load(args.config)
    settings, table, planner = build_planner(args, cfg)
    start_id = planner.options.start_id
    with paused_gc():
        source = _read(args, settings, planner, err)
        plan = planner.plan()
    report = plan.report
    summary = summary_json(plan, settings, source, args)

    def emit_json(extra: Dict[str, Any] | None = None) -> None:
        if args.json:
            write_output(args.json, json.dumps({**summary, **(extra or {})}, indent=2, ensure_ascii=False) + "\n", out)

    text_report = report_text(plan, settings, source, start_id, args.dry_run, args.output)
    if args.dry_run:
        if args.json != "-":
            out.write(text_report)
        else:
            err.write(text_report)
        emit_json()
        return 1 if report.error_count else 0
    if report.error_count:
        err.write(text_report)
        emit_json()
        raise CutoverError(
            f"{report.error_count:,} problem(s) listed above; nothing written"
            + (" and nothing executed" if args.execute or args.mode == "api" else "")
        )
    if args.output == "-":
        sql_sha256 = write_file(plan, out)
        out.flush()
    else:
        with atomic_writer(args.output) as handle:
            sql_sha256 = write_file(plan, handle)
    if not args.quiet:
        err.write(text_report)
    extra: Dict[str, Any] = {}
    status = 0
    if not plan.statements:
        if (args.execute or args.mode == "api") and not args.quiet:
            print("backfill-d1: no rows to write; nothing executed", file=err)
        emit_json(extra)
        return 0
    if args.mode == "api":
        extra["api"] = _execute_api(args, cfg, settings, plan, sql_sha256, err)
    if args.execute:
        status = _execute_wrangler(args, settings, args.output, err)
        extra["execute_status"] = status
    emit_json(extra)
    if status != 0:
        # The documented exit codes (docs/reference.md): a failed wrangler is a runtime error (1); its own status
        # (which could read as 3, 4 or 5 here) is in the message and in the JSON summary.
        raise CutoverError(f"wrangler exited with status {status}; the file is rerunnable: "
                           f"fix the cause and run it again: {args.output}")
    return status
