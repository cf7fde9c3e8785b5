"""Whole-process start-up of the fast commands: ``fusionlab --help``, ``--version``,
``rules`` and a usage error, each run as a fresh ``python -m fusionlab.cli`` process.
Figures: best and median of ``--repeat`` runs, seconds.

    python benchmarks/bench_startup.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {"--help": ["--help"], "--version": ["--version"], "rules": ["rules"],
            "usage error": ["analyze", "--no-such-option"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print("| command | best (s) | median (s) |\n| --- | --- | --- |")
    for label, argv in COMMANDS.items():
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "fusionlab.cli", *argv], cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t)
        print(f"| `fusionlab {' '.join(argv)}` | {min(times):.3f} | {statistics.median(times):.3f} |")


if __name__ == "__main__":
    main()
