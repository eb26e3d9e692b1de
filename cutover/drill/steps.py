"""The drill's steps: each runs a real cutover command (in-process, output captured to a log
in the work directory) or applies the artifacts to a local KV and D1, and says pass/fail."""
from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence

from cutover.drill.workspace import BASELINE_COLD_PING_MS, D1_DATABASE, KV_MODULES, Workspace
from cutover.verify.kv_targets import LocalStoreKV, read_bulk_file


@dataclass
class Step:
    name: str
    ok: bool
    detail: str


@dataclass
class Context:
    ws: Workspace
    wrangler: List[str] | None  # None: apply to a local SQLite file and KV store file instead
    run_cutover: Callable[[Sequence[str]], int]  # the CLI's entry point: `cutover ARGV` in this process
    steps: List[Step] = field(default_factory=list)

    @property
    def kv_store(self) -> str:
        return self.ws.path("state", "kv-store.json")

    @property
    def d1_sqlite(self) -> str:
        return self.ws.path("state", "trading.sqlite")

    @property
    def state_dir(self) -> str:
        return self.ws.path("state")


def cutover(ctx: Context, log_name: str, argv: Sequence[str]) -> int:
    """Run `cutover ARGV` in this process; stdout and stderr go to reports/LOG_NAME.log."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = ctx.run_cutover(list(argv))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
    with open(ctx.ws.path("reports", f"{log_name}.log"), "w", encoding="utf-8") as handle:
        handle.write(f"$ cutover {' '.join(shlex.quote(a) for a in argv)}\n{out.getvalue()}\n[exit {code}]\n")
    return code


def wrangler(ctx: Context, args: Sequence[str], log_name: str) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    assert ctx.wrangler is not None
    env = dict(os.environ, WRANGLER_SEND_METRICS="false", NO_COLOR="1")
    env.pop("CLOUDFLARE_API_TOKEN", None)  # the drill never talks to Cloudflare
    argv = [*ctx.wrangler, *args, "--local", "--persist-to", ctx.state_dir]
    done = subprocess.run(argv, cwd=ctx.ws.root, env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    with open(ctx.ws.path("reports", f"{log_name}.log"), "a", encoding="utf-8") as handle:
        handle.write(f"$ {' '.join(shlex.quote(a) for a in argv)}\n{done.stdout}{done.stderr}[exit {done.returncode}]\n")
    return done


def _read_json(path: str) -> Dict[str, object]:
    with open(path, encoding="utf-8") as handle:
        return dict(json.load(handle))


# -- steps ------------------------------------------------------------------------------------

def step_backfill_kv(ctx: Context) -> Step:
    report = ctx.ws.path("reports", "backfill-kv.json")
    code = cutover(ctx, "backfill-kv", ["backfill-kv", "--config", ctx.ws.config, "--emit",
                                        ctx.ws.path("kv", "kv-{module}.json"), "--json", report,
                                        "--failed-keys", ctx.ws.path("reports", "backfill-kv.failed.ndjson"), "-q"])
    if code != 0:
        return Step("backfill-kv --emit", False, f"exit {code}, see reports/backfill-kv.log")
    files = [ctx.ws.kv_file(m) for m in KV_MODULES]
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        return Step("backfill-kv --emit", False, f"no bulk file {os.path.basename(missing[0])}")
    keys = sum(len(read_bulk_file(f)) for f in files)
    modules = _read_json(report).get("modules") or {}
    assert isinstance(modules, dict)
    expired = sum(int(m.get("expired", 0)) for m in modules.values())
    written = sum(int(m.get("written", 0)) for m in modules.values())
    # every key written must be in a file, and the sample has expired documents to skip
    ok = keys == written > 0 and expired > 0
    return Step("backfill-kv --emit", ok, f"{keys} keys in {len(files)} bulk files, {expired} expired documents skipped")


def step_backfill_d1(ctx: Context) -> Step:
    report = ctx.ws.path("reports", "backfill-d1.json")
    code = cutover(ctx, "backfill-d1", ["backfill-d1", "--config", ctx.ws.config, "--output", ctx.ws.d1_sql,
                                        "--json", report, "-q"])
    if code != 0 or not os.path.exists(ctx.ws.d1_sql):
        return Step("backfill-d1 --output", False, f"exit {code}, see reports/backfill-d1.log")
    summary = _read_json(report)
    ids = summary.get("ids") or {}
    assert isinstance(ids, dict)
    legacy, assigned = ids.get("legacy") or {}, ids.get("assigned") or {}
    ok = summary.get("rows") == summary.get("documents") and bool(legacy.get("count")) and bool(assigned.get("count"))
    return Step("backfill-d1 --output", ok,
                f"{summary.get('rows')} rows: {legacy.get('count')} legacy ids kept ({legacy.get('min')}..{legacy.get('max')}), "
                f"{assigned.get('count')} new (ids given when applied, from {ids.get('base')} up, via {ids.get('map_table')}), "
                f"{summary.get('statements')} statement(s)")


def step_apply_kv(ctx: Context) -> Step:
    keys = 0
    for module, spec in KV_MODULES.items():
        path = ctx.ws.kv_file(module)
        items = read_bulk_file(path)
        keys += len(items)
        if ctx.wrangler is None:
            LocalStoreKV(ctx.kv_store).apply_bulk(spec["namespace_id"], items)
        else:
            done = wrangler(ctx, ["kv", "bulk", "put", path, "--namespace-id", spec["namespace_id"]], "apply-kv")
            if done.returncode != 0:
                return Step("apply KV", False, f"wrangler kv bulk put exit {done.returncode}, see reports/apply-kv.log")
    where = "wrangler kv bulk put --local" if ctx.wrangler else f"local store {os.path.relpath(ctx.kv_store, ctx.ws.root)}"
    return Step("apply KV", True, f"{keys} keys via {where}")


def _apply_sql_file(ctx: Context, path: str, log_name: str) -> str | None:
    if ctx.wrangler is None:
        with open(path, encoding="utf-8") as handle:
            script = handle.read()
        conn = sqlite3.connect(ctx.d1_sqlite)
        try:
            conn.executescript(script)
            conn.commit()
        except sqlite3.Error as exc:
            return f"sqlite3: {exc}"
        finally:
            conn.close()
        return None
    done = wrangler(ctx, ["d1", "execute", D1_DATABASE, "--file", path, "-y"], log_name)
    return None if done.returncode == 0 else f"wrangler d1 execute exit {done.returncode}, see reports/{log_name}.log"


def step_apply_d1(ctx: Context, again: bool = False) -> Step:
    name = "re-apply D1 (upsert is rerunnable)" if again else "apply D1"
    if not again:
        problem = _apply_sql_file(ctx, ctx.ws.schema, "apply-d1")
        if problem:
            return Step(name, False, f"schema: {problem}")
    problem = _apply_sql_file(ctx, ctx.ws.d1_sql, "apply-d1")
    if problem:
        return Step(name, False, problem)
    where = "wrangler d1 execute --local" if ctx.wrangler else f"SQLite {os.path.relpath(ctx.d1_sqlite, ctx.ws.root)}"
    return Step(name, True, f"schema + backfill SQL via {where}" if not again else f"same file again via {where}")


def _verify_argv(ctx: Context, report: str) -> List[str]:
    argv = ["verify", "--config", ctx.ws.config, "--json", report, "-q"]
    if ctx.wrangler is None:
        return argv + ["--kv-file", ctx.kv_store, "--d1-sqlite", ctx.d1_sqlite]
    return argv + ["--local", "--wrangler", " ".join(shlex.quote(a) for a in ctx.wrangler), "--wrangler-dir",
                   ctx.ws.root, "--persist-to", ctx.state_dir]


def _verify_counts(report: str) -> str:
    """`KV 10 keys: 9 equal, 1 expiring …, 0 differing`: the parts always add up to the keys."""
    data = _read_json(report)
    parts = []
    modules = data.get("modules") or {}
    assert isinstance(modules, dict)
    equal = sum(int(m.get("equal", 0)) for m in modules.values())
    expiring = sum(int(m.get("expiring", 0)) for m in modules.values())
    diffs = sum(int(m.get(k, 0)) for m in modules.values() for k in ("missing", "extra", "different", "resurrected"))
    # A key whose document expired during the drill stays in KV up to its 60 s minimum TTL;
    # verify counts it apart (neither equal nor a difference), so the line names it.
    expiring_part = f", {expiring} expiring (document expired, KV keeps it up to 60 s)" if expiring else ""
    parts.append(f"KV {equal + expiring + diffs} keys: {equal} equal{expiring_part}, {diffs} differing")
    d1 = data.get("d1")
    if isinstance(d1, dict):
        d1_equal = int(d1.get("equal", 0))
        d1_diffs = sum(int(d1.get(k, 0)) for k in ("missing", "extra", "different"))
        parts.append(f"D1 {d1_equal + d1_diffs} rows: {d1_equal} equal, {d1_diffs} differing")
    return "; ".join(parts)


def step_verify(ctx: Context, name: str, expect_code: int, log_name: str) -> Step:
    report = ctx.ws.path("reports", f"{log_name}.json")
    code = cutover(ctx, log_name, _verify_argv(ctx, report))
    if not os.path.exists(report):
        return Step(name, False, f"exit {code}, no report; see reports/{log_name}.log")
    return Step(name, code == expect_code, f"exit {code} (want {expect_code}): {_verify_counts(report)}")


def step_tamper(ctx: Context) -> Step:
    """Break the restore on purpose (drop a KV key, change a D1 cell) so verify must notice."""
    victim_ns = KV_MODULES["sessions"]["namespace_id"]
    if ctx.wrangler is None:
        store = LocalStoreKV(ctx.kv_store)
        spaces = store.load()
        spaces[victim_ns].pop("session:1001", None)
        from cutover.core.fsutil import atomic_write_json
        from cutover.verify.kv_targets import STORE_FORMAT

        atomic_write_json(ctx.kv_store, {"format": STORE_FORMAT, "namespaces": spaces})
        conn = sqlite3.connect(ctx.d1_sqlite)
        with conn:
            conn.execute("UPDATE trading_trades SET qty = qty + 1 WHERE id = 101")
        conn.close()
    else:
        for args in (["kv", "key", "delete", "session:1001", "--namespace-id", victim_ns],
                     ["d1", "execute", D1_DATABASE, "--command", "UPDATE trading_trades SET qty = qty + 1 WHERE id = 101", "-y"]):
            done = wrangler(ctx, args, "tamper")
            if done.returncode != 0:
                return Step("tamper (drop a key, change a row)", False, f"exit {done.returncode}, see reports/tamper.log")
    return Step("tamper (drop a key, change a row)", True, "deleted KV session:1001, changed trading_trades id 101")


def step_repair(ctx: Context) -> Step:
    """A rerun of the same artifacts repairs the damage: the backfill output is idempotent."""
    kv = step_apply_kv(ctx)
    d1 = step_apply_d1(ctx, again=True)
    return Step("repair by re-applying the same files", kv.ok and d1.ok, f"{kv.detail}; {d1.detail}")


def step_analyze(ctx: Context) -> Step:
    report = ctx.ws.path("reports", "soak.json")
    code = cutover(ctx, "analyze-soak", ["analyze-soak", "--input", ctx.ws.soak_log, "--baseline-cold-ping-ms",
                                         str(BASELINE_COLD_PING_MS), "--output", ctx.ws.path("reports", "soak-decision.md"),
                                         "--chart", ctx.ws.path("reports", "soak.svg"), "--json", report, "-q"])
    if not os.path.exists(report):
        return Step("analyze-soak (sample soak log)", False, f"exit {code}, see reports/analyze-soak.log")
    data = _read_json(report)
    gate = data.get("gate") or {}
    assert isinstance(gate, dict)
    ok = code == 0 and data.get("decision") == "PROCEED"
    return Step("analyze-soak (sample soak log)", ok,
                f"{data.get('decision')}: cold p95 {_ms(gate.get('cold_p95_ms'))} <= {_ms(gate.get('threshold_ms'))} "
                f"({gate.get('cold_samples')} cold samples)")


def _ms(value: object) -> str:
    return f"{value:.1f} ms" if isinstance(value, (int, float)) else "n/a"


STEPS: List[Callable[[Context], Step]] = [
    step_backfill_kv,
    step_backfill_d1,
    step_apply_kv,
    step_apply_d1,
    lambda ctx: step_apply_d1(ctx, again=True),
    lambda ctx: step_verify(ctx, "verify restore equals Mongo", 0, "verify"),
    step_tamper,
    lambda ctx: step_verify(ctx, "verify catches the tampering", 4, "verify-tampered"),
    step_repair,
    lambda ctx: step_verify(ctx, "verify after repair", 0, "verify-repaired"),
    step_analyze,
]


def run_steps(ctx: Context, on_step: Callable[[Step], None]) -> List[Step]:
    for make in STEPS:
        started = time.monotonic()
        try:
            step = make(ctx)
        except Exception as exc:  # a drill reports a broken step and goes on; it never hides one
            step = Step(getattr(make, "__name__", "step").replace("step_", ""), False, f"{type(exc).__name__}: {exc}")
        step.detail += f" [{time.monotonic() - started:.1f}s]"
        ctx.steps.append(step)
        on_step(step)
    return ctx.steps
