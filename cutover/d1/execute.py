"""Running the written SQL: `wrangler d1 execute DB --remote --file FILE -y`, or the statements sent
through the D1 REST API in batches (paced by the token's budget, resumable from a checkpoint)."""
from __future__ import annotations

import shlex
import subprocess
import sys
from typing import Any, Dict, Tuple

from cutover.core.config import Config, cloudflare_account_id
from cutover.core.console import Console
from cutover.d1.api import D1Api, D1ApiError, apply_statements
from cutover.d1.options import BackfillD1Options
from cutover.d1.plan import Plan
from cutover.d1.settings import Settings
from cutover.errors import ConfigError, CutoverError, UsageError


def execute_wrangler(options: BackfillD1Options, settings: Settings, path: str, console: Console) -> int:
    """wrangler's exit status (its output goes straight to the operator)."""
    if not settings.database:
        raise ConfigError("--execute needs the D1 database name: set d1.database in the config or pass --d1-database")
    try:
        base = shlex.split(options.wrangler)
    except ValueError as exc:
        raise UsageError(f"--wrangler {options.wrangler!r}: {exc}") from None
    if not base:
        raise UsageError("--wrangler is empty")
    cmd = base + ["d1", "execute", settings.database, "--remote", "--file", path, "-y"]
    console.info("running: " + " ".join(shlex.quote(c) for c in cmd))
    sys.stdout.flush()
    # wrangler's output streams straight to the operator, but to stderr when stdout carries
    # the JSON summary (`--json -` must stay valid JSON on its own).
    stdout = 2 if options.json == "-" else None
    try:
        proc = subprocess.run(cmd, check=False, stdout=stdout)
    except FileNotFoundError:
        raise CutoverError(
            f"{base[0]!r} not found: install wrangler, point --wrangler at it (e.g. 'npx wrangler'), "
            f"or send the same SQL with --mode api; the file is ready: {path}"
        ) from None
    return proc.returncode


def describe_setting(path: Tuple[str, ...], before: Any, now: Any) -> str | None:
    """A setting that differs from the checkpoint's, in the operator's words."""
    from cutover.core.checkpoint import setting_change

    if path == ("sql_sha256",):
        return ("the SQL built now differs from the SQL that run was sending (the Mongo data, the schema or "
                "the options changed since; a relative --since such as 24h moves with the clock)")
    label = {"database_id": "D1 database id", "table": "D1 table", "command": "the command"}.get(path[0] if path else "")
    return setting_change(label, before, now) if label and len(path) == 1 else None


def _d1_api(options: BackfillD1Options, cfg: Config, settings: Settings) -> D1Api:
    """The D1 REST API for the configured database, through the one Cloudflare client."""
    from cutover.core import cloudflare

    cfg.set("cloudflare.account_id", options.account_id)
    account = options.account_id or cloudflare_account_id(cfg)
    if not account:
        raise ConfigError("--mode api needs the account: set cloudflare.account_id, CLOUDFLARE_ACCOUNT_ID or --account-id")
    if not settings.database_id:
        raise ConfigError("--mode api needs the database id: set d1.database_id in the config or pass --database-id")
    client = cloudflare.client(per_second=options.rate, headroom=options.budget_headroom, api_limit=options.api_limit)
    return D1Api(client, account, settings.database_id)


def execute_api(
    options: BackfillD1Options, cfg: Config, settings: Settings, plan: Plan, sql_sha256: str,
    sources: Dict[str, Any], console: Console,
) -> Dict[str, Any]:
    """Send every statement; the `api` part of the JSON summary. `sources`: the fingerprint of
    the collection read (checked against the checkpoint's before reading, see backfill)."""
    from cutover.core.checkpoint import Checkpoint
    from cutover.core.progress import Progress

    api = _d1_api(options, cfg, settings)
    job = {"command": "backfill-d1", "database_id": settings.database_id, "table": settings.table_name,
           "sql_sha256": sql_sha256}
    checkpoint = Checkpoint(options.checkpoint_path, job, describe=describe_setting)
    if not checkpoint.open(options.resume, " (every statement is an upsert, so starting over is safe)") and options.resume:
        console.info(checkpoint.start_note())
    checkpoint.state["sources"] = sources
    total = len(plan.statements)
    with Progress("sending to D1", total=total, stream=console.stream, enabled=None if not options.quiet else False,
                  unit=" stmt") as progress:
        done_before = int(checkpoint.state.get("done", 0))
        if done_before:
            console.info(f"resuming at statement {done_before + 1:,} of {total:,}")
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
    retries = api.client.stats.retries
    console.info(f"backfill-d1: D1 acknowledged {result.statements:,} statements in {result.batches:,} requests "
                 f"({retries} retries)")
    return {"statements_sent": result.statements, "batches": result.batches, "resumed_from": result.resumed_from,
            "checkpoint": checkpoint.path, "retries": retries}
