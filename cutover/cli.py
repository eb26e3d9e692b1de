"""Command line: one argparse parser, one place that turns errors into exit codes."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from cutover import __version__
from cutover.commands import COMMANDS, Command
from cutover.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, CutoverError


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _common_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("-q", "--quiet", action="store_true", help="no progress or informational output on stderr")
    parent.add_argument("-v", "--verbose", action="store_true", help="more detail on stderr (secrets are never shown)")
    return parent


def _load(command: Command):  # type: ignore[no-untyped-def]
    name = command.module if "." in command.module else f"cutover.commands.{command.module}"
    return importlib.import_module(name)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line. With `only` (the command about to run), only that command's module
    is imported and its options built; the others are listed by name and summary, which is all
    `cutover --help` shows of them (a run then starts without importing every command)."""
    parser = argparse.ArgumentParser(
        prog="cutover",
        formatter_class=_Formatter,
        description="Rollback and soak tooling for the Workers KV/D1 -> MongoDB cutover.",
        epilog=(
            "exit codes: 0 ok, 1 error, 2 usage, 3 refused (delete-guard without a terminal / in CI),\n"
            "            4 gate failed / differences found, 5 inconclusive, 130 interrupted\n\n"
            "example: cutover drill            # rehearse the whole rollback offline\n"
            "         cutover COMMAND --help   # options and examples of one command"
        ),
    )
    parser.add_argument("--version", action="version", version=f"cutover {__version__}")
    # A command that runs other commands by their command lines (the drill) gets this entry point
    # from here, so nothing below the CLI imports it.
    parser.set_defaults(_run_cutover=main)
    sub = parser.add_subparsers(dest="_subcommand", metavar="COMMAND")  # "_": never taken for a flag's dest
    parent = _common_parent()
    for command in COMMANDS:
        if only is not None and only != command.name and only not in command.aliases:
            sub.add_parser(command.name, aliases=list(command.aliases), help=command.summary, add_help=False)
            continue
        module = _load(command)
        doc = (module.__doc__ or command.summary).strip()
        example = getattr(module, "EXAMPLES", "")
        p = sub.add_parser(
            command.name,
            aliases=list(command.aliases),
            help=command.summary,
            description=doc,
            epilog=("examples:\n" + example.rstrip()) if example else None,
            formatter_class=_Formatter,
            parents=[parent],
        )
        module.add_arguments(p)
        p.set_defaults(_command=command)
    return parser


def _write_traceback(exc: BaseException) -> str | None:
    import tempfile
    import traceback

    from cutover.core import redact

    text = redact.scrub("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    try:
        fd, path = tempfile.mkstemp(prefix="cutover-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"cutover {__version__}\nargv: {redact.scrub(' '.join(sys.argv))}\n\n{text}")
        return path
    except OSError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    from cutover.core import interrupt, redact

    redact.register_env_secrets()
    if argv is None:
        interrupt.record_invocation(sys.argv[1:], interrupt.program_from_argv0(sys.argv[0] if sys.argv else ""))
    else:
        interrupt.record_invocation(argv)
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=next((word for word in words if not word.startswith("-")), ""))
    args = parser.parse_args(words)
    command: Command | None = getattr(args, "_command", None)
    if command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    from cutover.core import waits

    waits.configure(quiet=bool(getattr(args, "quiet", False)), verbose=bool(getattr(args, "verbose", False)))
    try:
        return int(_load(command).run(args) or 0)
    except CutoverError as exc:
        print(f"cutover {command.name}: {redact.scrub(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"cutover {command.name}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (e.g. `| head`): not an error worth a traceback.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the one place that catches everything
        where = _write_traceback(exc)
        line = redact.scrub(f"{type(exc).__name__}: {exc}")
        suffix = f" (traceback in {where})" if where else ""
        print(f"cutover {command.name}: unexpected error: {line}{suffix}", file=sys.stderr)
        return EXIT_ERROR
