"""Typed confirmation around `wrangler kv namespace delete` and `wrangler d1 delete`.

Shows what is about to go, asks the operator to type the exact namespace id / database name,
and only then runs wrangler (terminal attached) and returns its exit status. NEVER RUN IN CI:
when stdin is not a terminal (so `yes NAME | ...` cannot confirm) or CI is set to anything
non-empty, it refuses with exit 3 before doing anything else. Output may be piped (| tee).
Only the exact text ended by Enter confirms; EOF (Ctrl-D) anywhere means no.

What it is not: a lock. It stops accidents and unattended runs, not someone determined to
bypass it: a fake terminal (`yes NAME | script -qfec "cutover delete-guard d1 NAME" /dev/null`)
confirms, like any typed-name prompt (`gh repo delete`'s too). Access to the token is the real
control."""
from __future__ import annotations

import argparse

from cutover.commands import _args

EXAMPLES = """\
  cutover delete-guard d1 trading --require-backup trading-export.sql
  cutover delete-guard kv-namespace --namespace-id 0f2ac74b498b48028cb68387c421e279 --audit-log deletes.log
  cutover delete-guard kv-namespace --binding SESSIONS | tee delete-sessions.txt

exit codes: 0 wrangler deleted it (else wrangler's own status), 1 nothing deleted (mismatch,
empty input, EOF, unknown name/id, missing/old/incomplete backup), 3 refused (stdin not a terminal, or CI set), 130 Ctrl-C
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("resource", choices=("kv-namespace", "d1"), help="what to delete")
    parser.add_argument("name", nargs="?", metavar="NAME", help="d1: the database name (as wrangler d1 delete takes it)")
    parser.add_argument("--namespace-id", metavar="ID", help="kv-namespace: the namespace id to delete")
    parser.add_argument("--binding", metavar="NAME",
                        help="kv-namespace: delete the namespace bound as NAME in ./wrangler.toml (wrangler resolves it)")
    parser.add_argument("--preview", action="store_true", help="kv-namespace: the preview namespace of the binding")
    parser.add_argument("--wrangler", metavar="CMD", default="wrangler",
                        help="wrangler command to run, split like a shell would (default: wrangler on PATH; "
                        "e.g. 'npx wrangler')")
    parser.add_argument("--require-backup", metavar="FILE",
                        help="refuse unless FILE is newer than --max-backup-age and holds the data: d1, a SQL export "
                        "(wrangler d1 export) with every live table and its rows; kv-namespace, a wrangler kv bulk "
                        "put JSON file with every live key")
    parser.add_argument("--max-backup-age", metavar="AGE", default="24h",
                        help="with --require-backup: 24h (default), 90m, 2d, 3600s; a bare number is hours")
    parser.add_argument("--audit-log", metavar="FILE",
                        help="append JSON lines (UTC time, user, host, resource, outcome): the decision, then wrangler's result")


def run(args: argparse.Namespace) -> int:
    from cutover.guard.session import GuardOptions
    from cutover.guard.session import run as guard

    return guard(_args.options(GuardOptions, args))
