"""Peak memory of ``fusionlab.analyze`` on an N-node Relu chain, and the size of its report.

The graph (``x -> Relu -> Relu -> ... -> y``, N nodes, shape [1, 64]) is built in memory
with ``onnx.helper``; each N runs in a fresh interpreter so the figures do not mix.
Figures: peak RSS (``ru_maxrss``) of the process before and after analyze, in MiB;
their difference is what analyze added at its peak; the JSON and text report sizes in
bytes (``report.dumps()`` and the rich text rendering). Memory linear in the graph shows
as a flat KiB/node.

    python benchmarks/bench_memory.py [--sizes 10000,25000,100000,200000] [--no-render]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys


def chain(n: int):
    """An N-node Relu chain as an ``onnx.ModelProto``."""
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Relu", [f"t{i}" if i else "x"], [f"t{i + 1}" if i + 1 < n else "y"],
                              name=f"relu_{i}") for i in range(n)]
    graph = helper.make_graph(nodes, "relu_chain",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def measure(n: int, render: bool = True) -> dict:
    """Run in the child: build, analyze, render (unless ``render`` is false); the figures."""
    import fusionlab
    from rich.console import Console

    from fusionlab.report import render_text

    model = chain(n)
    before = _peak_mib()
    report = fusionlab.analyze(model)
    after = _peak_mib()
    sizes = {"json_bytes": -1, "text_bytes": -1}
    if render:
        text = io.StringIO()
        render_text(report, Console(file=text, width=200, color_system=None))
        sizes = {"json_bytes": len(report.dumps()), "text_bytes": len(text.getvalue())}
    return {"nodes": n, "before_mib": before, "after_mib": after, "layers": len(report.layers),
            "diagnostics": len(report.diagnostics), **sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,25000,100000,200000")
    parser.add_argument("--no-render", action="store_true",
                        help="skip the JSON and text reports (-1 in their columns)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, not args.no_render)))
        return
    print(f"{'nodes':>8}{'RSS before':>12}{'RSS peak':>10}{'analyze':>9}{'KiB/node':>10}"
          f"{'layers':>8}{'diags':>7}{'JSON bytes':>12}{'text bytes':>12}")
    for n in (int(s) for s in args.sizes.split(",")):
        extra = ["--no-render"] if args.no_render else []
        out = subprocess.run([sys.executable, __file__, "--child", str(n), *extra], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        added = r["after_mib"] - r["before_mib"]
        print(f"{n:>8}{r['before_mib']:>11.0f}M{r['after_mib']:>9.0f}M{added:>8.0f}M{1024 * added / n:>10.2f}"
              f"{r['layers']:>8}{r['diagnostics']:>7}{r['json_bytes']:>12}{r['text_bytes']:>12}")


if __name__ == "__main__":
    main()
