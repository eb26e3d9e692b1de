"""Print the runbooks and the reference shipped inside cutover, for a bastion without a
browser. The text is the repository's docs/ (build.py copies it into the pyz), byte for byte."""
from __future__ import annotations

import argparse

from cutover.commands import _args

EXAMPLES = """\
  cutover docs                         # the topics
  cutover docs rollback | less         # the rollback runbook, step by step
  cutover docs soak                    # the soak runbook (soak-watch)
  cutover docs config                  # the --config file of backfill-kv, backfill-d1, verify
  cutover docs backfill-kv             # one command's page (its flags, what it does, exit codes)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", nargs="?", default="list", metavar="TOPIC",
                        help="list (default), rollback, soak, config, sources, reference, security, or a command name")


def run(args: argparse.Namespace) -> int:
    from cutover.commands import COMMANDS
    from cutover.core.docs_files import DocsOptions
    from cutover.core.docs_files import run as docs

    pages = tuple((c.name, tuple(c.aliases), c.summary) for c in COMMANDS)
    return docs(_args.options(DocsOptions, args, commands=pages))
