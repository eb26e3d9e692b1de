"""SQL generation rate of backfill-d1 on synthetic trading_trades documents (target >= 100k docs/s).

Run by hand: `.venv/bin/python bench/d1.py [--docs 1000000]`. Documents are built in memory
(the value types a Mongo source yields) so the figure is the planner's and the renderer's
alone: mapping, literals, id assignment, statement packing and the file text.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cutover.d1.plan import D1Planner, PlanOptions, paused_gc, write_file  # noqa: E402
from cutover.d1.schema import parse_schema  # noqa: E402
from cutover.mongo.values import DateTime, Decimal128, Int64, ObjectId  # noqa: E402

SCHEMA = """CREATE TABLE trading_trades (
  id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, chat_id INTEGER, symbol TEXT, side TEXT, qty REAL,
  price REAL, fee TEXT, status TEXT, created_at TEXT, updated_at INTEGER, note TEXT, meta TEXT,
  is_open INTEGER DEFAULT 0);"""

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "TON/USDT", "DOGE/USDT"]
NOTES = ["", "tp hit", "manual close; user's request", "stop -- moved", "😀 moon", "partial fill\nretry"]


def make_documents(n: int, seed: int = 1) -> list[dict]:
    rnd = random.Random(seed)
    base = 1_700_000_000
    docs = []
    for i in range(n):
        doc = {
            "_id": ObjectId((base + i // 10).to_bytes(4, "big") + i.to_bytes(8, "big")),
            "userId": f"user-{rnd.randrange(50_000)}",
            "chatId": Int64(rnd.randrange(10**12)),
            "symbol": rnd.choice(SYMBOLS),
            "side": "buy" if i % 2 else "sell",
            "qty": round(rnd.uniform(0.001, 50), 6),
            "price": round(rnd.uniform(0.05, 70_000), 2),
            "fee": Decimal128(f"{rnd.randrange(10_000) / 100:.2f}"),
            "status": "open" if i % 7 else "closed",
            "createdAt": DateTime((base + i) * 1000),
            "updatedAt": DateTime((base + i) * 1000 + 500),
            "note": rnd.choice(NOTES),
            "meta": {"src": "bot", "v": 2, "tags": ["a", "b"]} if i % 3 == 0 else None,
            "isOpen": i % 7 != 0,
        }
        if i % 4:
            doc["legacy_id"] = i + 1
        docs.append(doc)
    return docs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=1_000_000)
    args = parser.parse_args()
    table = parse_schema(SCHEMA)["trading_trades"]
    t0 = time.process_time()
    docs = make_documents(args.docs)
    t_built = time.process_time()
    with paused_gc():  # as the command runs it
        wall = time.perf_counter()
        t1 = time.process_time()
        planner = D1Planner(PlanOptions(table, start_id=1))
        for doc in docs:
            planner.add(doc)
        t2 = time.process_time()
        plan = planner.plan()
        t3 = time.process_time()
        with open(os.devnull, "w", encoding="utf-8", newline="") as sink:  # as the command writes it
            write_file(plan, sink)
        t4 = time.process_time()
        wall = time.perf_counter() - wall
    size = plan.report.bytes
    total = t4 - t1
    print(f"documents built: {args.docs:,} in {t_built - t0:.1f}s (not counted)")
    print(f"render rows:     {t2 - t1:.2f}s")
    print(f"ids+statements:  {t3 - t2:.2f}s ({plan.report.statements:,} statements, {size / 1e6:.1f} MB)")
    print(f"file (utf-8+sha256): {t4 - t3:.2f}s")
    print(f"rate:            {args.docs / total:,.0f} docs/s of CPU time, {args.docs / wall:,.0f} docs/s wall "
          "(target >= 100,000)")
    assert plan.report.error_count == 0, plan.report.errors
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
