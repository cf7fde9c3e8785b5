"""Whole-process ``fusionlab analyze`` of BERT-base against a whole-process ``onnx.load``.

Both run as fresh interpreters (imports included, as a user pays them): ``python -c
"import onnx; onnx.load(MODEL)"`` (weights read from the external data, as a plain
``onnx.load`` does) and ``fusionlab analyze MODEL --format json`` (graph only; analyze
reads no weight it does not need). The model comes from ``benchmarks/export_bert_base.py``.
Figures: best and median of ``--repeat`` runs, seconds, and the ratio of the bests.

    python benchmarks/bench_bert_base.py [/tmp/bench/bert_base.onnx] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def _times(cmd: list[str], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", type=Path, default=Path("/tmp/bench/bert_base.onnx"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not args.model.is_file():
        sys.exit(f"bench_bert_base: {args.model} not found; make it with benchmarks/export_bert_base.py")
    load = _times([sys.executable, "-c", f"import onnx; onnx.load({str(args.model)!r})"], args.repeat)
    analyze = _times([sys.executable, "-m", "fusionlab.cli", "analyze", str(args.model), "--format", "json"],
                     args.repeat)
    print("| command | best (s) | median (s) |\n| --- | --- | --- |")
    print(f"| `onnx.load` (whole process) | {min(load):.2f} | {statistics.median(load):.2f} |")
    print(f"| `fusionlab analyze` (whole process) | {min(analyze):.2f} | {statistics.median(analyze):.2f} |")
    print(f"\nratio analyze / onnx.load (best): {min(analyze) / min(load):.2f}")


if __name__ == "__main__":
    main()
