"""Benchmark: analyze-soak vs DuckDB (read_ndjson + quantile_cont) on a generated 1M-record Logpush file.

Run by hand: .venv/bin/python bench/soak.py [--records 1000000] [--out bench/out/soak-logpush.ndjson]
Prints wall time and peak RSS (whole process tree) of both, and whether their figures agree.
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


def _record(rng: random.Random, i: int, ts: int) -> str:
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
        logs.append({"Level": "log", "Message": [json.dumps(timing, separators=(",", ":"))], "TimestampMs": ts + int(duration)})
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


def generate(path: Path, records: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    span_ms = 72 * 3600 * 1000
    with open(path, "w", encoding="utf-8") as out:
        for i in range(records):
            ts = START_MS + (i * span_ms) // records + rng.randint(0, 999)
            out.write(_record(rng, i, ts))
            out.write("\n")


DUCKDB_SQL = """
WITH inv AS (SELECT unnest(Logs) AS l FROM read_ndjson(?, columns={'Logs': 'STRUCT("Level" VARCHAR, "Message" JSON[], "TimestampMs" BIGINT)[]'})),
msg AS (SELECT unnest(l.Message) AS m FROM inv),
ev AS (SELECT CASE WHEN json_type(m) = 'VARCHAR' THEN TRY_CAST((m->>'$') AS JSON) ELSE m END AS e FROM msg),
t AS (SELECT e->>'cmd' AS cmd, coalesce((e->>'cold')::BOOLEAN, false) AS cold, (e->>'durationMs')::DOUBLE AS d
      FROM ev WHERE e->>'event' = 'cmd_timing')
SELECT cmd, cold, count(*) AS n, quantile_cont(d, 0.5), quantile_cont(d, 0.95), quantile_cont(d, 0.99), max(d)
FROM t GROUP BY cmd, cold ORDER BY cmd, cold
"""


def _duckdb_child(path: str) -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads={os.cpu_count() or 1}")
    rows = con.execute(DUCKDB_SQL, [path]).fetchall()
    print(json.dumps([[r[0], bool(r[1]), int(r[2]), r[3], r[4], r[5], r[6]] for r in rows]))


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


def _timed(argv: list) -> tuple:
    """Run argv; wall seconds, peak RSS (MiB) of its whole process tree sampled every 5 ms, stdout,
    and CPU seconds (user+sys, including the processes it waited for)."""
    import tempfile

    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        peak = 0
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss_kib(proc.pid))
            time.sleep(0.005)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else status >> 8
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode not in (0, 4, 5):
        raise SystemExit(f"{argv[:4]} failed ({proc.returncode}): {stderr[-2000:]}")
    return wall, peak / 1024.0, stdout, usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--out", default=str(REPO / "bench" / "out" / "soak-logpush.ndjson"))
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="alternate the two runs N times; report best and median (shared machines are noisy)")
    ap.add_argument("--duckdb-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.duckdb_child:
        _duckdb_child(args.duckdb_child)
        return 0
    path = Path(args.out)
    if args.regenerate or not path.exists():
        t = time.perf_counter()
        generate(path, args.records)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.1f}s")
    print(f"file: {path} {path.stat().st_size / 1e6:.0f} MB")
    # Warm the page cache once so neither side pays the first read.
    with open(path, "rb") as handle:
        while handle.read(1 << 24):
            pass
    duck_runs, ours_runs = [], []
    ours_argv = [sys.executable, "-m", "cutover", "analyze-soak", "--input", str(path), "--json", "-", "--output", os.devnull, "-q"]
    for _ in range(max(1, args.repeat)):
        duck_runs.append(_timed([sys.executable, __file__, "--duckdb-child", str(path)]))
        ours_runs.append(_timed(ours_argv))
    duck_out, ours_out = duck_runs[-1][2], ours_runs[-1][2]

    def line(name: str, runs: list) -> tuple:
        walls = sorted(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        cpu = min(r[3] for r in runs)
        print(f"{name:13s} wall best {walls[0]:6.2f}s  median {walls[len(walls) // 2]:6.2f}s  "
              f"(runs: {', '.join(f'{w:.2f}' for w in (r[0] for r in runs))})  CPU best {cpu:6.2f}s  "
              f"peak RSS (process tree) {rss:7.1f} MiB")
        return walls[0], walls[len(walls) // 2], rss

    duck_best, duck_median, duck_rss = line("duckdb:", duck_runs)
    ours_best, ours_median, ours_rss = line("analyze-soak:", ours_runs)
    print(f"ratio: wall best/best {ours_best / duck_best:.2f}, median/median {ours_median / duck_median:.2f} (target <= 0.60); "
          f"RSS {ours_rss / duck_rss:.2f} (target <= 1.00)")
    duck = {(r[0], r[1]): r[2:] for r in json.loads(duck_out)}
    ours = {(g["cmd"], g["cold"]): [g["count"], g["p50_ms"], g["p95_ms"], g["p99_ms"], g["max_ms"]] for g in json.loads(ours_out)["groups"]}
    same = duck.keys() == ours.keys() and all(
        duck[k][0] == ours[k][0] and all(abs(a - b) <= 1e-9 * max(1.0, abs(a)) for a, b in zip(duck[k][1:], ours[k][1:])) for k in duck
    )
    print(f"figures identical: {same} ({len(duck)} groups)")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
