#!/usr/bin/env python3
"""Regenerate the flag tables in docs/commands/<command>.md from cutover's argparse parsers.

Each page holds one table between the BEGIN and END marker lines; everything around them is
hand-written. Run from the repository root:

    python3 tools/docgen.py           # rewrite the tables that changed
    python3 tools/docgen.py --check   # exit 1, naming the stale pages, if any table is out of date

A development tool: cutover itself never imports it (start-up stays as it is).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BEGIN = "<!-- flags:begin: generated from the --help texts by tools/docgen.py; edit those, not this table -->"
END = "<!-- flags:end -->"
REFRESH = "python3 tools/docgen.py"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _spelling(action: argparse.Action) -> str:
    if action.option_strings:
        if action.nargs == 0:
            return ", ".join(f"`{o}`" for o in action.option_strings)
        metavar = action.metavar or ("|".join(map(str, action.choices)) if action.choices else action.dest.upper())
        return ", ".join(f"`{o} {metavar}`" for o in action.option_strings)
    if action.metavar:
        return f"`{action.metavar}`"
    if action.choices:
        return f"`{'|'.join(map(str, action.choices))}`"
    return f"`{action.dest.upper()}`"


def _help(action: argparse.Action, prog: str) -> str:
    text = action.help or ""
    params = dict(vars(action), prog=prog)
    for name in list(params):
        if params[name] is argparse.SUPPRESS:
            del params[name]
    if params.get("choices") is not None:
        params["choices"] = ", ".join(map(str, params["choices"]))
    return text % params


def flag_table(parser: argparse.ArgumentParser) -> str:
    """The markdown table of one command's options; hidden (SUPPRESS) ones and --help left out."""
    rows = ["| flag | meaning |", "|---|---|"]
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        rows.append(f"| {_cell(_spelling(action))} | {_cell(_help(action, parser.prog))} |")
    return "\n".join(rows) + "\n"


def command_parsers() -> dict[str, argparse.ArgumentParser]:
    """Each command's own parser, by its main name (aliases share it)."""
    from cutover import cli

    root = cli.build_parser()
    sub = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction))
    return {command.name: sub.choices[command.name] for command in cli.COMMANDS}


def page_path(command: str) -> Path:
    return ROOT / "docs" / "commands" / f"{command}.md"


def render(text: str, table: str, where: str) -> str:
    """`text` with the part between the markers replaced by `table`."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise SystemExit(f"{where}: needs exactly one line\n  {BEGIN}\nand, after it, one line\n  {END}")
    return "".join(lines[: starts[0] + 1]) + table + "".join(lines[ends[0]:])


def stale_pages() -> dict[Path, str]:
    """Every page whose table differs from the parser's, with the text it should have."""
    out: dict[Path, str] = {}
    for name, parser in command_parsers().items():
        path = page_path(name)
        if not path.exists():
            raise SystemExit(f"{path.relative_to(ROOT)} is missing: every command has a page (copy another one)")
        text = path.read_text(encoding="utf-8")
        wanted = render(text, flag_table(parser), str(path.relative_to(ROOT)))
        if wanted != text:
            out[path] = wanted
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the flag tables in docs/commands/*.md.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a table is stale")
    args = parser.parse_args(argv)
    stale = stale_pages()
    for path, text in stale.items():
        rel = path.relative_to(ROOT)
        if args.check:
            print(f"stale flag table: {rel}", file=sys.stderr)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"updated {rel}")
    if args.check and stale:
        print(f"refresh with: {REFRESH}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
