"""synthetic-burst's body: validate, dry-run or run, print the report, map the decision to an exit code."""
from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

from cutover.burst import runner
from cutover.burst.target import parse_target
from cutover.burst.updates import UpdateFactory, validate_command
from cutover.burst.wire import https_proxy
from cutover.core import redact
from cutover.core.config import read_secret
from cutover.core.console import Console
from cutover.core.fsutil import write_output
from cutover.errors import EXIT_GATE_FAILED, EXIT_OK, ConfigError, CutoverError, UsageError

MAX_REQUESTS = 1000
# Telegram's rule for secret_token (setWebhook): 1-256 characters A-Z, a-z, 0-9, _ and -.
_SECRET_OK = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class BurstOptions:
    """synthetic-burst's settings; the defaults are the command line's."""

    url: str
    n: int = 20
    command: str = "/ping"
    json: str | None = None
    timeout: float = 30.0
    waves: int = 1
    wave_interval: float = 30.0
    atlas_group: str | None = None
    atlas_process: str | None = None
    atlas_cap: int = 500
    atlas_max_pct: float = 60.0
    atlas_settle: float = 20.0
    atlas_poll_interval: float = 10.0
    dry_run: bool = False
    quiet: bool = False
    verbose: bool = False


class _Say:
    """`synthetic-burst: ...` on stderr, scrubbed, none with -q."""

    def __init__(self, options: BurstOptions) -> None:
        self.console = Console(options.quiet, options.verbose)

    def __call__(self, message: str) -> None:
        self.console.info(f"synthetic-burst: {redact.scrub(message)}")


def _validate(options: BurstOptions) -> None:
    if options.n > MAX_REQUESTS:
        raise UsageError(f"-n {options.n}: at most {MAX_REQUESTS} simultaneous requests")
    why = validate_command(options.command)
    if why:
        raise UsageError(f"--command {options.command!r}: {why}")
    if bool(options.atlas_group) != bool(options.atlas_process):
        raise UsageError("--atlas-group and --atlas-process go together (the project id and the HOST:PORT to watch)")
    if options.timeout <= 0:
        raise UsageError("--timeout must be more than 0 seconds")
    if options.atlas_group:
        from cutover.atlas.client import validate_group_id, validate_process_id

        validate_group_id(options.atlas_group)
        validate_process_id(options.atlas_process or "")
        if options.atlas_poll_interval <= 0:
            raise UsageError("--atlas-poll-interval must be more than 0 seconds")


def _secret(say: _Say) -> str | None:
    secret = read_secret("TELEGRAM_WEBHOOK_SECRET")
    if secret is not None and not _SECRET_OK.match(secret):
        raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's secret_token rule)")
    if secret is None:
        say("warning: TELEGRAM_WEBHOOK_SECRET is not set; requests carry no X-Telegram-Bot-Api-Secret-Token header")
    return secret


def _guard(options: BurstOptions, say: _Say, dry_run: bool) -> Any:
    from cutover.atlas.auth import auth_from_env
    from cutover.atlas.client import AtlasClient
    from cutover.burst.connections import ConnectionGuard
    from cutover.core.config import atlas_api_base
    from cutover.core.http import HttpClient

    http = HttpClient(atlas_api_base(), timeout=min(30.0, max(5.0, options.atlas_poll_interval)), retries=2,
                      backoff_max=5.0)
    auth = auth_from_env(http)
    if dry_run:
        return auth
    guard = ConnectionGuard(
        AtlasClient(http, auth), options.atlas_group, options.atlas_process, float(options.atlas_cap),
        options.atlas_max_pct, poll_interval=options.atlas_poll_interval,
    )
    guard.on_reading = lambda r: say(
        f"Atlas {r.phase}: connections latest {r.value.latest}, peak {r.value.peak} (threshold {guard.threshold:g})"
    )
    return guard


