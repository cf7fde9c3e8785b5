"""TRT507 reduce-expand."""

from __future__ import annotations

import numpy as np

from fusionlab.pattern import Op, Ref, Through, Var
from fusionlab.rule import Rule, check, fmt_shape

from fusionlab.rules.common.ops import ACTIVATIONS, ELEMENTWISE, REDUCES, UNARY

#: Elementwise ops that broadcast their two operands (ONNX multidirectional broadcasting):
#: reading the unexpanded value gives the same result when the output shape stays.
BROADCASTING = ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min")
#: Ops a reduction's result may pass through on its way to the Expand.
_POINTWISE = ACTIVATIONS + ELEMENTWISE + UNARY
#: How far back (ONNX nodes) the reduction is looked for.
_DEPTH = 4


def _static(shape) -> tuple[int, ...] | None:
    if shape is None or any(not isinstance(d, int) or d < 0 for d in shape):
        return None
    return tuple(shape)


def redundant_for(graph, expand, reader) -> str | None:
    """Why ``reader`` computes the same result from the Expand's input as from its output
    (the proof, as text), or None when that is not shown."""
    out, x = expand.outputs[0], expand.inputs[0]
    if reader.op_type not in BROADCASTING or len(reader.inputs) != 2 or list(reader.inputs).count(out) != 1:
        return None
    other = reader.inputs[1] if reader.inputs[0] == out else reader.inputs[0]
    shape_src = graph.node_of(expand.inputs[1]) if len(expand.inputs) > 1 else None
    if shape_src is not None and shape_src.op_type == "Shape" and shape_src.inputs[0] == other \
            and shape_src.attr("start") in (None, 0) and shape_src.attr("end") is None:
        return f"the Expand's shape is Shape({other})"
    a, b, e = (_static(graph.shape(t)) for t in (other, x, out))
    if a is None or b is None or e is None:
        return None
    try:
        same = np.broadcast_shapes(a, b) == np.broadcast_shapes(a, e)
    except ValueError:
        return None
    return f"{other} {fmt_shape(a)} broadcasts it to {fmt_shape(np.broadcast_shapes(a, b))} by itself" \
        if same else None


class ReduceExpand(Rule):
    """An Expand that broadcasts a reduction's result for elementwise ops that broadcast by themselves.

    What it fuses: nothing; a lint on an Expand whose input a reduction computes (directly
    or through pointwise ops) and whose readers are all elementwise ops that broadcast
    (Add, Sub, Mul, Div, Pow, Max, Min) and give the same result from the unexpanded
    value: the Expand's shape is Shape(the reader's other operand), or static shapes show
    the reader's output shape unchanged. ``torch.nn.functional.normalize`` exports this way
    (``ReduceL2 -> Clip(eps) -> Expand(., Shape(x)) -> Div(x, .)``, TorchScript and dynamo
    exporters alike); a hand-written ``x - x.mean(-1, keepdim=True).expand_as(x)`` too.
    Why it matters: measured with TensorRT-RTX 1.7 (FP32, inside a graph, [8, 32, 256],
    [8, 256] and [1, 64, 32, 32]): the Expand ends the reduction's kgen kernel, so
    ``F.normalize`` is two kernels (``ReluMulSum`` + ``SqrtMaxMinReplDivRelu``) where
    ``Div(x, Clip(ReduceL2(x)))`` is one (``ReluMulSumSqrtMaxMinDivMulRelu``); the same
    for ReduceMean -> Expand -> Sub and Exp -> ReduceSum -> Expand -> Div. The broadcast
    tensor goes through memory. On classic TensorRT (not measured here) the parser imports
    the Expand as an ISliceLayer (stride 0 on the broadcast axes): a layer of its own that
    writes the broadcast tensor and keeps the ops before it out of its reader's PointWise
    fusion (``F.normalize``: 5 predicted layers, 3 without the Expand).
    Conditions: `no-redundant-expand` -- the Expand is needed (a reader that is not a
    broadcasting elementwise op, a shape that changes the reader's output, or a graph
    output); the reason names the Expand, the reduction, the readers and the proof that
    the readers broadcast by themselves. ``fusionlab rewrite`` removes the Expand (exact:
    the readers compute the same values, bit for bit).
    Source: fusionlab's live TensorRT-RTX 1.7 builds (rules/myelin_kgen.py
    ``split_at_reduction_expands``; tests/rules/test_reduce_expand.py); onnx-tensorrt
    builtin_op_importers.cpp (Expand = ISliceLayer); ONNX operators Expand and
    "Broadcasting in ONNX" (multidirectional broadcasting of the elementwise ops).
    """

    code = "TRT507"
    name = "reduce-expand"
    kind = "lint"
    level = "node"  # the Expand as written, whatever layer a fusion put it in
    phase = 90
    #: an Expand of a reduction's result, computed directly or through up to 4 pointwise
    #: ops (any non-constant operand); the diagnostic names the Expand alone.
    pattern = Op("Expand", Ref(Through(_POINTWISE, Op(REDUCES, name="reduction"), max_hops=_DEPTH,
                                       via="data")), Var(), name="expand")
    cost = 2
    rewrites_on = ("lint",)

    def proof(self, graph, expand) -> list[tuple[str, str]] | None:
        """``(reader, why)`` for every reader when all of them broadcast by themselves."""
        out = expand.outputs[0]
        readers = [graph.nodes[n] for n in graph.consumers.get(out, ())]
        if not readers or out in graph.outputs:
            return None
        found = []
        for r in readers:
            why = redundant_for(graph, expand, r)
            if why is None:
                return None
            found.append((r.name, why))
        return found

    @check("no-redundant-expand")
    def redundant(self, expand, reduction, ctx):
        graph = ctx.graph
        proof = self.proof(graph, expand)
        if proof is None:
            return None
        x = expand.inputs[0]
        readers = ", ".join(r for r, _ in proof)
        whys = "; ".join(dict.fromkeys(w for _, w in proof))
        cost = ("TensorRT-RTX ends the reduction's kgen kernel at the Expand (two kernels instead "
                "of one, the broadcast tensor through memory)" if ctx.target == "tensorrt-rtx" else
                "TensorRT runs the Expand as its own layer, writing the broadcast tensor, and it keeps "
                "the ops before it out of its reader's PointWise fusion")
        return (f"{expand.name} expands {x} (computed by {reduction.name}) {fmt_shape(graph.shape(x))} to "
                f"{fmt_shape(graph.shape(expand.outputs[0]))} only for {readers}, which "
                f"{'broadcasts it itself' if len(proof) == 1 else 'broadcast it themselves'} ({whys}); {cost}: "
                "remove the Expand")

    def rewrite(self, m, graph):
        """Remove the Expand: its readers read its input and broadcast it themselves
        (``fusionlab rewrite``); exact, every value is the same. The Shape that only fed
        it goes with it."""
        from fusionlab.rewriting import CannotRewrite, bypass, node_of

        if self.proof(m.state.graph, m.node("expand")) is None:
            raise CannotRewrite(f"{m.node('expand').name} is needed: a reader does not broadcast it the same way")
        node = node_of(graph, m.node("expand").name)
        x = node.inputs[0]
        readers = sorted(c.name for c in node.outputs[0].outputs)
        bypass(node, x)
        return (f"removed {node.name}: {', '.join(readers)} "
                f"{'broadcasts' if len(readers) == 1 else 'broadcast'} {x.name} by {'itself' if len(readers) == 1 else 'themselves'}")
