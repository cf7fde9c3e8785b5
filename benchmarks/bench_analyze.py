"""Time ``fusionlab.analyze`` against ``onnx.load`` of the same file (weights excluded).

Graphs:

* ``bert-base``: a BERT-base-size export (``benchmarks/export_bert_base.py``; pass
  ``--bert-base PATH``; skipped if absent);
* ``stack-1k`` / ``stack-10k`` / ``stack-100k``: real blocks stacked until the graph has
  about 1k, 10k and 100k nodes: the encoder layer of ``models/bert_tiny.onnx`` (a real
  transformers export) and the residual basic block of ``models/resnet18.onnx`` (a real
  torchvision export), cloned with renamed nodes and tensors, weights shared.

Every model is saved with its weights as external data, so ``onnx.load(path,
load_external_data=False)`` is the graph-only baseline analyze is compared with.
Figures: best of ``--repeat`` runs, seconds; ratio = analyze / onnx.load; per-node cost
in microseconds (linear growth shows as a flat per-node cost).

    python benchmarks/bench_analyze.py [--bert-base /tmp/bench/bert_base.onnx] [--repeat 3]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path

import onnx

import fusionlab

ROOT = Path(__file__).resolve().parents[1]


def _block(model: onnx.ModelProto, prefix: str) -> tuple[list[onnx.NodeProto], str, str]:
    """The nodes whose name starts with ``prefix``, their main input and their output."""
    nodes = [n for n in model.graph.node if n.name.startswith(prefix)]
    produced = {o for n in nodes for o in n.output}
    inits = {t.name for t in model.graph.initializer}
    outside = [i for n in nodes for i in n.input if i and i not in produced and i not in inits]
    main_input = max(set(outside), key=outside.count)
    consumed_inside = {i for n in nodes for i in n.input}
    later = {i for n in model.graph.node if n not in nodes for i in n.input}
    output = next(o for n in reversed(nodes) for o in n.output if o in later or o not in consumed_inside)
    return nodes, main_input, output


def stack(model: onnx.ModelProto, prefix: str, copies: int) -> onnx.ModelProto:
    """``model`` with the block ``prefix`` repeated ``copies`` more times after itself."""
    model = copy.deepcopy(model)
    nodes, main_input, output = _block(model, prefix)
    produced = {o for n in nodes for o in n.output}
    last_index = max(i for i, n in enumerate(model.graph.node) if n.name.startswith(prefix))
    new_nodes, current = [], output
    for k in range(1, copies + 1):
        rename = {t: f"{t}#s{k}" for t in produced}
        rename[main_input] = current
        for n in nodes:
            c = copy.deepcopy(n)
            c.name = f"{n.name}#s{k}"
            c.input[:] = [rename.get(i, i) for i in n.input]
            c.output[:] = [rename[o] for o in n.output]
            new_nodes.append(c)
        current = rename[output]
    for n in model.graph.node[last_index + 1:]:
        n.input[:] = [current if i == output else i for i in n.input]
    for o in model.graph.output:
        if o.name == output:
            o.name = current
    all_nodes = list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(all_nodes[: last_index + 1] + new_nodes + all_nodes[last_index + 1:])
    return model


def stacked(target_nodes: int) -> onnx.ModelProto:
    """BERT encoder layers and ResNet basic blocks stacked to about ``target_nodes``."""
    bert = onnx.load(ROOT / "models" / "bert_tiny.onnx")
    per_layer = len(_block(bert, "/encoder/layer.1/")[0])
    copies = max(0, (target_nodes - len(bert.graph.node)) // per_layer)
    return stack(bert, "/encoder/layer.1/", copies)


def stacked_resnet(target_nodes: int) -> onnx.ModelProto:
    resnet = onnx.load(ROOT / "models" / "resnet18.onnx")
    per_block = len(_block(resnet, "/layer1/layer1.1/")[0])
    copies = max(0, (target_nodes - len(resnet.graph.node)) // per_block)
    return stack(resnet, "/layer1/layer1.1/", copies)


def save_external(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=path.name + ".data", size_threshold=1024)
    return path


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bert-base", type=Path, default=Path("/tmp/bench/bert_base.onnx"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fusionlab-bench-"))
    cases: list[tuple[str, Path]] = []
    if args.bert_base.is_file():
        cases.append(("bert-base", args.bert_base))
    for n in (int(s) for s in args.sizes.split(",")):
        cases.append((f"bert-stack-{n // 1000}k", save_external(stacked(n), work / f"bert_{n}.onnx")))
        cases.append((f"resnet-stack-{n // 1000}k", save_external(stacked_resnet(n), work / f"resnet_{n}.onnx")))
    print(f"{'graph':<20}{'nodes':>8}{'onnx.load s':>13}{'analyze s':>11}{'ratio':>8}{'us/node':>9}{'layers':>8}")
    for name, path in cases:
        load_s = best(lambda: onnx.load(str(path), load_external_data=False), args.repeat)
        report = fusionlab.analyze(path)
        analyze_s = best(lambda: fusionlab.analyze(path), args.repeat)
        print(f"{name:<20}{report.nodes:>8}{load_s:>13.3f}{analyze_s:>11.3f}{analyze_s / load_s:>8.1f}"
              f"{1e6 * analyze_s / report.nodes:>9.1f}{len(report.layers):>8}")


if __name__ == "__main__":
    main()
