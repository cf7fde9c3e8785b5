"""Helpers shared by rules: op groups from FUSIONS.md's layer table and common checks.

Op groups follow the table "TensorRT layer kind -> ONNX ops" of FUSIONS.md (TensorRT's
ONNX parser mapping).
"""

from __future__ import annotations

import numpy as np

from fusionlab.rule import Context, Match, fmt_shape

#: ONNX ops TensorRT's parser turns into an Activation layer.
ACTIVATIONS = ("Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "Elu", "Selu", "Softplus",
               "Softsign", "HardSigmoid", "ThresholdedRelu", "Gelu", "HardSwish")
#: ONNX ops TensorRT's parser turns into an ElementWise layer.
ELEMENTWISE = ("Add", "Sub", "Mul", "Div", "Max", "Min", "Pow", "Equal", "Greater", "Less",
               "And", "Or", "Xor")
#: ONNX ops TensorRT's parser turns into a Unary layer.
UNARY = ("Exp", "Log", "Sqrt", "Reciprocal", "Abs", "Neg", "Sin", "Cos", "Tan", "Sinh", "Cosh",
         "Asin", "Acos", "Atan", "Erf", "Floor", "Ceil", "Round", "Sign", "Not")
#: ONNX ops TensorRT's parser turns into a Shuffle layer.
SHUFFLES = ("Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze")
#: ONNX ops TensorRT's parser turns into a Reduce layer.
REDUCES = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
           "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")
POOLS = ("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool")
CONVS = ("Conv", "ConvTranspose")


def channel_axis_size(ctx: Context, tensor: str) -> int | None:
    """Size of dim 1 (NCHW channels) of ``tensor``, or None if unknown."""
    shape = ctx.graph.shape(tensor)
    if shape and len(shape) > 1 and isinstance(shape[1], int):
        return shape[1]
    return None


def scale_mode(value: np.ndarray | None, out_shape: tuple | None) -> str | None:
    """TensorRT Scale mode of a constant operand: ``uniform`` (one value),
    ``channel`` (one value per channel of an NCHW output, shape [C,1,1] or [1,C,1,1]),
    ``elementwise``, or None when unknown."""
    if value is None:
        return None
    if value.size == 1:
        return "uniform"
    dims = [d for d in value.shape]
    while dims and dims[0] == 1 and len(dims) > 3:
        dims = dims[1:]
    if len(dims) == 3 and dims[1] == 1 and dims[2] == 1:
        if out_shape is None or len(out_shape) < 2 or out_shape[1] in (dims[0], None) or not isinstance(out_shape[1], int):
            return "channel"
    return "elementwise"


def same_shapes(ctx: Context, a: str, b: str) -> tuple[bool | None, str]:
    """Whether tensors ``a`` and ``b`` have equal known shapes, plus both shapes as text."""
    sa, sb = ctx.graph.shape(a), ctx.graph.shape(b)
    text = f"{fmt_shape(sa)} and {fmt_shape(sb)}"
    if sa is None or sb is None or any(not isinstance(d, int) for d in (*sa, *sb)):
        return None, text
    return tuple(sa) == tuple(sb), text


def single_output_consumer(m: Match, name: str) -> list[str]:
    """Consumers (node names) of the output of the layer bound to ``name``."""
    layer = m.layer(name)
    outs = m.state.layer_outputs(layer)
    return [c for t in outs for c in m.state.graph.consumers.get(t, ()) if not m.state.is_absorbed(c)]


# --- shuffles, reduce axes, network I/O (TRT120-TRT130) ---------------------------------

#: Shuffle ops that reshape (no permutation); a Transpose is the only pure permutation.
RESHAPES = ("Reshape", "Flatten", "Squeeze", "Unsqueeze")


def transpose_perm(graph, node) -> tuple[int, ...] | None:
    """The ``perm`` of a Transpose node; without the attribute, the reversed dims (needs
    the input's rank). None when the rank is unknown."""
    perm = node.attr("perm")
    if perm is not None:
        return tuple(int(p) for p in perm)
    shape = graph.shape(node.inputs[0])
    return None if shape is None else tuple(reversed(range(len(shape))))


def compose_perms(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...]:
    """The one ``perm`` equal to Transpose(first) then Transpose(second)."""
    return tuple(first[i] for i in second)


def is_identity_perm(perm: tuple[int, ...]) -> bool:
    return all(i == p for i, p in enumerate(perm))


def static_equal_shapes(graph, a: str, b: str) -> bool:
    """True when tensors ``a`` and ``b`` have the same known shape (symbolic dims count
    as equal only under the same name)."""
    sa, sb = graph.shape(a), graph.shape(b)
    return sa is not None and sb is not None and None not in sa and tuple(sa) == tuple(sb)


def reduce_axes(state, node, rank: int) -> tuple[int, ...] | None:
    """Sorted non-negative axes a Reduce* node reduces (attribute ``axes``, or the
    constant second input from opset 18 / ReduceSum 13); every axis when none are given
    (``()`` with ``noop_with_empty_axes=1``). None when the axes are computed at runtime."""
    axes = node.attr("axes")
    if axes is None and len(node.inputs) > 1 and node.inputs[1]:
        value = constant_of(state, state.resolve(node.inputs[1]))
        if value is None:
            return None
        axes = [int(a) for a in np.asarray(value).reshape(-1)]
    if not axes:
        return () if node.attr("noop_with_empty_axes", 0) else tuple(range(rank))
    return tuple(sorted(int(a) % rank for a in axes))


