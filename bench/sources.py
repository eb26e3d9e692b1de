#!/usr/bin/env python3
"""Export-source throughput and memory: our `export:` reader against a plain `json.loads` loop.

Generates a mongoexport-style NDJSON file of KV-session documents (relaxed EJSON v2: `$oid`,
`$date`, `$numberLong`), then runs each reader in its own process and prints docs/s, the ratio
to the plain loop, and peak RSS (ru_maxrss) - flat memory means RSS does not grow with N.

Run by hand:  python3 bench/sources.py [--docs 1000000] [--dir bench/out] [--runs 3] [--only NAME,...]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_STEPS = ["menu", "settings", "checkout", "await_amount", "await_symbol", "idle"]
_COMMANDS = ["/start", "/help", "/buy", "/sell", "/portfolio", "/settings", "/ping"]


def _iso(millis: int) -> str:
    seconds, ms = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


def session_document(rng: random.Random, i: int, history: int = 0) -> dict:
    """One KV-session document as the Mongo session storage keeps it (relaxed EJSON).

    `history`: that many recent-message entries in the value, for larger documents."""
    updated = 1_764_000_000_000 + i * 250 + rng.randrange(250)
    chat = rng.randrange(10**8, 10**10)
    value = {
        "step": rng.choice(_STEPS),
        "lang": rng.choice(["en", "de", "ru", "es"]),
        "lastCommand": rng.choice(_COMMANDS),
        "settings": {"notify": rng.random() < 0.5, "tz": "Europe/Berlin", "currency": "USD"},
        "cart": [{"sku": f"A{rng.randrange(100)}", "qty": rng.randrange(1, 5)} for _ in range(rng.randrange(0, 4))],
        "messageIds": [rng.randrange(10**6) for _ in range(rng.randrange(0, 6))],
    }
    if history:
        value["history"] = [
            {"cmd": rng.choice(_COMMANDS), "text": f"message text {rng.randrange(10**6)}", "ok": rng.random() < 0.9}
            for _ in range(history)
        ]
    return {
        "_id": {"$oid": f"{updated // 1000:08x}{rng.getrandbits(64):016x}"},
        "key": f"{chat}:{chat}",
        "value": value,
        "counter": rng.randrange(10**6),  # an int64 in Mongo; relaxed EJSON writes it as a plain number
        "expiresAt": {"$date": _iso(updated + 30 * 86_400_000 + rng.randrange(1000))},
        "updatedAt": {"$date": _iso(updated)},
    }


def generate(path: Path, docs: int, history: int = 0) -> None:
    rng = random.Random(20261128)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for i in range(docs):
            out.write(json.dumps(session_document(rng, i, history), separators=(",", ":")))
            out.write("\n")
    os.replace(tmp, path)


# -- the measured readers (each runs in a fresh process) ------------------------------------

def _read_plain(path: str) -> int:
    count = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            json.loads(line)
            count += 1
    return count


def _read_plain_binary(path: str) -> int:
    count = 0
    with open(path, "rb") as handle:
        for line in handle:
            json.loads(line)
            count += 1
    return count


def _read_plain_batches(path: str) -> int:
    # the plain loop holding batches of 1,000 as a backfill does: the cost of keeping documents alive
    count = 0
    batch: list = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            batch.append(json.loads(line))
            if len(batch) == 1000:
                count += len(batch)
                batch = []
    return count + len(batch)


def _read_documents(path: str) -> int:
    from cutover.mongo.export import ExportSource

    # skip_bad_lines: one read, no checking read first (the work a backfill pass does)
    source = ExportSource(path, skip_bad_lines=True)
    count = 0
    for _doc in source.documents(source.collections()[0]):
        count += 1
    return count


def _read_checked(path: str) -> int:
    from cutover.mongo.export import ExportSource

    # the default: the whole file is checked once before the first document is handed out
    source = ExportSource(path)
    count = 0
    for _doc in source.documents(source.collections()[0]):
        count += 1
    return count


def _array_path(path: Path) -> Path:
    return path.with_name(path.stem + "-array.json")


def generate_array(path: Path) -> None:
    """The same documents as one JSON array (mongoexport --jsonArray), streamed from the NDJSON file."""
    target = _array_path(path)
    tmp = target.with_suffix(".tmp")
    with open(path, encoding="utf-8") as lines, open(tmp, "w", encoding="utf-8") as out:
        out.write("[")
        for i, line in enumerate(lines):
            out.write(("," if i else "") + line.rstrip("\n"))
        out.write("]\n")
    os.replace(tmp, target)


def _read_array(path: str) -> int:
    from cutover.mongo.export import ExportSource

    # the same documents as a --jsonArray export: the streaming reader, not the line reader
    source = ExportSource(str(_array_path(Path(path))), skip_bad_lines=True)
    count = 0
    for _doc in source.documents(source.collections()[0]):
        count += 1
    return count


def _read_batches(path: str) -> int:
    from cutover.mongo.base import ScanOptions
    from cutover.mongo.export import ExportSource

    source = ExportSource(path, skip_bad_lines=True)
    return sum(len(batch) for batch in source.scan(source.collections()[0], ScanOptions(batch_size=1000)))


def _read_backfill(path: str) -> int:
    from cutover.mongo.base import ScanOptions
    from cutover.mongo.export import ExportSource

    # what backfill-kv pays: count() for the progress bar (the checking read), then scan() batches
    source = ExportSource(path)
    collection = source.collections()[0]
    options = ScanOptions(batch_size=1000)
    total = source.count(collection, options)
    count = sum(len(batch) for batch in source.scan(collection, options))
    assert count == total
    return count


def _scan_with_consumer(path: str, gc_off: bool) -> int:
    import gc

    from cutover.mongo.base import ScanOptions
    from cutover.mongo.export import ExportSource

    # a checked scan whose consumer allocates per document, as a sink does: the cyclic GC then
    # runs while a batch is held (the batch readers above allocate nothing, so it never does)
    source = ExportSource(path)
    collection = source.collections()[0]
    source.validate(collection)
    if gc_off:
        gc.disable()
    count = 0
    for batch in source.scan(collection, ScanOptions(batch_size=1000)):
        records = [(doc["key"], doc["value"], str(doc["_id"])) for doc in batch]
        count += len(records)
    gc.enable()
    return count


READERS = {
    "json.loads loop": _read_plain,
    "json.loads loop (binary lines)": _read_plain_binary,
    "export source, one read": _read_documents,
    "export source, batches of 1000": _read_batches,
    "export source, checked + read": _read_checked,
    "export source, JSON array": _read_array,
    "json.loads loop, batches of 1000": _read_plain_batches,
    "backfill: count + scan(1000)": _read_backfill,
    "check, then scan + consumer": lambda path: _scan_with_consumer(path, gc_off=False),
    "check, then scan + consumer, no GC": lambda path: _scan_with_consumer(path, gc_off=True),
}


def child(reader: str, path: str) -> None:
    import resource

    import cutover.mongo.export  # noqa: F401 - imported before the clock starts

    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    count = READERS[reader](path)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"docs": count, "seconds": wall, "cpu": cpu, "minflt": after.ru_minflt - before.ru_minflt,
                      "peak_rss_kb": after.ru_maxrss}))


def run_child(reader: str, path: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, __file__, "--child", reader, str(path)], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--dir", default=str(ROOT / "bench" / "out"))
    parser.add_argument("--runs", type=int, default=3, help="runs per reader (best CPU, median wall)")
    parser.add_argument("--history", type=int, default=0, help="history entries per session value (larger documents)")
    parser.add_argument("--only", default="", help="comma-separated substrings of reader names to run (the first reader always runs)")
    parser.add_argument("--child", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return 0
    suffix = f"-h{args.history}" if args.history else ""
    path = Path(args.dir) / f"kv_sessions-{args.docs}{suffix}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        print(f"generating {path} ({args.docs:,} documents)…", file=sys.stderr)
        generate(path, args.docs, args.history)
    wanted = [w for w in args.only.split(",") if w]
    names = [r for i, r in enumerate(READERS) if i == 0 or not wanted or any(w in r for w in wanted)]
    if any("array" in r for r in names) and not _array_path(path).exists():
        generate_array(path)
    size_mb = path.stat().st_size / 1e6
    print(f"file: {path}  {args.docs:,} docs  {size_mb:.0f} MB  ({size_mb * 1e6 / args.docs:.0f} bytes/doc)")
    print(f"python {sys.version.split()[0]}")
    print("(cpu: user+sys seconds of the reading process, best of the runs; wall: median - noisy on a shared machine)")
    runs: dict = {reader: [] for reader in names}
    for _ in range(args.runs):  # interleaved, so a burst of load elsewhere hits every reader
        for reader in names:
            runs[reader].append(run_child(reader, path))
    base_rate = None
    for reader, results in runs.items():
        cpu = min(r["cpu"] for r in results)
        wall = statistics.median(r["seconds"] for r in results)
        docs = results[0]["docs"]
        rate = docs / cpu
        base_rate = base_rate or rate
        peak = max(r["peak_rss_kb"] for r in results) / 1024
        print(
            f"{reader:34s} {rate:10,.0f} docs/s (cpu)  {rate / base_rate:6.1%} of loop  "
            f"cpu {cpu:6.2f} s  wall {wall:6.2f} s  peak RSS {peak:6.1f} MB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
