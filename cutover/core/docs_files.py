"""The runbooks and reference shipped inside cutover (docs/, copied into the pyz by build.py),
served byte for byte by `cutover docs`."""
from __future__ import annotations

import os
import pkgutil
from dataclasses import dataclass
from typing import Dict, Tuple

from cutover.errors import EXIT_OK, CutoverError, UsageError

# topic -> (file under docs/, one line on what it is). Each command's page is added from the
# command registry the caller passes (DocsOptions.commands).
TOPICS: Dict[str, Tuple[str, str]] = {
    "rollback": ("runbook-rollback.md", "runbook: put Mongo's writes back into KV and D1, prove it, delete safely"),
    "soak": ("runbook-soak.md", "runbook: timing module, burst, soak-watch, fetch-logs, the PROCEED/PIVOT decision"),
    "config": ("config.md", "the --config file: mongo, cloudflare, kv_modules, d1"),
    "sources": ("sources.md", "Mongo sources: export:, dataapi:, mongodb://, mongodb+srv://"),
    "reference": ("reference.md", "exit codes, environment, times, the cmd_timing event, --json shapes"),
    "security": ("security.md", "secrets, https, redaction, what the delete guard is and is not"),
}

# (name, aliases, summary) of one command
CommandPage = Tuple[str, Tuple[str, ...], str]


@dataclass(frozen=True)
class DocsOptions:
    """`cutover docs TOPIC`; `commands` is the command registry (each command has a page)."""

    topic: str = "list"
    commands: Tuple[CommandPage, ...] = ()
    quiet: bool = False
    verbose: bool = False


def topics(commands: Tuple[CommandPage, ...]) -> Dict[str, Tuple[str, str]]:
    """Every topic `cutover docs` serves: the fixed ones, then one page per command."""
    table = dict(TOPICS)
    for name, _aliases, summary in commands:
        table[name] = (f"commands/{name}.md", summary)
    return table


def read_doc(relative: str) -> bytes:
    """The bytes of docs/<relative>: from the pyz (cutover/_docs/) or, in a checkout, from docs/."""
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


def run(options: DocsOptions) -> int:
    from cutover.core.fsutil import write_stdout_bytes

    table = topics(options.commands)
    if options.topic == "list":
        width = max(len(name) for name in table)
        lines = [f"{name:<{width}}  {summary}" for name, (_, summary) in table.items()]
        write_stdout_bytes(("\n".join(lines) + "\n").encode("utf-8"))
        return EXIT_OK
    topic = next((name for name, aliases, _ in options.commands if options.topic in aliases), options.topic)
    if topic not in table:
        raise UsageError(f"no topic {options.topic!r}; see: cutover docs list")
    write_stdout_bytes(read_doc(table[topic][0]))
    return EXIT_OK
