"""Benchmark: analyze-soak vs DuckDB (read_ndjson + quantile_cont) on generated Logpush files.

Three files of the same records: "clean" (every cmd_timing logged as timing.js's JSON string),
"objects" (30 % logged as objects, console.log(event)) and "damaged" (that, plus 0.2 % of lines
cut short at a random byte). DuckDB runs twice on each: "same-work" computes every figure
analyze-soak reports (groups and counts), "groups" only the per-(cmd, cold) percentiles. Both are
compared with our figures, and ours with the exact path's (--exact).

Run by hand: .venv/bin/python bench/soak.py [--records 400000] [--variant all] [--repeat 5] [--pyz FILE]
Times the pyz an operator runs (built from this checkout unless --pyz names one).
Prints, per file, wall time (median of alternated runs), CPU time and peak RSS (whole process
tree, in a separate run) of each, the ratios, and whether the figures agree.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ["/start", "/help", "/balance", "/trade", "/settings", "/portfolio", "callback_query", "message"]
START_MS = 1764288000000  # 2025-11-28T00:00:00Z


def _record(rng: random.Random, i: int, ts: int, object_share: float = 0.0) -> str:
    cold = rng.random() < 0.03
    cmd = rng.choice(COMMANDS)
    base = 900.0 if cold else 120.0
    duration = round(rng.lognormvariate(0, 0.5) * base, 3)
    age = 0 if cold else rng.randint(1000, 3_600_000)
    logs = [
        {"Level": "log", "Message": [json.dumps({"event": "request", "cold": cold, "isolateAgeMs": age}, separators=(",", ":"))], "TimestampMs": ts},
    ]
    outcome = "ok"
    exceptions = []
    roll = rng.random()
    if roll < 0.9:
        timing = {"event": "cmd_timing", "cmd": cmd, "durationMs": duration, "cold": cold, "isolateAgeMs": age,
                  "marks": {"mongo_connect": round(duration * 0.6, 3), "handler": round(duration * 0.3, 3)}}
        if rng.random() < 0.01:
            del timing["cold"]
        # console.log(JSON.stringify(event)) as timing.js does, or console.log(event): Logpush keeps the object
        item = timing if object_share and rng.random() < object_share else json.dumps(timing, separators=(",", ":"))
        logs.append({"Level": "log", "Message": [item], "TimestampMs": ts + int(duration)})
    elif roll < 0.902:
        outcome = "exceededCpu"
    elif roll < 0.903:
        logs.append({"Level": "error", "Message": ["dual-write to KV failed: 503 Service Unavailable"], "TimestampMs": ts + 5})
    elif roll < 0.904:
        exceptions.append({"Name": "MongoServerSelectionError", "Message": "Server selection timed out after 30000 ms", "TimestampMs": ts + 30000})
        outcome = "exception"
    record = {
        "CPUTimeMs": rng.randint(1, 12), "DispatchNamespace": "", "Entrypoint": "",
        "Event": {"RayID": f"{rng.getrandbits(64):016x}", "Request": {"Method": "POST", "URL": f"https://telegram-bot.example.workers.dev/telegram/webhook?cb={i}"}, "Response": {"Status": 200}},
        "EventTimestampMs": ts, "EventType": "fetch", "Exceptions": exceptions, "Logs": logs, "Outcome": outcome,
        "ScriptName": "telegram-bot", "ScriptTags": [], "ScriptVersion": {"Id": "6a1d0f3e-2b4c-4d5e-8f90-123456789abc", "Message": "cutover soak build", "Tag": "soak"},
        "WallTimeMs": int(duration) + rng.randint(0, 5),
    }
    return json.dumps(record, separators=(",", ":"))


# The messy exports: a share of cmd_timing events logged as objects, and a share of lines cut short
# (a record cut at a random byte, as a crashed or interrupted writer leaves it; the next record
# starts on the next line).
VARIANTS = {"clean": (0.0, 0.0), "objects": (0.3, 0.0), "damaged": (0.3, 0.002)}


def generate(path: Path, records: int, seed: int = 7, object_share: float = 0.0, cut_share: float = 0.0) -> None:
    rng = random.Random(seed)
    cuts = random.Random(seed + 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    span_ms = 72 * 3600 * 1000
    with open(path, "w", encoding="utf-8") as out:
        for i in range(records):
            ts = START_MS + (i * span_ms) // records + rng.randint(0, 999)
            line = _record(rng, i, ts, object_share)
            if cut_share and cuts.random() < cut_share:
                line = line[: cuts.randrange(1, len(line) - 1)]
            out.write(line)
            out.write("\n")


# What analyze-soak reports, in DuckDB: per (cmd, cold) count/p50/p95/p99/max ("groups only", the
# least DuckDB can be asked for) and, for the same work, also the counts the report gives: records,
# non-ok outcomes, dual-write failures and Mongo connection errors by the documented counting rules (once per
# log entry: a structured event, or message text matching the pattern; exceptions as "Name: Message")
# and cmd_timing without `cold`.
_DUCK_EV = "(CASE WHEN json_type(m) = 'VARCHAR' THEN TRY_CAST(m->>'$' AS JSON) ELSE m END)"
_DUCK_IS_EV = f"coalesce(json_type({_DUCK_EV}) = 'OBJECT' AND json_type({_DUCK_EV}, '$.event') = 'VARCHAR', false)"
_DUCK_TEXT = "(CASE WHEN json_type(m) = 'VARCHAR' THEN m->>'$' ELSE m::VARCHAR END)"
_DUCK_DUAL = r"'(?i)dual.?write.*(fail|error)'"
_DUCK_MONGO = r"'Mongo(Network|NetworkTimeout|ServerSelection|TopologyClosed|PoolClosed)Error'"


# Only entries whose text holds "dual" or "mongo" can match: the cheap test first (the fastest of
# the forms tried, ~7 % faster than evaluating every entry).
_DUCK_CANDIDATE = "(contains(lower(l.Message::VARCHAR), 'dual') OR contains(lower(l.Message::VARCHAR), 'mongo'))"


def _duck_entry_flag(kind: str, pattern: str) -> str:
    return (f"(CASE WHEN {_DUCK_CANDIDATE} THEN list_bool_or(list_transform(l.Message, lambda m: CASE WHEN {_DUCK_IS_EV} "
            f"THEN {_DUCK_EV}->>'event' = '{kind}' ELSE regexp_matches({_DUCK_TEXT}, {pattern}) END)) ELSE false END)")


_DUCK_TIMING = f"""
ev AS (SELECT {_DUCK_EV} AS e FROM (SELECT unnest(l.Message) AS m FROM ent)),
t AS (SELECT e->>'cmd' AS cmd, coalesce((e->>'cold')::BOOLEAN, false) AS cold, (e->>'durationMs')::DOUBLE AS d,
             (e->>'cold') IS NULL AS unknown FROM ev WHERE e->>'event' = 'cmd_timing')"""
_DUCK_GROUPS = ("SELECT 'group', cmd, cold, count(*), quantile_cont(d, 0.5), quantile_cont(d, 0.95), "
                "quantile_cont(d, 0.99), max(d) FROM t GROUP BY cmd, cold")
DUCKDB_SQL = {
    "groups": f"""
