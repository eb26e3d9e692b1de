"""Benchmark: backfill-kv restoring 1M small keys into the local Cloudflare KV fake, which
enforces Cloudflare's real limits (1,200 requests per 5 minutes, 10,000 pairs per bulk request).

Run by hand: .venv/bin/python bench/kv.py [--keys 1000000] [--put-keys 500] [--workdir bench/out/kv]
Reports bulk wall time, keys/s, requests, 429s (target: <= 60 s, 0 x 429) and the per-key
--mode put rate (at the default --rate 50 and the sustained rate the 5-minute budget allows).
The fake runs in this process; backfill-kv runs as a real subprocess (`python -m cutover`).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support import cf_kv  # noqa: E402
from tests.support.cfapi import TOKEN, FakeCloudflare  # noqa: E402
from tests.support.kvdata import NAMESPACE, assert_kv_matches, write_config, write_export  # noqa: E402


def backfill(cfg: Path, fake: FakeCloudflare, workdir: Path, *extra: str) -> tuple:
    env = {**os.environ, "CLOUDFLARE_API_TOKEN": TOKEN, "CLOUDFLARE_API_BASE_URL": fake.api_base,
           "PYTHONPATH": str(REPO)}
    env.pop("CLOUDFLARE_ACCOUNT_ID", None)
    summary = workdir / "summary.json"
    cmd = [sys.executable, "-m", "cutover", "backfill-kv", "--config", str(cfg), "--json", str(summary), "-q", *extra]
    # /usr/bin/time measures the backfill's own peak RSS (rusage of children would count the
    # forked copy of this process, which holds the expected state).
    timer = ["/usr/bin/time", "-f", "maxrss_kb=%M"] if os.path.exists("/usr/bin/time") else []
    started = time.monotonic()
    proc = subprocess.run(timer + cmd, cwd=str(workdir), env=env, capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit(f"backfill-kv failed ({proc.returncode}): {proc.stderr.strip()}")
    rss = [line.split("=", 1)[1] for line in proc.stderr.splitlines() if line.startswith("maxrss_kb=")]
    result = json.loads(summary.read_text())
    result["maxrss_mb"] = int(rss[-1]) // 1024 if rss else None
    return wall, result


def fresh_fake() -> FakeCloudflare:
    fake = FakeCloudflare()  # Cloudflare's real budget: 1,200 per 300 s, 5-minute block
    cf_kv.install(fake).create_namespace(NAMESPACE)
    return fake


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--put-keys", type=int, default=500, help="keys for the --mode put measurement (0 = skip)")
    parser.add_argument("--workdir", default=str(REPO / "bench" / "out" / "kv"))
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    now_ms = int(time.time() * 1000)
    t0 = time.monotonic()
    # One document in six is already expired (never written): 1.2M documents -> 1M live keys.
    documents = args.keys * 6 // 5
    # No keys with < 60 s left here: generating the file takes long enough for them to die.
    expected = write_export(workdir / "dump", documents, now_ms, with_invalid=False, short_lived=False)
    cfg = write_config(workdir / "rollback.json", workdir / "dump")
    size = (workdir / "dump" / "kv_sessions.json").stat().st_size
    print(f"generated {documents:,} documents ({size / 1e6:.0f} MB export, {len(expected):,} live keys) "
          f"in {time.monotonic() - t0:.1f}s")

    with fresh_fake() as fake:
        wall, summary = backfill(cfg, fake, workdir)
        mod = summary["modules"]["sessions"]
        print(f"bulk: {mod['written']:,} keys written in {wall:.1f}s wall ({mod['written'] / wall:,.0f} keys/s), "
              f"{mod['expired']:,} expired skipped, "
              f"{summary['requests']} requests, 429s seen by client {summary['throttled']}, "
              f"429s served by the fake {fake.rate_limited}, backfill peak RSS {summary['maxrss_mb']} MB")
        t1 = time.monotonic()
        assert_kv_matches(fake.kv, expected, time.time())  # type: ignore[attr-defined]
        print(f"      final KV state checked key by key ({time.monotonic() - t1:.1f}s): exact")
        verdict = "PASS" if wall <= 60 and fake.rate_limited == 0 else "MISS"
        print(f"      target <= 60 s and 0 x 429: {verdict}")

    if args.put_keys:
        put_dir = workdir / "put"
        put_dir.mkdir(exist_ok=True)
        put_expected = write_export(put_dir / "dump", args.put_keys, int(time.time() * 1000), with_invalid=False)
        put_cfg = write_config(put_dir / "rollback.json", put_dir / "dump")
        with fresh_fake() as fake:
            wall, summary = backfill(put_cfg, fake, put_dir, "--mode", "put")
            mod = summary["modules"]["sessions"]
            print(f"put (--rate 50): {mod['written']:,} keys in {wall:.1f}s ({mod['written'] / wall:.1f} keys/s incl. "
                  f"start-up), 429s {fake.rate_limited}")
            assert_kv_matches(fake.kv, put_expected, time.time())  # type: ignore[attr-defined]
        budget = int(1200 * 0.9)
        print(f"put, sustained: the budget allows {budget} requests per 300 s = {budget / 300:.1f} keys/s "
              f"(1M keys would take {1_000_000 / (budget / 300) / 3600:.0f} h; bulk is the way for large sets)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