def network_io(graph, inputs: list[str], outputs: list[str]) -> list[str]:
    """Which of ``inputs`` are network inputs and ``outputs`` network outputs, as text
    ("network input x", "network output y")."""
    found = [f"network input {t}" for t in inputs if t in graph.inputs]
    return found + [f"network output {t}" for t in outputs if t in graph.outputs]


def live_readers(state, tensor: str) -> list[str]:
    """Live nodes reading ``tensor``, looking through erased nodes whose output became it."""
    found: list[str] = []
    for c in state.graph.consumers.get(tensor, ()):
        if not state.is_absorbed(c):
            found.append(c)
            continue
        for out in state.graph.nodes[c].outputs:
            if out and out != tensor and state.resolve(out) == state.resolve(tensor):
                found.extend(r for r in live_readers(state, out) if r not in found)
    return found


# ---------------------------------------------------------------- conv / FC layer fusions
# Helpers of TRT102-TRT112 (conv-clip ... depthwise-separable).

from fusionlab.pattern import Op  # noqa: E402  (appended section)


def constant_of(state, tensor: str) -> np.ndarray | None:
    """Value of a constant tensor, also once constant folding absorbed its Constant node.

    ``LayerState.const_value`` answers ``None`` for a Constant node's output after TRT001
    folded it (the fold records the tensor, not its value); this falls back to the graph.
    """
    value = state.const_value(tensor)
    if value is None and state.is_constant(tensor):
        value = state.graph.const_value(state.resolve(tensor))
    return value


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
        super().__init__(kinds, name=name, free=True, where=where)
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
    """The TensorRT-RTX ``inside-graph`` check: TENSORRT-RTX.md measured that ``what``
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


# ---------------------------------------------------------------- reductions, PointWise, MLP
# Helpers of TRT201-TRT208 (GELU, norms, LogSumExp, LayerNorm), TRT301 pointwise, TRT302 mlp.

from fusionlab.pattern import Alt, Const  # noqa: E402  (appended section)
from fusionlab.pattern import op as _op  # noqa: E402

#: Relative tolerance of the GELU constants (sqrt(2), 1/sqrt(2), 1, 0.5, sqrt(2/pi),
#: 0.044715, 3): the pattern language's ``Const`` default, loose enough for float16
#: exports (sqrt(2) in float16 is 1.4140625, 1.1e-4 off) and for ``1.414`` (1.5e-4 off),
#: tight enough to reject the typos 0.44715 / 0.044615 and 2/pi without the square root.
GELU_RTOL = 1e-3


def gelu_forms(x, one_plus) -> Alt:
    """``0.5 * x * one_plus`` in the three association orders exporters write it.

    ``Mul(Mul(x, one_plus), 0.5)`` (PyTorch's legacy exporter), ``Mul(Mul(x, 0.5),
    one_plus)`` (Hugging Face NewGELU), ``Mul(x, Mul(one_plus, 0.5))`` (onnxscript's second
    erf form); operand order inside each Mul is free (commutative matching). Bindings:
    ``out`` the last Mul, ``inner`` the other one, ``half`` the 0.5 constant.
    """
    return Alt(
        _op.Mul(_op.Mul(x, one_plus, name="inner"), Const("half"), name="out"),
        _op.Mul(_op.Mul(x, Const("half"), name="inner"), one_plus, name="out"),
        _op.Mul(x, _op.Mul(one_plus, Const("half"), name="inner"), name="out"),
    )


def fmt_value(value: np.ndarray) -> str:
    """A constant for a reason: ``1.5``, or ``a [4] constant in 0.5..2``."""
    v = np.asarray(value, dtype=np.float64)
    if v.size == 1:
        return f"{float(v.reshape(-1)[0]):.8g}"
    return f"a {fmt_shape(v.shape)} constant in {float(v.min()):.8g}..{float(v.max()):.8g}"


def constants_mismatch(m: Match, expected: list[tuple[str, float, str]], what: str,
                       rtol: float = GELU_RTOL) -> str | None:
    """Compare bound constants with the values a formula needs.

    ``expected`` lists ``(binding, value, label)``; bindings absent from the match (another
    alternative) are skipped, and so are constants whose value cannot be read (a folded
    subgraph). Returns ``None`` when all match, else one sentence naming each node, the
    value it uses and the value ``what`` needs.
    """
    graph, state = m.state.graph, m.state
    wrong = []
    for name, want, label in expected:
        if name not in m.tensors:
            continue
        tensor = m.tensor(name)
        value = constant_of(state, tensor)
        if value is None or value.size == 0 or not np.issubdtype(value.dtype, np.number):
            continue
        if np.allclose(value.astype(np.float64), want, rtol=rtol, atol=0.0):
            continue
        reader = next((n for n in m.nodes if tensor in
                       [state.resolve(t) for t in graph.nodes[n].inputs if t]), tensor)
        wrong.append(f"{reader} uses {fmt_value(value)} where {what} needs {label} = {want:.8g}")
    if not wrong:
        return None
    return "; ".join(wrong) + f" (relative tolerance {rtol:g})"


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
