from __future__ import annotations

import subprocess
import sys

import pytest

from cutover import __version__, cli
from tests.support import raising_command


@pytest.fixture
def with_raising_command(monkeypatch):
    cmd = cli.Command("raise", (), "tests.support.raising_command", "test only")
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, cmd))


@pytest.mark.parametrize(
    ("what", "code"),
    [("ok", 0), ("error", 1), ("config", 1), ("usage", 2), ("refused", 3), ("gate", 4), ("inconclusive", 5),
     ("interrupt", 130), ("interrupted", 130)],
)
def test_exit_code_mapping(with_raising_command, capsys, what, code):
    assert cli.main(["raise", what]) == code
    err = capsys.readouterr().err
    if what in ("ok", "inconclusive"):
        assert err == ""  # a returned verdict: its report said it all, cli adds nothing
    elif what == "interrupt":
        assert err == "cutover raise: interrupted\n"
    else:
        assert err == f"cutover raise: {what} happened\n"


def test_unexpected_exception_is_one_line_and_a_scrubbed_traceback_file(with_raising_command, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    from cutover.core import redact

    redact.register_secret(raising_command.SECRET)
    assert cli.main(["raise", "crash"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected error: ValueError" in err and "traceback in" in err
    assert raising_command.SECRET not in err
    crash = next(tmp_path.glob("cutover-crash-*.txt")).read_text()
    assert "Traceback" in crash and raising_command.SECRET not in crash


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["no-such-command"])
    assert info.value.code == 2
    assert cli.main([]) == 2


@pytest.mark.parametrize("command", cli.COMMANDS, ids=lambda c: c.name)
def test_every_contract_command_and_alias_has_help_with_an_example(command, capsys):
    for name in (command.name, *command.aliases):
        with pytest.raises(SystemExit) as info:
            cli.main([name, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert "example" in out.lower() and "cutover " in out


def test_contract_command_names_and_aliases():
    names = {c.name: set(c.aliases) for c in cli.COMMANDS}
    assert names == {
        "analyze-soak": {"analyze:soak"},
        "synthetic-burst": {"burst:synthetic"},
        "backfill-kv": {"backfill-mongo-to-kv", "backfill:mongo:kv"},
        "backfill-d1": {"backfill-mongo-to-d1", "backfill:mongo:d1"},
        "delete-guard": {"wrangler-delete-guard"},
        "worker-src": set(),
        "verify": set(),
        "drill": set(),
        "fetch-logs": set(),
        "soak-watch": {"watch:soak"},
        "docs": set(),
    }


def test_python_dash_m_and_version():
    out = subprocess.run([sys.executable, "-m", "cutover", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"cutover {__version__}"


def test_real_ctrl_c_exits_130_with_one_line(tmp_path):
    """SIGINT while a command is blocked reading its input: one line, exit 130, no traceback."""
    import os
    import signal

    fifo = tmp_path / "logs.fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "cutover", "analyze-soak", "--input", str(fifo), "--jobs", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with open(fifo, "w") as writer:  # returns once the command has opened its input
            writer.write('{"event":"cmd_timing","cmd":"/x","durationMs":1,"cold":true}\n')
            writer.flush()
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err


def test_every_command_gets_the_cli_entry_point() -> None:
    """The drill runs real command lines through it: handed down, never imported from below."""
    parser = cli.build_parser()
    assert parser.parse_args(["drill"])._run_cutover is cli.main
    assert parser.parse_args(["docs"])._run_cutover is cli.main


@pytest.mark.parametrize(
    ("argv", "given", "options"),
    [
        (["synthetic-burst", "--url", "https://x.example/w"], {"url"}, "cutover.burst.run:BurstOptions"),
        (["delete-guard", "d1", "trading"], {"resource", "name"}, "cutover.guard.session:GuardOptions"),
        (["drill"], set(), "cutover.drill.run:DrillOptions"),
        (["worker-src", "list"], {"action"}, "cutover.worker.run:WorkerSrcOptions"),
        (["docs"], set(), "cutover.core.docs_files:DocsOptions"),
    ],
)
def test_options_defaults_are_the_command_lines(argv, given, options) -> None:
    """A feature called with its Options' defaults behaves as the command line without flags."""
    import dataclasses
    import importlib

    module, name = options.split(":")
    cls = getattr(importlib.import_module(module), name)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    args = vars(cli.build_parser().parse_args(argv))
    compared = [f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING and f.name in args and f.name not in given]
    assert len(compared) >= 2, compared
    for field in compared:
        default = next(f.default for f in dataclasses.fields(cls) if f.name == field)
        assert (field, args[field], type(args[field])) == (field, default, type(default))


def test_a_run_imports_only_its_own_command_and_the_overview_is_unchanged():
    # Only the command about to run is built in full (start-up time); `cutover --help` lists the
    # others by name and summary, exactly as when every command is built.
    assert cli.build_parser(only="").format_help() == cli.build_parser().format_help()
    code = ("import sys\nfrom cutover.cli import main\nrc = main(['worker-src', 'list'])\n"
            "print(rc, sorted(m for m in sys.modules if m.startswith('cutover.commands.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "0 ['cutover.commands._args', 'cutover.commands.worker_src']"  # _args: shared flag helpers
