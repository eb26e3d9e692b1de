"""Benchmark: two builds of cutover.pyz on the same export, runs alternated (A B, B A, ...).

On a shared machine whose speed drifts within minutes, one build's runs and then the other's
cannot separate a 10 % change from the drift; alternated runs can. Prints, per build, the median
and best wall time and CPU time (user + system of the whole process tree) of analyze-soak.

Run by hand: .venv/bin/python bench/ab_pyz.py FILE A.pyz B.pyz [--jobs 2] [--runs 9]
(build each with `python build.py --output X.pyz` from the commits to compare).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Tuple


def _run(pyz: str, path: str, jobs: int) -> Tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, pyz, "analyze-soak", "--input", path, "--json", os.devnull,
                    "--output", os.devnull, "-q", "--jobs", str(jobs)], check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file")
    ap.add_argument("pyz", nargs=2)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()
    times: Dict[str, List[Tuple[float, float]]] = {pyz: [] for pyz in args.pyz}
    for i in range(args.runs):
        for pyz in args.pyz if i % 2 == 0 else args.pyz[::-1]:
            times[pyz].append(_run(pyz, args.file, args.jobs))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for pyz, runs in times.items():
        walls, cpus = [w for w, _ in runs], [c for _, c in runs]
        print(f"{pyz}: wall median {statistics.median(walls):.2f} s (best {min(walls):.2f}), "
              f"CPU median {statistics.median(cpus):.2f} s (best {min(cpus):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
