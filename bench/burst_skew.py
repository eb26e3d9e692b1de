"""Release skew of synthetic-burst waves against a local threaded webhook (run by hand).

    .venv/bin/python bench/burst_skew.py [--sizes 20,50,100] [--repeat 20]

Prints, per wave size, the median and worst release skew (first to last send instant) and the
worst barrier-to-last-send lag. The local server shares the CPU with the client, so these are
upper bounds for what the same machine achieves against a remote Worker.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cutover.burst.runner import prepare_wave, request_headers  # noqa: E402
from cutover.burst.target import parse_target  # noqa: E402
from cutover.burst.updates import UpdateFactory  # noqa: E402
from cutover.burst.wire import fire_wave  # noqa: E402
from tests.support.telegram_webhook import TelegramWebhook  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="20,50,100")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with TelegramWebhook(secret="bench-secret") as server:
        target = parse_target(server.url)
        for n in (int(s) for s in args.sizes.split(",")):
            skews, lags = [], []
            for r in range(args.repeat):
                factory = UpdateFactory("/ping", run_offset=r * 10_000)
                wave = fire_wave(target, prepare_wave(factory, 0, n), request_headers("bench-secret"), 30.0)
                bad = [o for o in wave.outcomes if o.status != 200]
                if bad or wave.release_skew_ms is None or wave.release_lag_ms is None:
                    print(f"n={n}: {len(bad)} failed requests, e.g. {bad[0].error_detail if bad else '?'}")
                    continue
                skews.append(wave.release_skew_ms)
                lags.append(wave.release_lag_ms)
            if skews:
                print(f"n={n:>4}  skew median {statistics.median(skews):6.2f} ms  worst {max(skews):6.2f} ms  "
                      f"lag worst {max(lags):6.2f} ms  ({len(skews)} waves)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
