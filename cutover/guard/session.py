"""One interactive delete-guard run: checks, summary, typed confirmation, wrangler, audit."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import List

from cutover.errors import CutoverError, InterruptedRun, RefusedError, UsageError
from cutover.guard import isatty
from cutover.guard.audit import AuditLog
from cutover.guard.backup import (
    check_backup,
    judge_d1_backup,
    judge_kv_backup,
    parse_age,
    read_d1_backup,
    read_kv_backup,
)
from cutover.guard.details import Facts, NotFound, lookup
from cutover.guard.target import Target, d1_target, kv_namespace_target, typed_matches, wrangler_argv


@dataclass(frozen=True)
class GuardOptions:
    """delete-guard's settings; the defaults are the command line's."""

    resource: str  # "kv-namespace" or "d1"
    name: str | None = None
    namespace_id: str | None = None
    binding: str | None = None
    preview: bool = False
    wrangler: str = "wrangler"
    require_backup: str | None = None
    max_backup_age: str = "24h"
    audit_log: str | None = None
    quiet: bool = False
    verbose: bool = False


def build_target(options: GuardOptions) -> Target:
    if options.resource == "d1":
        if not options.name:
            raise UsageError("d1 needs the database NAME: cutover delete-guard d1 NAME")
        if options.namespace_id or options.binding or options.preview:
            raise UsageError("--namespace-id/--binding/--preview are for kv-namespace, not d1")
        return d1_target(options.name)
    if options.name:
        raise UsageError("kv-namespace takes --namespace-id ID or --binding NAME, not a positional NAME")
    if bool(options.namespace_id) == bool(options.binding):
        raise UsageError("kv-namespace needs exactly one of --namespace-id ID or --binding NAME")
    return kv_namespace_target(options.namespace_id, options.binding, options.preview)


def resolve_wrangler(command: str) -> List[str]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"--wrangler {command!r}: {exc}") from None
    if not argv:
        raise UsageError("--wrangler is empty")
    found = shutil.which(argv[0])
    if not found:
        raise CutoverError(f"nothing deleted: wrangler command {argv[0]!r} not found on PATH (use --wrangler CMD)")
    return argv


def _say(line: str = "") -> None:
    print(line, flush=True)


def _facts(target: Target, account: str | None, for_backup: bool) -> Facts:
    """What the API says about the target; NotFound (a wrong name or id) stops the run."""
    from cutover.core import cloudflare

    if target.kind == "kv-namespace" and not target.namespace_id:
        return Facts(["details:   not looked up (a binding is resolved by wrangler from the wrangler config)"])
    token = cloudflare.api_token(required=False)
    if not account or not token:
        missing = "CLOUDFLARE_ACCOUNT_ID" if not account else "CLOUDFLARE_API_TOKEN"
        return Facts([f"details:   not looked up ({missing} not set)"])
    # Built before the try: an unsafe base URL stops the run (the token must not go there).
    # Not paced: a handful of interactive look-ups must not wait minutes for the shared budget.
    client = cloudflare.client(token, paced=False, timeout=10.0, retries=1, backoff_base=0.2, backoff_max=1.0,
                               max_retry_after=5.0)
    from cutover.core.redact import scrub

    try:
        return lookup(target, account, client, for_backup=for_backup)
    except NotFound:
        raise
    except Exception as exc:  # noqa: BLE001 - details are best effort; say why and go on
        reason = scrub(str(exc)) or type(exc).__name__
        return Facts([f"details:   Cloudflare API not reachable, going on without them ({reason})"])


def _judge_backup(target: Target, path: str, facts: Facts) -> str:
    """The backup's content against the live facts: a summary line, or CutoverError (nothing deleted)."""
    if target.kind == "d1":
        return judge_d1_backup(path, read_d1_backup(path), facts.tables)
    return judge_kv_backup(path, read_kv_backup(path), facts.keys)


def _discard_type_ahead() -> None:
    """Drop input typed before the prompt (a paste that landed early must not confirm).
    Called before the prompt is shown, so nothing typed in answer to it is lost."""
    try:
        import termios

        termios.tcflush(sys.stdin.fileno(), termios.TCIFLUSH)
    except (ImportError, OSError, ValueError):
        pass


def _read_answer() -> str | None:
    """One line from the terminal (with its newline unless EOF cut it short); None on EOF."""
    raw = sys.stdin.buffer.readline()
    if not raw:
        return None
    return raw.decode("utf-8", errors="surrogateescape")


