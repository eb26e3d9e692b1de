"""synthetic-burst's body: validate, dry-run or run, print the report, map the decision to an exit code."""
from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from cutover.burst import runner
from cutover.burst.target import parse_target
from cutover.burst.updates import UpdateFactory, validate_command
from cutover.burst.wire import https_proxy
from cutover.core import redact
from cutover.core.config import read_secret
from cutover.core.fsutil import write_output
from cutover.errors import ConfigError, CutoverError, GateFailedError, UsageError

MAX_REQUESTS = 1000
# Telegram's rule for secret_token (setWebhook): 1-256 characters A-Z, a-z, 0-9, _ and -.
_SECRET_OK = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def _stderr(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(f"synthetic-burst: {redact.scrub(message)}", file=sys.stderr, flush=True)


def _validate(args: argparse.Namespace) -> None:
    if args.n > MAX_REQUESTS:
        raise UsageError(f"-n {args.n}: at most {MAX_REQUESTS} simultaneous requests")
    why = validate_command(args.command)
    if why:
        raise UsageError(f"--command {args.command!r}: {why}")
    if bool(args.atlas_group) != bool(args.atlas_process):
        raise UsageError("--atlas-group and --atlas-process go together (the project id and the HOST:PORT to watch)")
    if args.timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    if args.atlas_group:
        from cutover.atlas.client import validate_group_id, validate_process_id

        validate_group_id(args.atlas_group)
        validate_process_id(args.atlas_process)
        if args.atlas_poll_interval <= 0:
            raise UsageError("--atlas-poll-interval must be more than 0 seconds")


def _secret(args: argparse.Namespace) -> str | None:
    secret = read_secret("TELEGRAM_WEBHOOK_SECRET")
    if secret is not None and not _SECRET_OK.match(secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's secret_token rule)")
    if secret is None:
        _stderr(args, "warning: TELEGRAM_WEBHOOK_SECRET is not set; requests carry no X-Telegram-Bot-Api-Secret-Token header")
    return secret


def _guard(args: argparse.Namespace, dry_run: bool) -> Any:
    from cutover.atlas.auth import auth_from_env
    from cutover.atlas.client import AtlasClient
    from cutover.burst.connections import ConnectionGuard
    from cutover.core.config import atlas_api_base
    from cutover.core.http import HttpClient

    http = HttpClient(atlas_api_base(), timeout=min(30.0, max(5.0, args.atlas_poll_interval)), retries=2, backoff_max=5.0)
    auth = auth_from_env(http)
    if dry_run:
        return auth
    guard = ConnectionGuard(
        AtlasClient(http, auth), args.atlas_group, args.atlas_process, float(args.atlas_cap), args.atlas_max_pct,
        poll_interval=args.atlas_poll_interval,
    )
    guard.on_reading = lambda r: _stderr(
        args, f"Atlas {r.phase}: connections latest {r.value.latest}, peak {r.value.peak} (threshold {guard.threshold:g})"
    )
    return guard


def _dry_run(args: argparse.Namespace, plan: runner.BurstPlan, factory: UpdateFactory, atlas_auth: Any) -> int:
    sample = runner.prepare_wave(factory, 0, 1)[0]
    headers = {k: (redact.MASK if k == runner.SECRET_HEADER else v) for k, v in runner.request_headers(plan.secret).items()}
    threshold = args.atlas_cap * args.atlas_max_pct / 100.0
    lines = [
        "synthetic-burst: DRY RUN - nothing sent, Atlas not contacted",
        f"  POST {plan.target.shown} (+ ?_cb=<unique token> per request)",
        f"  {plan.n} simultaneous requests x {plan.waves} wave(s), {plan.wave_interval:g}s apart, "
        f"each wave limited to {plan.timeout:g}s; no retries",
        f"  headers: {json.dumps(headers)}",
    ]
    if atlas_auth is not None:
        lines.append(
            f"  Atlas: {args.atlas_process} in project {args.atlas_group} via {atlas_auth.name}; abort above "
            f"{threshold:g} connections ({args.atlas_max_pct:g}% of {args.atlas_cap}), no further waves, exit 4"
        )
    else:
        lines.append("  Atlas: not watched (no --atlas-group/--atlas-process)")
    lines.append("  first update:")
    update = json.loads(sample.body.decode("utf-8"))
    lines += ["    " + line for line in json.dumps(update, indent=2, ensure_ascii=False).splitlines()]
    out = sys.stderr if args.json == "-" else sys.stdout
    out.write("\n".join(lines) + "\n")
    if args.json:
        plan_doc = {"dry_run": True, "url": plan.target.shown, "n": plan.n, "waves": plan.waves, "update": update}
        write_output(args.json, json.dumps(plan_doc, indent=2, ensure_ascii=False) + "\n")
    return 0


def execute(args: argparse.Namespace) -> int:
    from cutover.burst.report import render

    _validate(args)
    target = parse_target(args.url)
    plan = runner.BurstPlan(
        target=target,
        command=args.command,
        n=args.n,
        waves=args.waves,
        wave_interval=args.wave_interval,
        timeout=args.timeout,
        secret=_secret(args),
        atlas_settle=args.atlas_settle,
    )
    factory = UpdateFactory.for_run(args.command)
    proxy = https_proxy(target)
    if proxy is not None:
        _stderr(args, f"connecting through the HTTPS proxy {proxy[0]}:{proxy[1]} (HTTPS_PROXY; NO_PROXY to bypass)")
    if args.dry_run:
        return _dry_run(args, plan, factory, _guard(args, True) if args.atlas_group else None)
    guard = _guard(args, False) if args.atlas_group else None
    notify = (lambda m: _stderr(args, m)) if args.verbose else (lambda _m: None)
    result = runner.run_burst(plan, factory, guard, notify=notify)
    text = render(result)
    (sys.stderr if args.json == "-" else sys.stdout).write(text)
    if args.json:
        write_output(args.json, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    refused = sum(n for code, n in result["summary"]["status_codes"].items() if code in ("401", "403"))
    if refused:
        # Still OK (the burst ran), but such a burst measured nothing: the bot refused the updates.
        _stderr(args, f"warning: {refused} of {result['summary']['requests']} requests were refused with 401/403: "
                      "check TELEGRAM_WEBHOOK_SECRET against the bot's webhook secret")
    decision = result["decision"]
    if decision == runner.ABORTED:
        raise GateFailedError(result["headline"].split(" - ", 1)[-1])
    if decision == runner.FAILED:
        raise CutoverError(result.get("failure") or "burst failed")
    if decision == runner.INTERRUPTED:
        raise KeyboardInterrupt
    return 0
