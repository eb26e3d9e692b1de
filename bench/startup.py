#!/usr/bin/env python3
"""Start-up cost: `cutover.pyz --help` against `python3 -c pass`, several runs, median ratio.

Run by hand after `python3 build.py`:  python3 bench/startup.py [--runs 30]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def median_wall(argv: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=str(ROOT))
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--pyz", default=str(ROOT / "dist" / "cutover.pyz"))
    args = parser.parse_args()
    cases = {
        "python3 -c pass": [sys.executable, "-c", "pass"],
        "cutover.pyz --help": [sys.executable, args.pyz, "--help"],
        "cutover.pyz --version": [sys.executable, args.pyz, "--version"],
        "python3 -m cutover --help": [sys.executable, "-m", "cutover", "--help"],
    }
    for argv in cases.values():  # warm the page cache
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=str(ROOT))
    base = None
    for name, argv in cases.items():
        wall = median_wall(argv, args.runs)
        base = base or wall
        print(f"{name:28s} median {wall * 1000:7.1f} ms   ratio {wall / base:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
