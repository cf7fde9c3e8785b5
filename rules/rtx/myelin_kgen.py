"""TRT310 myelin-kgen."""

from __future__ import annotations

from fusionlab.rule import Match, Rule

from fusionlab.rules.common.layers import reader_layers
from fusionlab.rules.common.qdq import is_int8_layer, is_matmul_layer
from fusionlab.rules.common.ops import ACTIVATIONS, ELEMENTWISE, REDUCES, SHUFFLES, SOFTMAX_KINDS, UNARY
from fusionlab.rules.common.shapes import live_readers
from fusionlab.rules.pointwise.pointwise import MEMBER, pointwise_groups

#: Layer kinds TensorRT-RTX's Myelin compiler generates as ``kgen`` kernels and fuses with
#: their neighbours: pointwise ops, layout ops (shuffles), normalizations, softmax,
#: reductions, embedding lookups and mask arithmetic -- everything that is not a
#: convolution, a GEMM or a pooling kernel. Fused kinds of earlier rules are included.
KGEN_KINDS = frozenset(
    ACTIVATIONS + ELEMENTWISE + UNARY + SHUFFLES + REDUCES + SOFTMAX_KINDS
    + ("PointWise", "Shuffle", "Gelu", "LayerNorm", "LayerNormalization", "L1Norm", "L2Norm",
       "SumSquares", "LogSum", "LogSumExp", "Reduce", "GlobalAveragePool", "GlobalMaxPool", "Gather", "GatherElements", "Where",
       "Cast", "Expand", "Not", "GreaterOrEqual", "LessOrEqual", "Slice", "Concat", "Split",
       "kgen")
)


#: Q/DQ layers join kgen kernels by where they stand (``_member``).
QDQ_KINDS = ("QuantizeLinear", "DequantizeLinear")

#: Kinds cheap enough that TensorRT-RTX computes them inside the first kernel that reads
#: them even when a second kernel reads them too (the attention mask of every layer).
#: Concat: a ViT's class token joined to the patch embeddings (Reshape, Transpose, Concat,
#: position Add) is computed in the first LayerNormalization's kernel although the
#: residual Add of the first layer reads it too (TensorRT-RTX 1.7, ViT dynamo export).
CHEAP_KINDS = frozenset(ELEMENTWISE + UNARY + SHUFFLES + ("Shuffle", "Where", "Cast", "Expand",
                                                          "Not", "Gather", "GreaterOrEqual",
                                                          "LessOrEqual", "PointWise", "Concat"))


def split_at_reduction_expands(state, groups: list[tuple[object, list]]) -> list[tuple[object, list]]:
    """Split each group where a reduction's result reaches an Expand inside the group.

    Measured with TensorRT-RTX 1.7 (FP32, [8, 32, 256] and others, inside a graph):
    ``ReduceL2 -> Clip -> Expand(Shape(x)) -> Div(x, .)`` (``F.normalize``),
    ``ReduceMean -> Expand -> Sub`` and ``Exp -> ReduceSum -> Expand -> Div`` are two kgen
    kernels each, the reduction (and what feeds it) in the first, what lies after it (the
    Expand and its readers) in the second; without the Expand each is one kernel, and an
    Expand of a value no reduction computed joins its group. The layers holding a node
    downstream of the first such reduction (not the reduction's own layer) become their
    own group, checked again; on later rounds, when the parts are kgen layers, the ONNX
    nodes tell the same.
    """
    graph = state.graph
    out, todo = [], list(groups)
    while todo:
        root, members = todo.pop(0)
        layer_of = {n: l for l in members for n in l.nodes}
        cut = None
        for layer in members:
            for name in layer.nodes:
                if graph.nodes[name].op_type not in REDUCES:
                    continue
                below, frontier, expands = set(), [name], False
                while frontier:
                    node = graph.nodes[frontier.pop()]
                    for t in node.outputs:
                        for reader in live_readers(state, t):
                            if reader in layer_of and reader not in below:
                                below.add(reader)
                                frontier.append(reader)
                                r = graph.nodes[reader]
                                expands = expands or (r.op_type == "Expand"
                                                          and state.resolve(r.inputs[0]) == state.resolve(t))
                if expands:
                    cut = [l for l in members if l is not layer and any(n in below for n in l.nodes)]
                    break
            if cut:
                break
        if not cut or len(cut) == len(members):
            out.append((root, members))
            continue
        rest = [l for l in members if l not in cut]
        todo.append((rest[-1], rest))
        todo.append((root, cut))
    return sorted(out, key=lambda g: g[0].index)


#: How far up (layers) a Q/DQ looks for the INT8 convolution whose epilogue it is in.
EPILOGUE_HOPS = 12


def _in_conv_epilogue(state, layer) -> bool:
    """Whether ``layer`` lies downstream of an INT8 convolution (not a MatMul) within
    :data:`EPILOGUE_HOPS` layers of kgen kinds and Q/DQ: that epilogue is TRT410's (the
    convolution's epilogue kgen), which runs after this rule."""
    frontier, seen = [layer], {id(layer)}
    for _ in range(EPILOGUE_HOPS):
        step = []
        for current in frontier:
            for t in state.layer_inputs(current):
                if not t or state.is_constant(t):
                    continue
                src = state.producer_layer(t)
                if src is None or id(src) in seen:
                    continue
                seen.add(id(src))
                if is_int8_layer(src):
                    if not is_matmul_layer(state, src):
                        return True
                elif src.kind in KGEN_KINDS or src.kind in QDQ_KINDS:
                    step.append(src)
        frontier = step
    return False