def run_wrangler(argv: List[str]) -> int:
    """Run wrangler on our terminal; Ctrl-C reaches it too (same process group): wait for it."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        proc = subprocess.Popen(argv)
    except OSError as exc:
        raise CutoverError(f"could not start {argv[0]}: {exc.strerror}") from None
    while True:
        try:
            code = proc.wait()
            break
        except KeyboardInterrupt:
            continue
    return code if code >= 0 else 128 - code


def refuse_unattended() -> None:
    """RefusedError in CI or without a terminal on stdin: a guard that a pipe or a CI job can
    confirm is no guard at all. Checked first, before any other check or output."""
    if os.environ.get("CI"):
        raise RefusedError("refused: CI is set; delete-guard never runs in CI (nothing deleted)")
    stdin = sys.stdin
    if stdin is None or not isatty(stdin):
        raise RefusedError("refused: stdin is not a terminal; run it interactively (nothing deleted)")


def run(options: GuardOptions) -> int:
    """The whole guarded delete; returns wrangler's own exit status once it ran."""
    refuse_unattended()
    target = build_target(options)
    max_age = parse_age(options.max_backup_age)
    wrangler = resolve_wrangler(options.wrangler)
    backup_line = check_backup(options.require_backup, max_age) if options.require_backup else None
    audit = AuditLog(options.audit_log)
    account = os.environ.get("CLOUDFLARE_ACCOUNT_ID") or None
    try:
        facts = _facts(target, account, for_backup=bool(options.require_backup))
        if options.require_backup:
            backup_line = f"{backup_line}: {_judge_backup(target, options.require_backup, facts)}"
        return _confirm_and_delete(target, wrangler, account, backup_line, audit, facts)
    finally:
        audit.close()


def _show_and_ask(target: Target, argv: List[str], account: str | None, backup_line: str | None,
                  facts: Facts) -> str | None:
    """Print what will be deleted, prompt, and return the typed line (None on EOF)."""
    _say(f"About to DELETE {target.label}. This cannot be undone.")
    _say(f"  account:   {account or '(CLOUDFLARE_ACCOUNT_ID not set: wrangler picks the account)'}")
    for line in facts.lines:
        _say(f"  {line}")
    if backup_line:
        _say(f"  backup:    {backup_line}")
    _say(f"  will run:  {' '.join(shlex.quote(a) for a in argv)}")
    _discard_type_ahead()
    # The prompt must reach the operator's eyes: stderr normally (stdout may be `| tee`d), but
    # stdout when stderr is redirected away from the terminal (`2>errors.log`).
    stream = sys.stderr if isatty(sys.stderr) or not isatty(sys.stdout) else sys.stdout
    stream.write(f"Type the {target.confirm_what} to delete it ({target.confirm_text}); anything else cancels: ")
    stream.flush()
    return _read_answer()



def _confirm_and_delete(
    target: Target, wrangler: List[str], account: str | None, backup_line: str | None, audit: AuditLog, facts: Facts
) -> int:
    argv = wrangler_argv(wrangler, target)
    try:
        answer = _show_and_ask(target, argv, account, backup_line, facts)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        audit.write(target.audit_resource(), account, "cancelled: interrupted")
        raise InterruptedRun("interrupted; nothing deleted") from None
    if answer is None or not answer.endswith("\n"):
        # EOF anywhere means no: Ctrl-D after typing the name hands it over without Enter.
        sys.stderr.write("\n")
        audit.write(target.audit_resource(), account, "cancelled: end of input")
        if answer:
            raise CutoverError("nothing deleted: end of input (Ctrl-D) before Enter; only a line ended by Enter confirms")
        raise CutoverError("nothing deleted: no answer (end of input)")
    if not typed_matches(answer, target.confirm_text):
        typed = answer[:-1] if answer.endswith("\n") else answer
        audit.write(target.audit_resource(), account, "cancelled: typed text did not match")
        if not typed:
            raise CutoverError("nothing deleted: empty answer")
        raise CutoverError(f"nothing deleted: typed {typed!r}, which is not exactly {target.confirm_text!r}")
    audit.write(target.audit_resource(), account, "confirmed: running wrangler")
    code = run_wrangler(argv)
    outcome = "deleted" if code == 0 else "wrangler failed"
    try:
        audit.write(target.audit_resource(), account, outcome, wrangler_exit=code)
    except CutoverError as exc:
        # wrangler has already acted: its status is the answer; the audit problem is a warning.
        print(f"cutover delete-guard: warning: {exc}", file=sys.stderr)
    if code == 0:
        print(f"cutover delete-guard: wrangler exited 0: {target.label} deleted", file=sys.stderr)
    else:
        print(f"cutover delete-guard: wrangler exited {code}; see its output above", file=sys.stderr)
    return code
