"""Helpers of the convolution and FullyConnected layer fusions (TRT102-TRT112) and the
checks they share (precision, SM, TensorRT-RTX inside-graph)."""

from __future__ import annotations


from fusionlab.pattern import Op
from fusionlab.rule import Context, Match
from fusionlab.rules.common.shapes import live_readers
from fusionlab.rules.common.values import constant_of

def data_inputs(state, layer) -> list[str]:
    """The layer's non-constant inputs, without duplicates, in input order."""
    seen: list[str] = []
    for t in state.layer_inputs(layer):
        if t and not state.is_constant(t) and t not in seen:
            seen.append(t)
    return seen


class DataOp(Op):
    """A layer of ``kinds`` one of whose non-constant inputs matches ``data``.

    For fused layers without a host (a ``Gelu`` or ``PointWise`` layer made of several
    ONNX nodes) the input order is the order the members read tensors, so the data
    input is not always input 0; constants (``0.5``, ``sqrt(2)``) are skipped.
    """

    def __init__(self, kinds, data, name: str | None = None, where=None):
        super().__init__(kinds, name=name, where=where)
        self.data = data

    def size(self):
        return 1 + self.data.size()

    def match_layer(self, layer, view, b):
        for bound in super().match_layer(layer, view, b):
            for tensor in data_inputs(view, layer):
                yield from self.data.match(tensor, view, bound)

    def __repr__(self):
        return f"{'|'.join(sorted(self.kinds))}(data={self.data!r})"


def graph_output_of(m: Match, ctx: Context, name: str) -> str | None:
    """The graph output the layer bound to ``name`` produces, if any."""
    for t in m.state.layer_outputs(m.layer(name)):
        if t in ctx.graph.outputs:
            return t
    return None


def rtx_inside_graph(m: Match, ctx: Context, name: str, what: str) -> str | None:
    """The TensorRT-RTX ``inside-graph`` check: docs/TENSORRT-RTX.md#context-matters measured that ``what``
    fuses only when the pattern sits inside the graph, not when its last op is a graph
    output (that op then fuses with the output copy instead)."""
    out = graph_output_of(m, ctx, name)
    if out is None:
        return None
    return (f"{m.layer(name).nodes[-1]} output {out} is a graph output; TensorRT-RTX fuses "
            f"{what} only when the pattern sits inside the graph (a consumer after it)")


def precision_fp16_or_int8(ctx: Context, what: str) -> str | None:
    """The classic ``precision-fp16-or-int8`` check of the GELU epilogue fusions."""
    if ctx.precision in ("fp16", "int8"):
        return None
    return (f"builder precision is {ctx.precision.upper()}; {what} needs FP16 or INT8 input "
            "and output (enable --precision fp16 or int8)")


def sm_at_least(ctx: Context, sm: float, what: str) -> str | None:
    """An ``sm-X.Y-or-newer`` check: the GPU's compute capability is at least ``sm``."""
    if ctx.sm >= sm:
        return None
    return f"target GPU is SM {ctx.sm:g}; {what} needs SM {sm:g} or newer"


def is_erf_gelu(state, layer) -> bool:
    """True for a GELU layer in its exact (erf) form: a fused chain holding an Erf, or an
    ONNX ``Gelu`` op with ``approximate="none"``."""
    for n in layer.nodes:
        node = state.graph.nodes[n]
        if node.op_type == "Erf":
            return True
        if node.op_type == "Gelu" and node.attr("approximate", "none") != "tanh":
            return True
    return False


def producer_op(graph, tensor: str) -> str | None:
    """Op type of the ONNX node producing ``tensor`` (ignoring layers), or None."""
    node = graph.node_of(tensor)
    return None if node is None else node.op_type


def weight_shape(ctx: Context, node) -> tuple | None:
    """Shape of a Conv/ConvTranspose/Gemm/MatMul weight (input 1), initializer or inferred."""
    if len(node.inputs) < 2 or not node.inputs[1]:
        return None
    t = ctx.state.resolve(node.inputs[1])
    shape = ctx.graph.shape(t)
    if shape is None:
        value = constant_of(ctx.state, t)
        shape = None if value is None else value.shape
    return None if shape is None else tuple(shape)



def reader_layers(state, layer) -> tuple[list, bool]:
    """The live layers reading ``layer``'s outputs (through erased nodes), without
    ``layer`` itself, in topological order; and whether an output is a graph output."""
    found: dict[int, object] = {}
    graph_output = False
    for t in state.layer_outputs(layer):
        graph_output = graph_output or t in state.graph.outputs
        for n in live_readers(state, t):
            other = state.layer_of[n]
            if other is not layer:
                found.setdefault(id(other), other)
    return sorted(found.values(), key=lambda l: l.index), graph_output