def _member(state, layer, base: dict) -> bool:
    """Whether ``layer`` joins kgen kernels: its kind is a kgen kind; a lone
    DequantizeLinear when every reader is one (a DequantizeLinear a GEMM or a convolution
    reads runs in that kernel: TRT403, TRT313); a lone QuantizeLinear of a constant, of a
    network input (TRT403's TensorRT-RTX divergence), or of a kgen layer's result (the
    QuantizeLinear of a GEMM's result ends the GEMM's kernel: TRT404). Not within an INT8
    convolution's epilogue (``_in_conv_epilogue``). Measured with TensorRT-RTX 1.7 on DistilBERT and ViT quantized by
    onnxruntime.quantization (QDQ): ``Add -> Q -> DQ -> LayerNormalization`` is one kgen
    kernel, ``LayerNormalization -> Q`` ends one and its ``DQ`` is listed in the kernel
    of every MatMul that reads it."""
    if layer.kind not in QDQ_KINDS or len(layer.nodes) != 1:
        return base[id(layer)]
    node = state.graph.nodes[layer.nodes[0]]
    if node.op_type == "DequantizeLinear":
        readers, graph_output = reader_layers(state, layer)
        return bool(readers) and not graph_output and all(base.get(id(r)) for r in readers) \
            and not _in_conv_epilogue(state, layer)
    if state.is_constant(node.inputs[0]) or node.inputs[0] in state.graph.inputs:
        return True  # folded, or the network input's Q: quantized by the kernel reading it
    src = state.producer_layer(node.inputs[0])
    return src is not None and bool(base.get(id(src))) and not _in_conv_epilogue(state, layer)


class MyelinKgen(Rule):
    """TensorRT-RTX compiles connected non-GEMM, non-convolution layers into one ``kgen`` kernel.

    What it fuses: on TensorRT-RTX, groups of connected layers of the kinds in
    ``KGEN_KINDS`` -- pointwise ops and PointWise layers, Shuffles (Reshape, Transpose,
    Flatten, Squeeze, Unsqueeze), LayerNormalization, Softmax, reductions, Gather
    (embeddings), Where / Cast / Expand mask arithmetic. A group has one exit, as for
    TRT301 pointwise: every member but the last is read only inside the group. Measured on
    a transformers BERT export: a bias Add with the Reshape and Transpose after it; the
    attention scale Mul, mask Add and Softmax; the bias Add, residual Add and
    LayerNormalization; the three embedding Gathers, their Adds and the LayerNormalization.
    A group of cheap kinds only (``CHEAP_KINDS``: elementwise, shuffles, mask arithmetic)
    whose result several kgen kernels read joins the first of them (BERT's attention mask:
    computed in layer 0's Softmax kernel, read by layer 1's). A convolution, GEMM or
    pooling kernel ends a group (its epilogue fusions are the
    conv-* / fc-* rules' job and run before this rule). A reduction whose result reaches an
    Expand splits its group after the reduction (measured: ``F.normalize``'s ReduceL2 ->
    Clip -> Expand -> Div is two kernels; ``split_at_reduction_expands``; TRT507
    reduce-expand reports the Expand).
    Why it matters: each kgen kernel reads its inputs once and writes one result; a group
    split by a second reader writes the intermediate tensor to memory.
    Conditions: none beyond the structure; a member with a reader outside the group ends
    it (the builder must write that tensor).
    TensorRT-RTX only: classic TensorRT fuses only pointwise layers (TRT301) and the named
    fusions; the documented rules stay the `tensorrt` target.
    Source: docs/TENSORRT-RTX.md#pointwise-chains-and-reductions ("pointwise chains, GELU (both forms), L1Norm, L2Norm, LogSum,
    LogSumExp, 9-op LayerNorm: one kgen each (LayerNorm also takes residual and bias
    Adds)"), and fusionlab's live TensorRT-RTX 1.7 builds of models/bert_tiny.onnx.
    """

    code = "TRT310"
    name = "myelin-kgen"
    targets = ("tensorrt-rtx",)
    phase = 46
    result_kind = "kgen"
    cost = 1

    def find(self, state):
        # find, not a pattern: a kgen kernel is a connected component of any size of kgen
        # kinds with one exit (``pointwise_groups``), cut where a reduction reaches an
        # Expand and joined with the group of the readers of a cheap group; a pattern binds
        # a fixed tree of layers from one anchor and cannot partition the graph.
        layers = state.live_layers()
        base = {id(l): l.kind in KGEN_KINDS for l in layers}
        kinds = {id(l): MEMBER if _member(state, l, base) else None for l in layers}
        groups = split_at_reduction_expands(state, pointwise_groups(state, layers, kinds, with_channel=False))
        group_of = {id(l): members for _, members in groups for l in members}
        for root, members in groups:
            if all(l.kind in CHEAP_KINDS for l in members):
                readers, graph_output = reader_layers(state, root)
                if len(readers) > 1 and not graph_output and all(kinds.get(id(r)) for r in readers):
                    joined = members + [l for l in group_of[id(readers[0])] if l not in members]
                    if not state.closes_cycle(joined):  # a path between the two groups stays
                        members = joined
            if len(members) > 1:
                order = [root] + [l for l in members if l is not root]
                yield Match(self, {f"k{i}": l for i, l in enumerate(order)}, {}, order, state)

    def describe(self, m: Match) -> str:
        return f"{', '.join(m.nodes)} compile into one TensorRT-RTX kgen kernel"
