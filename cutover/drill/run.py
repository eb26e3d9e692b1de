"""drill's work: make the work dir, pick wrangler or the python-only path, run, report."""
from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Callable, Iterator, List, Sequence

from cutover.core.fsutil import write_output
from cutover.drill.steps import Context, Step, run_steps
from cutover.drill.workspace import materialize
from cutover.errors import EXIT_ERROR, EXIT_OK, CutoverError


@dataclass(frozen=True)
class DrillOptions:
    """drill's settings; the defaults are the command line's. `run_cutover` runs one cutover
    command line in this process and returns its exit code: the drill rehearses the real
    commands, and the CLI hands its own entry point down (nothing here imports upward)."""

    run_cutover: Callable[[Sequence[str]], int]
    workdir: str | None = None
    keep: bool = False
    json: str | None = None
    wrangler: str | None = None
    no_wrangler: bool = False
    quiet: bool = False
    verbose: bool = False


def find_wrangler(options: DrillOptions) -> tuple:  # type: ignore[type-arg]
    """(argv or None, why): the wrangler to use, checked by running `--version`."""
    if options.no_wrangler:
        return None, "--no-wrangler: SQLite file + KV store file"
    argv = shlex.split(options.wrangler) if options.wrangler else ([shutil.which("wrangler")] if shutil.which("wrangler") else [])
    if not argv:
        return None, "wrangler not on PATH: SQLite file + KV store file"
    env = dict(os.environ, WRANGLER_SEND_METRICS="false")
    try:
        done = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=120, env=env,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        if options.wrangler:
            raise CutoverError(f"--wrangler {options.wrangler!r} does not run: {exc}") from None
        return None, f"wrangler found but does not run ({exc}): SQLite file + KV store file"
    if done.returncode != 0:
        if options.wrangler:
            raise CutoverError(f"--wrangler {options.wrangler!r}: `--version` exited {done.returncode}")
        return None, "wrangler found but `wrangler --version` failed: SQLite file + KV store file"
    version = (done.stdout.strip().splitlines() or ["?"])[-1]
    return argv, f"wrangler {version} --local"


@contextlib.contextmanager
def private_wrangler_home(path: str) -> Iterator[None]:
    """wrangler needs a writable HOME (it stats ~/.wrangler even for --local); a bastion's HOME
    may be read-only, and a rehearsal should not touch the operator's wrangler state anyway."""
    os.makedirs(path, exist_ok=True)
    saved = {k: os.environ.get(k) for k in ("HOME", "XDG_CONFIG_HOME")}
    os.environ["HOME"] = path
    os.environ["XDG_CONFIG_HOME"] = os.path.join(path, ".config")
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def table(steps: List[Step]) -> str:
    """One line per step, `ok` or `FAIL` first (the word the rollback runbook tells the operator to look for)."""
    width = max(len(s.name) for s in steps)
    return "\n".join(f"  {'ok  ' if s.ok else 'FAIL'}  {s.name.ljust(width)}  {s.detail}" for s in steps)


def verdict_line(ok: bool) -> str:
    return "ok: every step of the rollback works" if ok else "FAIL: see the steps above; each step's log is in the work dir's reports/"


def run(options: DrillOptions) -> int:
    out = sys.stderr if options.json == "-" else sys.stdout
    created = not options.workdir
    root = os.path.abspath(options.workdir) if options.workdir else tempfile.mkdtemp(prefix="cutover-drill-")
    if options.workdir:
        os.makedirs(root, exist_ok=True)
        if os.listdir(root) and not os.path.exists(os.path.join(root, "rollback.json")):
            raise CutoverError(f"--workdir {root} is not empty and not an earlier drill's; pick an empty directory")
        shutil.rmtree(os.path.join(root, "state"), ignore_errors=True)  # a rerun starts from empty targets
    started = time.time()
    ws = materialize(root, started)
    print(f"cutover drill: rehearsing the rollback in {root}", file=out)
    with private_wrangler_home(ws.path("state", "home")):
        wrangler, how = find_wrangler(options)
        print(f"  targets: {how}", file=out)
        ctx = Context(ws, wrangler, options.run_cutover)
        steps = run_steps(ctx, lambda step: None)
    ok = all(s.ok for s in steps)
    print(table(steps), file=out)
    kept = not created or options.keep or not ok
    verdict = verdict_line(ok)
    where = f"artifacts in {root}" if kept else "temp work dir removed (use --keep or --workdir to keep it)"
    print(f"{verdict} ({time.time() - started:.1f}s); {where}", file=out)
    # The --json shape (docs/reference.md) types "workdir" as a string: always the path; "kept" says whether it is still there.
    result = {"ok": ok, "workdir": root, "kept": kept, "steps": [s.__dict__ for s in steps], "targets": how}
    if options.json:
        write_output(options.json, json.dumps(result, indent=2) + "\n")
    if not kept:
        shutil.rmtree(root, ignore_errors=True)
    return EXIT_OK if ok else EXIT_ERROR
