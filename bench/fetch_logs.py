"""How many requests does fetch-logs need for a 24 h soak? Run by hand:
    .venv/bin/python bench/fetch_logs.py [ROWS]
Serves ROWS rows (steady traffic plus two bursts) from the local Cloudflare fake and fetches
them with the defaults (2,000 rows a page, 1 h frames)."""
from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cutover.cli import main  # noqa: E402
from tests.support import cf_telemetry  # noqa: E402
from tests.support.cfapi import ACCOUNT_ID, TOKEN, FakeCloudflare  # noqa: E402

T0 = 1_795_802_400_000
DAY = 86_400_000


def rows(n: int) -> list:
    rng = random.Random(7)
    out = []
    for i in range(n):
        if i % 5 == 0:  # a fifth of the traffic in two 10-minute bursts
            ts = T0 + (3 * 3_600_000 if i % 2 else 15 * 3_600_000) + rng.randrange(600_000)
        else:
            ts = T0 + rng.randrange(DAY)
        src = {"event": "cmd_timing", "cmd": "/start", "durationMs": rng.random() * 300, "cold": i % 9 == 0}
        out.append(cf_telemetry.make_row(ts, src, request_id=f"r{i}", row_id=f"id-{i}"))
    return out


def bench(n: int) -> None:
    fake = FakeCloudflare().start()
    store = cf_telemetry.install(fake)
    store.add(rows(n))
    os.environ.update(CLOUDFLARE_API_TOKEN=TOKEN, CLOUDFLARE_ACCOUNT_ID=ACCOUNT_ID, CLOUDFLARE_API_BASE_URL=fake.api_base)
    with tempfile.TemporaryDirectory() as tmp:
        out, summary = os.path.join(tmp, "logs.ndjson.gz"), os.path.join(tmp, "s.json")
        started = time.monotonic()
        rc = main(["fetch-logs", "-q", "--script", "bot", "--since", "2026-11-27T18:00:00Z", "--until",
                   "2026-11-28T18:00:00Z", "--output", out, "--json", summary])
        elapsed = time.monotonic() - started
        with open(summary) as handle:
            s = json.load(handle)
        print(f"rows served {n:,}, fetched {s['rows']:,}, exit {rc}, {s['requests']} requests "
              f"({s['splits']} splits), {os.path.getsize(out):,} bytes gz, {elapsed:.1f}s against the local fake")
    fake.stop()


if __name__ == "__main__":
    bench(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