def _dry_run(options: BurstOptions, plan: runner.BurstPlan, factory: UpdateFactory, atlas_auth: Any) -> int:
    sample = runner.prepare_wave(factory, 0, 1)[0]
    headers = {k: (redact.MASK if k == runner.SECRET_HEADER else v) for k, v in runner.request_headers(plan.secret).items()}
    threshold = options.atlas_cap * options.atlas_max_pct / 100.0
    lines = [
        "synthetic-burst: DRY RUN - nothing sent, Atlas not contacted",
        f"  POST {plan.target.shown} (+ ?_cb=<unique token> per request)",
        f"  {plan.n} simultaneous requests x {plan.waves} wave(s), {plan.wave_interval:g}s apart, "
        f"each wave limited to {plan.timeout:g}s; no retries",
        f"  headers: {json.dumps(headers)}",
    ]
    if atlas_auth is not None:
        lines.append(
            f"  Atlas: {options.atlas_process} in project {options.atlas_group} via {atlas_auth.name}; abort above "
            f"{threshold:g} connections ({options.atlas_max_pct:g}% of {options.atlas_cap}), no further waves, exit 4"
        )
    else:
        lines.append("  Atlas: not watched (no --atlas-group/--atlas-process)")
    lines.append("  first update:")
    update = json.loads(sample.body.decode("utf-8"))
    lines += ["    " + line for line in json.dumps(update, indent=2, ensure_ascii=False).splitlines()]
    out = sys.stderr if options.json == "-" else sys.stdout
    out.write("\n".join(lines) + "\n")
    if options.json:
        plan_doc = {"dry_run": True, "url": plan.target.shown, "n": plan.n, "waves": plan.waves, "update": update}
        write_output(options.json, json.dumps(plan_doc, indent=2, ensure_ascii=False) + "\n")
    return EXIT_OK


def _verdict(result: dict[str, Any], say: _Say) -> int:
    """The exit code of a finished burst: 0, or 4 when the connection cap stopped it; a failed or
    interrupted burst raises."""
    refused = sum(n for code, n in result["summary"]["status_codes"].items() if code in ("401", "403"))
    if refused:
        # Still OK (the burst ran), but such a burst measured nothing: the bot refused the updates.
        say(f"warning: {refused} of {result['summary']['requests']} requests were refused with 401/403: "
            "check TELEGRAM_WEBHOOK_SECRET against the bot's webhook secret")
    decision = result["decision"]
    if decision == runner.ABORTED:
        reason = result["headline"].split(" - ", 1)[-1]
        print(f"cutover synthetic-burst: {redact.scrub(reason)}", file=sys.stderr, flush=True)
        return EXIT_GATE_FAILED
    if decision == runner.FAILED:
        raise CutoverError(result.get("failure") or "burst failed")
    if decision == runner.INTERRUPTED:
        raise KeyboardInterrupt
    return EXIT_OK


def run(options: BurstOptions) -> int:
    from cutover.burst.report import render

    say = _Say(options)
    _validate(options)
    target = parse_target(options.url)
    plan = runner.BurstPlan(
        target=target,
        command=options.command,
        n=options.n,
        waves=options.waves,
        wave_interval=options.wave_interval,
        timeout=options.timeout,
        secret=_secret(say),
        atlas_settle=options.atlas_settle,
    )
    factory = UpdateFactory.for_run(options.command)
    proxy = https_proxy(target)
    if proxy is not None:
        say(f"connecting through the HTTPS proxy {proxy[0]}:{proxy[1]} (HTTPS_PROXY; NO_PROXY to bypass)")
    if options.dry_run:
        return _dry_run(options, plan, factory, _guard(options, say, True) if options.atlas_group else None)
    guard = _guard(options, say, False) if options.atlas_group else None
    notify = say if options.verbose else (lambda _m: None)
    result = runner.run_burst(plan, factory, guard, notify=notify)
    text = render(result)
    (sys.stderr if options.json == "-" else sys.stdout).write(text)
    if options.json:
        write_output(options.json, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return _verdict(result, say)