WITH ent AS (SELECT unnest(Logs) AS l FROM read_ndjson(?, ignore_errors=true, columns={{'Logs': 'STRUCT("Level" VARCHAR, "Message" JSON[], "TimestampMs" BIGINT)[]'}})),
{_DUCK_TIMING}
{_DUCK_GROUPS}""",
    "same-work": f"""
WITH rec AS MATERIALIZED (SELECT Outcome, Logs, Exceptions FROM read_ndjson(?, ignore_errors=true, columns={{
    'Outcome': 'VARCHAR',
    'Logs': 'STRUCT("Level" VARCHAR, "Message" JSON[], "TimestampMs" BIGINT)[]',
    'Exceptions': 'STRUCT("Name" VARCHAR, "Message" VARCHAR, "TimestampMs" BIGINT)[]'}})),
ent AS (SELECT unnest(Logs) AS l FROM rec),
flags AS (SELECT {_duck_entry_flag('dual_write_secondary_failure', _DUCK_DUAL)} AS dual,
                 {_duck_entry_flag('mongo_connection_error', _DUCK_MONGO)} AS mongo FROM ent),
exc AS (SELECT CASE WHEN coalesce(x.Name, '') <> '' THEN x.Name || ': ' || coalesce(x.Message, '')
                    ELSE coalesce(x.Message, '') END AS text FROM (SELECT unnest(Exceptions) AS x FROM rec)),
{_DUCK_TIMING}
{_DUCK_GROUPS}
UNION ALL SELECT 'records', NULL, NULL, count(*) FILTER (WHERE Outcome IS NOT NULL), NULL, NULL, NULL, NULL FROM rec
UNION ALL SELECT 'malformed', NULL, NULL, count(*) FILTER (WHERE Outcome IS NULL), NULL, NULL, NULL, NULL FROM rec
UNION ALL SELECT 'outcome', Outcome, NULL, count(*), NULL, NULL, NULL, NULL FROM rec WHERE Outcome <> 'ok' GROUP BY Outcome
UNION ALL SELECT 'dual_write_failures', NULL, NULL, (SELECT count(*) FROM flags WHERE dual)
          + (SELECT count(*) FROM exc WHERE regexp_matches(text, {_DUCK_DUAL})), NULL, NULL, NULL, NULL
