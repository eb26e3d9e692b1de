"""Print the runbooks and the reference shipped inside cutover, for a bastion without a
browser. The text is the repository's docs/ (build.py copies it into the pyz), byte for byte."""
from __future__ import annotations

import argparse

EXAMPLES = """\
  cutover docs                         # the topics
  cutover docs rollback | less         # the rollback runbook, step by step
  cutover docs soak                    # the soak runbook (soak-watch)
  cutover docs config                  # the --config file of backfill-kv, backfill-d1, verify
  cutover docs backfill-kv             # one command's page (its flags, what it does, exit codes)
"""

# topic -> (file under docs/, one line on what it is). Commands are added from cutover.commands.COMMANDS.
TOPICS: dict[str, tuple[str, str]] = {
    "rollback": ("runbook-rollback.md", "runbook: put Mongo's writes back into KV and D1, prove it, delete safely"),
    "soak": ("runbook-soak.md", "runbook: timing module, burst, soak-watch, fetch-logs, the PROCEED/PIVOT decision"),
    "config": ("config.md", "the --config file: mongo, cloudflare, kv_modules, d1"),
    "sources": ("sources.md", "Mongo sources: export:, dataapi:, mongodb://, mongodb+srv://"),
    "reference": ("reference.md", "exit codes, environment, times, the cmd_timing event, --json shapes"),
    "security": ("security.md", "secrets, https, redaction, what the delete guard is and is not"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("topic", nargs="?", default="list", metavar="TOPIC",
                        help="list (default), rollback, soak, config, sources, reference, security, or a command name")


def topics() -> dict[str, tuple[str, str]]:
    """Every topic `cutover docs` serves: the fixed ones, then one page per command."""
    from cutover.commands import COMMANDS

    table = dict(TOPICS)
    for command in COMMANDS:
        table[command.name] = (f"commands/{command.name}.md", command.summary)
    return table


def read_doc(relative: str) -> bytes:
    """The bytes of docs/<relative>: from the pyz (cutover/_docs/) or, in a checkout, from docs/."""
    import os
    import pkgutil

    from cutover.errors import CutoverError

    try:
        data = pkgutil.get_data("cutover", f"_docs/{relative}")
    except OSError:
        data = None
    if data is None:
        import cutover

        checkout = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(cutover.__file__))), "docs", relative)
        try:
            with open(checkout, "rb") as handle:
                data = handle.read()
        except OSError:
            raise CutoverError(
                f"docs/{relative} is not part of this install of cutover; "
                "use cutover.pyz (python3 build.py) or read docs/ in the repository"
            ) from None
    return data


def run(args: argparse.Namespace) -> int:
    from cutover.core.fsutil import write_stdout_bytes
    from cutover.errors import UsageError

    table = topics()
    if args.topic == "list":
        width = max(len(name) for name in table)
        lines = [f"{name:<{width}}  {summary}" for name, (_, summary) in table.items()]
        write_stdout_bytes(("\n".join(lines) + "\n").encode("utf-8"))
        return 0
    from cutover.commands import COMMANDS

    topic = next((c.name for c in COMMANDS if args.topic in c.aliases), args.topic)
    if topic not in table:
        raise UsageError(f"no topic {args.topic!r}; see: cutover docs list")
    write_stdout_bytes(read_doc(table[topic][0]))
    return 0

