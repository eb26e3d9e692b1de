"""By hand: BSON decode rate and a full TLS+SCRAM scan rate of the native driver against the test server.

    .venv/bin/python bench/native_scan.py [N]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bson  # noqa: E402  (pymongo's, for the comparison and the server)
from bson.datetime_ms import DatetimeMS  # noqa: E402
from bson.int64 import Int64  # noqa: E402
from bson.objectid import ObjectId  # noqa: E402

from cutover.mongo.base import ScanOptions  # noqa: E402
from cutover.mongo.native import bson as native_bson  # noqa: E402
from cutover.mongo.native.source import NativeSource  # noqa: E402
from tests.support.mongo_server import MongoTestServer, ScramUser, make_certificate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", nargs="?", type=int, default=100_000, help="documents to decode and scan (default 100,000)")
    n = parser.parse_args().n
    docs = [
        {"_id": ObjectId(), "key": f"session:{i}", "value": {"user": i, "state": "menu", "items": [1, 2, i]},
         "chatId": Int64(10**10 + i), "updatedAt": DatetimeMS(1_700_000_000_000 + i), "expiresAt": DatetimeMS(1_900_000_000_000)}
        for i in range(n)
    ]
    raw = [bson.encode(d) for d in docs]
    t = time.perf_counter()
    for r in raw:
        native_bson.decode(r)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    for r in raw:
        bson.decode(r)
    theirs = time.perf_counter() - t
    print(f"decode {n:,} docs ({sum(map(len, raw)) / n:.0f} B each): native {n / ours:,.0f}/s, pymongo (C) {n / theirs:,.0f}/s")
    with tempfile.TemporaryDirectory() as tmp:
        cert = make_certificate(tmp)
        users = [ScramUser.create("reader", "bench-password")]
        with MongoTestServer(users=users, data={"bot": {"kv": docs}}, tls=cert) as server:
            uri = f"mongodb://reader:bench-password@{server.address}/bot?authSource=admin&tls=true&tlsCAFile={cert[0]}"
            t = time.perf_counter()
            with NativeSource(uri, "bot") as source:
                count = sum(len(b) for b in source.scan("kv", ScanOptions(batch_size=1000)))
            took = time.perf_counter() - t
    print(f"scan {count:,} docs over TLS+SCRAM (batch 1000, Python test server): {took:.2f}s, {count / took:,.0f} docs/s")


if __name__ == "__main__":
    main()