UNION ALL SELECT 'mongo_connection_errors', NULL, NULL, (SELECT count(*) FROM flags WHERE mongo)
          + (SELECT count(*) FROM exc WHERE regexp_matches(text, {_DUCK_MONGO})), NULL, NULL, NULL, NULL
UNION ALL SELECT 'cold_unknown', NULL, NULL, count(*) FILTER (WHERE unknown), NULL, NULL, NULL, NULL FROM t""",
}


def _duckdb_child(query: str, path: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads={os.cpu_count() or 1}")
    groups, counts = [], {}
    for kind, name, cold, n, p50, p95, p99, top in con.execute(DUCKDB_SQL[query], [path]).fetchall():
        if kind == "group":
            groups.append([name, bool(cold), int(n), p50, p95, p99, top])
        elif kind == "outcome":
            counts.setdefault("outcomes", {})[name] = int(n)
        else:
            counts[kind] = int(n)
    print(json.dumps({"groups": groups, "counts": counts}))


def _tree_rss_kib(root: int) -> int:
    """Sum of VmRSS over `root` and all its descendants (from /proc)."""
    children: dict = {}
    rss: dict = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


def _timed(argv: list, sample_memory: bool) -> tuple:
    """Run argv; wall seconds, peak RSS (MiB) of its whole process tree, stdout, and CPU seconds
    (user+sys, including the processes it waited for). Memory is sampled from /proc every 5 ms
    only when asked: the sampling takes CPU from the 2 cores both tools need, so timed runs and
    memory runs are separate."""
    import tempfile

    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        peak = 0
        status, usage = 0, None
        while sample_memory:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss_kib(proc.pid))
            time.sleep(0.005)
        else:
            _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode not in (0, 4, 5):
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}): {stderr[-2000:]}")
    return wall, peak / 1024.0, stdout, usage.ru_utime + usage.ru_stime


def _same_groups(duck: list, ours: list) -> bool:
    theirs = {(g[0], g[1]): g[2:] for g in duck}
    mine = {(g["cmd"], g["cold"]): [g["count"], g["p50_ms"], g["p95_ms"], g["p99_ms"], g["max_ms"]] for g in ours}
    return theirs.keys() == mine.keys() and all(
        theirs[k][0] == mine[k][0] and all(abs(a - b) <= 1e-9 * max(1.0, abs(a)) for a, b in zip(theirs[k][1:], mine[k][1:]))
        for k in theirs
    )


def _same_counts(duck: dict, ours: dict) -> bool:
    return all(duck[name] == ours[name] for name in duck if name != "outcomes") and duck.get("outcomes", {}) == ours["outcomes"]


def _median(values: list) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def _build_pyz(out_dir: Path) -> Path:
    """The pyz an operator runs (its modules precompiled), built from this checkout."""
    pyz = out_dir / "cutover.pyz"
    subprocess.run([sys.executable, str(REPO / "build.py"), "--output", str(pyz)], check=True, capture_output=True)
    return pyz


def _bench_file(path: Path, repeat: int, pyz: Path) -> dict:
    """Alternated timed runs of each tool, then one memory run each and one exact-path run."""
    with open(path, "rb") as handle:  # warm the page cache once so no side pays the first read
        while handle.read(1 << 24):
            pass
    ours_argv = [sys.executable, str(pyz), "analyze-soak", "--input", str(path), "--json", "-", "--output", os.devnull, "-q"]
    argvs = {
        "analyze-soak": ours_argv,
        "duckdb groups": [sys.executable, __file__, "--duckdb-child", "groups", str(path)],
        "duckdb same-work": [sys.executable, __file__, "--duckdb-child", "same-work", str(path)],
    }
    runs: dict = {name: [] for name in argvs}
    for _ in range(max(1, repeat)):  # alternated, so a burst of load elsewhere hits every tool
        for name, argv in argvs.items():
            runs[name].append(_timed(argv, sample_memory=False))
    peaks = {name: _timed(argv, sample_memory=True)[1] for name, argv in argvs.items()}
    exact = json.loads(_timed(ours_argv + ["--exact"], sample_memory=False)[2])
    result = {}
    for name, results in runs.items():
        result[name] = {"walls": [r[0] for r in results], "wall": _median([r[0] for r in results]),
                        "cpu": _median([r[3] for r in results]), "rss": peaks[name], "out": json.loads(results[-1][2])}
    ours = result["analyze-soak"]["out"]
    ours_counts = dict(ours["counts"], outcomes=ours["counts"].get("outcomes", {}))
    result["same as duckdb"] = (_same_groups(result["duckdb same-work"]["out"]["groups"], ours["groups"])
                                and _same_groups(result["duckdb groups"]["out"]["groups"], ours["groups"])
                                and _same_counts(result["duckdb same-work"]["out"]["counts"], ours_counts))
    result["same as exact"] = ours["groups"] == exact["groups"] and ours["counts"] == exact["counts"] and ours["hourly"] == exact["hourly"]
    result["fast records"] = ours["inputs"][0]["fast_path_records"]
    result["records"] = ours["counts"]["records"]
    result["malformed"] = ours["counts"]["malformed"]
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=400_000)
    ap.add_argument("--variant", choices=[*VARIANTS, "all"], default="all")
    ap.add_argument("--out-dir", default=str(REPO / "bench" / "out"))
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--repeat", type=int, default=5, help="alternate the runs N times; report medians (shared machines are noisy)")
    ap.add_argument("--pyz", type=Path, help="the cutover.pyz to time (default: built from this checkout into --out-dir)")
    ap.add_argument("--duckdb-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.duckdb_child:
        _duckdb_child(*args.duckdb_child)
        return 0
    names = list(VARIANTS) if args.variant == "all" else [args.variant]
    with open("/proc/loadavg") as handle:
        print(f"load average before: {handle.read().split()[0]} on {os.cpu_count()} CPUs")
    pyz = args.pyz or _build_pyz(Path(args.out_dir))
    rows = []
    for name in names:
        path = Path(args.out_dir) / f"soak-logpush-{name}-{args.records}.ndjson"
        if args.regenerate or not path.exists():
            t = time.perf_counter()
            generate(path, args.records, object_share=VARIANTS[name][0], cut_share=VARIANTS[name][1])
            print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f}s")
        r = _bench_file(path, args.repeat, pyz)
        for tool in ("analyze-soak", "duckdb groups", "duckdb same-work"):
            print(f"{name:8s} {tool + ':':18s} wall median {r[tool]['wall']:6.2f}s (runs: {', '.join(f'{w:.2f}' for w in r[tool]['walls'])})  "
                  f"CPU median {r[tool]['cpu']:6.2f}s  peak RSS {r[tool]['rss']:7.1f} MiB")
        rows.append((name, path.stat().st_size / 1e6, r))
    with open("/proc/loadavg") as handle:
        print(f"load average after: {handle.read().split()[0]}")
    print()
    print("| file | analyze-soak wall / CPU / RSS | ÷ DuckDB percentiles (wall, RSS) | ÷ DuckDB same figures (wall, RSS) "
          "| fast-path records | figures = DuckDB, = exact path |")
    print("|---|---|---|---|---|---|")
    ok = True
    for name, mb, r in rows:
        ours, groups, same = r["analyze-soak"], r["duckdb groups"], r["duckdb same-work"]
        ok = ok and r["same as duckdb"] and r["same as exact"]
        print(f"| {name} ({mb:.0f} MB, {r['records']:,} records, {r['malformed']} malformed) "
              f"| {ours['wall']:.2f} s / {ours['cpu']:.2f} s / {ours['rss']:.0f} MiB "
              f"| {ours['wall'] / groups['wall']:.2f}×, {ours['rss'] / groups['rss']:.2f}× "
              f"| {ours['wall'] / same['wall']:.2f}×, {ours['rss'] / same['rss']:.2f}× "
              f"| {r['fast records']:,} | {r['same as duckdb']}, {r['same as exact']} |")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
