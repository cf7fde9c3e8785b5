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


#: Layer kinds holding a softmax: the ONNX ops and a ``SoftMax`` layer a rule fused.
SOFTMAX_KINDS = ("Softmax", "LogSoftmax", "SoftMax")


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


def _shortest(x) -> str:
    """The shortest text that reads back as ``x`` in its own dtype (float32 0.44715 is
    ``0.44715``, not ``0.44714999``)."""
    if isinstance(x, np.floating):
        return np.format_float_positional(x, unique=True, trim="-")
    return str(x)


def fmt_value(value: np.ndarray) -> str:
    """A constant for a reason: ``1.5``, or ``a [4] constant in 0.5..2``."""
    v = np.asarray(value)
    if v.size == 1:
        return _shortest(v.reshape(-1)[0])
    return f"a {fmt_shape(v.shape)} constant in {_shortest(v.min())}..{_shortest(v.max())}"


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
        need = f"{want:.8g}" if label == f"{want:.8g}" else f"{label} = {want:.8g}"
        wrong.append(f"{reader} uses {fmt_value(value)} where {what} needs {need}")
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


# ---------------------------------------------------------------- Q/DQ (explicit quantization)
# Helpers of TRT401-TRT409 (FUSIONS.md "Q/DQ fusions") and the TRT5xx lints.

from onnx import TensorProto as _TensorProto  # noqa: E402  (appended section)

#: The explicit-quantization ops (TensorRT's IQuantizeLayer / IDequantizeLayer).
QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
#: Ops that become a layer with weights: the guide's "weighted node (Conv, FC, Deconv)".
WEIGHTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")
#: Layer kinds a weighted op can have after the layer fusions (TRT109 fc-as-conv).
WEIGHTED_KINDS = WEIGHTED_OPS + ("FullyConnected",)


def dtype_name(dtype: int | None) -> str:
    """``INT8`` for ``TensorProto.INT8``; ``unknown`` for None."""
    return "unknown" if dtype is None else _TensorProto.DataType.Name(dtype)


def qdq_scale(state, node) -> np.ndarray | None:
    """The constant scale of a QuantizeLinear / DequantizeLinear node, or None."""
    if len(node.inputs) < 2 or not node.inputs[1]:
        return None
    return constant_of(state, state.resolve(node.inputs[1]))


def qdq_zero_point(state, node) -> tuple[np.ndarray | None, int | None, str | None]:
    """``(value, ONNX dtype, tensor)`` of a Q/DQ node's zero_point; ``(None, None, None)``
    when the input is omitted (ONNX then means 0)."""
    if len(node.inputs) < 3 or not node.inputs[2]:
        return None, None, None
    tensor = state.resolve(node.inputs[2])
    value = constant_of(state, tensor)
    dtype = state.graph.dtype(tensor)
    if dtype is None and value is not None:
        dtype = _numpy_to_onnx(value.dtype)
    return value, dtype, node.inputs[2]


def _numpy_to_onnx(dtype) -> int | None:
    try:
        from onnx import helper
        return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    except Exception:  # numpy dtypes without an ONNX twin
        return None


def fmt_values(value: np.ndarray | None) -> str:
    """A Q/DQ parameter for a reason: ``0.0125``, or ``[64] values 0.001..0.02``."""
    if value is None:
        return "unknown"
    v = np.asarray(value).reshape(-1)
    if v.size == 1:
        return f"{v[0]:.6g}" if np.issubdtype(v.dtype, np.floating) else str(v[0])
    if np.all(v == v[0]):
        first = f"{v[0]:.6g}" if np.issubdtype(v.dtype, np.floating) else str(v[0])
        return f"{first} (all {v.size} values)"
    return f"[{v.size}] values {v.min():.6g}..{v.max():.6g}"


def qparams(state, node) -> str:
    """``scale 0.0125, zero_point 0`` of a Q/DQ node."""
    zp, _, _ = qdq_zero_point(state, node)
    zero = "0 (omitted)" if zp is None else fmt_values(zp)
    return f"scale {fmt_values(qdq_scale(state, node))}, zero_point {zero}"


def same_qparams(state, a, b) -> bool | None:
    """Whether Q/DQ nodes ``a`` and ``b`` use equal scale and zero_point (None: unknown)."""
    sa, sb = qdq_scale(state, a), qdq_scale(state, b)
    if sa is None or sb is None:
        return None
    za, _, _ = qdq_zero_point(state, a)
    zb, _, _ = qdq_zero_point(state, b)
    za = np.zeros(1) if za is None else za
    zb = np.zeros(1) if zb is None else zb
    try:
        return bool(np.allclose(sa.astype(np.float64), sb.astype(np.float64), rtol=1e-6, atol=0.0)
                    and np.array_equal(np.broadcast_to(za, np.broadcast_shapes(za.shape, zb.shape)),
                                       np.broadcast_to(zb, np.broadcast_shapes(za.shape, zb.shape))))
    except ValueError:  # shapes that do not broadcast: different per-channel axes
        return False


def dq_producer(state, tensor: str):
    """The DequantizeLinear node producing ``tensor`` (graph level: also when that node
    was folded or already fused into another layer), or None."""
    if not tensor:
        return None
    node = state.graph.node_of(state.resolve(tensor))
    return node if node is not None and node.op_type == "DequantizeLinear" else None


def q_producer(state, tensor: str):
    """The QuantizeLinear node producing ``tensor`` (graph level), or None."""
    if not tensor:
        return None
    node = state.graph.node_of(state.resolve(tensor))
    return node if node is not None and node.op_type == "QuantizeLinear" else None


def lone_layer(state, name: str):
    """The layer of node ``name`` when it is live and holds that node only (free to fuse)."""
    if state.is_absorbed(name):
        return None
    layer = state.layer_of[name]
    return layer if len(layer.nodes) == 1 else None


def owned_dq_layer(state, dq, reader: str):
    """The layer of DequantizeLinear ``dq`` when it is still free and ``reader`` is its only
    live reader. A DequantizeLinear read by several layers stays its own layer: TensorRT
    duplicates it for each reader (each reads the INT8 tensor), but a node sits in one
    predicted layer only, and inside one reader's layer its output would look like that
    layer's output to the other readers' patterns."""
    if dq is None or live_readers(state, dq.outputs[0]) != [reader]:
        return None
    return lone_layer(state, dq.name)


def quantized_readers(state, tensor: str) -> tuple[list, list[str]]:
    """``(QuantizeLinear nodes, names of the other readers)`` among the live readers of
    ``tensor``."""
    qs, others = [], []
    for n in live_readers(state, tensor):
        node = state.graph.nodes[n]
        if node.op_type == "QuantizeLinear":
            qs.append(node)
        else:
            others.append(n)
    return qs, others


def is_int8_layer(layer) -> bool:
    """A weighted layer that absorbed its DequantizeLinear inputs (TRT403 qdq-weighted)."""
    return "TRT403" in layer.rules


def weight_dq(state, node):
    """The DequantizeLinear in front of a weighted node's weight (input 1), or None."""
    return dq_producer(state, node.inputs[1]) if len(node.inputs) > 1 else None


def weight_is_constant(state, tensor: str) -> bool:
    """True for a constant weight, also behind DequantizeLinear / QuantizeLinear nodes
    (ONNX Runtime's INT8 initializer -> DQ, or a QAT export's float constant -> Q -> DQ)."""
    t = state.resolve(tensor)
    for _ in range(3):
        if state.is_constant(t) or state.graph.is_constant(t):
            return True
        node = state.graph.node_of(t)
        if node is None or node.op_type not in QDQ_OPS:
            return False
        t = state.resolve(node.inputs[0])
    return False


def node_match(rule, state, node, name: str = "node") -> Match:
    """A match on one ONNX node alone, whatever layer it sits in (for lints that look at
    every node of an op type, fused or folded)."""
    from fusionlab.engine import Layer

    layer = Layer([node.name], node.op_type, node.name, node.index)
    return Match(rule, {name: layer}, {}, [layer], state)


def nodes_match(rule, state, named: dict, tensors: dict | None = None) -> Match:
    """A match on the given ONNX nodes alone (``{binding: node}``, the first is the
    anchor), whatever layers they sit in: for a structure that is only ever reported as
    missed, so that its diagnostic names the same nodes in every round."""
    from fusionlab.engine import Layer

    layers = {name: Layer([n.name], n.op_type, n.name, n.index) for name, n in named.items()}
    return Match(rule, layers, dict(tensors or {}), list(layers.values()), state)


def traces_to_graph_input(state, tensor: str) -> str | None:
    """The network input ``tensor`` is (possibly through Q/DQ nodes), or None."""
    t = state.resolve(tensor)
    for _ in range(4):
        if t in state.graph.inputs:
            return t
        node = state.graph.node_of(t)
        if node is None or node.op_type not in QDQ_OPS:
            return None
        t = state.resolve(node.inputs[0])
    return None


def has_qdq(graph) -> bool:
    """True when the model is explicitly quantized (holds a Q or DQ node)."""
    return any(n.op_type in QDQ_OPS for n in graph.nodes.values())


def runs_in_int8(ctx: Context, node) -> bool:
    """Whether weighted node ``node`` computes in INT8: it absorbed its DequantizeLinear
    inputs (explicit quantization, TRT403), or the builder precision is INT8 and the model
    has no Q/DQ at all (implicit quantization, classic TensorRT only)."""
    if is_int8_layer(ctx.state.layer_of[node.name]):
        return True
    return not ctx.strongly_typed and ctx.precision == "int8" and not has_qdq(ctx.graph)


def static_dims(shape) -> bool:
    return shape is not None and all(isinstance(d, int) for d in shape)


def residual_inputs(state, layer) -> list[tuple]:
    """``(node, tensor)`` for each ElementWise member (Add, Sum, Max, Min; TRT104
    conv-eltwise) of a fused layer and each non-constant input it reads from outside the
    layer: the residual operands of a ``conv + add`` layer."""
    members = set(layer.nodes)
    found = []
    for name in layer.nodes:
        node = state.graph.nodes[name]
        if name == layer.host or node.op_type not in ("Add", "Sum", "Max", "Min"):
            continue
        for t in node.inputs:
            if not t or state.is_constant(t):
                continue
            src = state.graph.producer.get(state.resolve(t))
            if src not in members:
                found.append((node, t))
    return found


#: Ops that commute with Q/DQ (phi(DQ(x)) == DQ(phi(x)), Q(phi(x)) == phi(Q(x))): the
#: guide's examples MaxPool, Transpose, Reshape, Slice, Concat (equal scales), and ONNX
#: ops TensorRT's parser maps to the same layers (Flatten, Squeeze, Unsqueeze,
#: DepthToSpace, SpaceToDepth -> Shuffle; Expand, Tile -> Slice; GlobalMaxPool -> max
#: Pooling).
QDQ_COMMUTING = ("MaxPool", "GlobalMaxPool", "Transpose", "Reshape", "Flatten", "Squeeze",
                 "Unsqueeze", "DepthToSpace", "SpaceToDepth", "Slice", "Expand", "Tile",
                 "Concat")
#: Data-movement ops with no documented Q/DQ commutation ("There are no fusions available
#: for a Gather layer", guide "Optimizing Layer Performance").
QDQ_NOT_COMMUTING = ("Gather", "GatherElements", "GatherND")
#: Non-weighted ops with an INT8 implementation: a DQ -> op -> Q sandwich becomes one
#: quantized layer (guide "Q/DQ Fusion"; its figures show AveragePool and an element-wise
#: Add). The list follows the INT8 column of the TensorRT support matrix ("Layers and
#: Precision") for the layers the parser maps these ops to: Pooling, Activation (ReLU,
#: leaky ReLU, clip, sigmoid, tanh, hard sigmoid), ElementWise (sum, sub, prod, max, min),
#: Scale (BatchNormalization), Padding, Resize (nearest). SoftMax, Unary, Reduce, TopK,
#: normalization layers and a MatrixMultiply of two activations are not in it.
QDQ_INT8_OPS = ("AveragePool", "GlobalAveragePool", "Relu", "LeakyRelu", "Clip", "Sigmoid",
                "Tanh", "HardSigmoid", "Add", "Sub", "Mul", "Max", "Min", "Sum",
                "BatchNormalization", "Pad", "Resize")


# ---------------------------------------------------------------- rewrites (fusionlab rewrite)
# Helpers of the rules' ``rewrite`` methods: they edit an onnx-graphsurgeon graph.

def gs_qparams(node):
    """(scale, zero_point or None, axis or None) tensors of a Q/DQ onnx-graphsurgeon node."""
    zp = node.inputs[2] if len(node.inputs) > 2 else None
    return node.inputs[1], zp, node.attrs.get("axis")


def gs_scalar_qparams(node):
    """(scale, zero_point or None) values of a per-tensor Q/DQ gs node; None when the
    parameters are per-axis or not constant."""
    from fusionlab.rewriting import constant_value

    scale, zp, _ = gs_qparams(node)
    sv = constant_value(scale)
    zv = constant_value(zp) if zp is not None else None
    if sv is None or sv.size != 1 or (zp is not None and (zv is None or zv.size != 1)):
        return None
    return float(sv.reshape(-1)[0]), (None if zv is None else int(zv.reshape(-1)[0]))


#: Ops a DequantizeLinear is moved across by the Q/DQ rewrites (ONNX and ONNX Runtime run
#: them on INT8: MaxPool from opset 12; GlobalMaxPool is float-only in ONNX).
DQ_MOVABLE = ("MaxPool", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Slice", "Concat")


def move_dq_after(graph, phi, what: str = "") -> str:
    """Rewrite ``phi(DQ(x_i))`` as ``DQ(phi(x_i))``: phi reads the quantized tensors and one
    DequantizeLinear (the first input's scale and zero_point) writes phi's original output
    tensor, so every reader keeps its input. Exact for a per-tensor DQ with a positive
    scale (phi moves or takes the max of values; Concat needs one scale and zero_point).

    Raises:
        CannotRewrite: an input is not dequantized, per-axis or unequal parameters, a
            MaxPool with an Indices output or an opset without INT8 MaxPool.
    """
    import onnx_graphsurgeon as gs

    from fusionlab.rewriting import CannotRewrite, fresh_name

    if phi.op not in DQ_MOVABLE:
        raise CannotRewrite(f"{phi.name} ({phi.op}): the rewrite moves a DequantizeLinear across "
                            f"{', '.join(DQ_MOVABLE)} only (ONNX has no INT8 {phi.op})")
    data_idx = list(range(len(phi.inputs))) if phi.op == "Concat" else [0]
    dqs = []
    for i in data_idx:
        t = phi.inputs[i]
        producer = t.inputs[0] if len(t.inputs) == 1 else None
        if producer is None or producer.op != "DequantizeLinear":
            raise CannotRewrite(f"{phi.name} input {t.name} is not dequantized")
        dqs.append(producer)
    params = [gs_scalar_qparams(d) for d in dqs]
    if any(p is None for p in params):
        raise CannotRewrite(f"{phi.name} reads a per-channel or non-constant DequantizeLinear; the "
                            "rewrite moves per-tensor Q/DQ only")
    if any(p != params[0] for p in params[1:]):
        raise CannotRewrite(f"{phi.name} reads inputs dequantized with different scales or zero points")
    if params[0][0] <= 0:
        raise CannotRewrite(f"{dqs[0].name} has the non-positive scale {params[0][0]}")
    if phi.op == "MaxPool" and (len(phi.outputs) > 1 or graph.opset < 12):
        raise CannotRewrite(f"{phi.name} also returns Indices, or opset {graph.opset} has no INT8 MaxPool")
    for i, dq in zip(data_idx, dqs):
        phi.inputs[i] = dq.inputs[0]
    y = phi.outputs[0]
    y_q = gs.Variable(fresh_name(graph, f"{y.name}_quantized"), dtype=dqs[0].inputs[0].dtype)
    phi.outputs[0] = y_q
    scale, zp, axis = gs_qparams(dqs[0])
    graph.nodes.append(gs.Node("DequantizeLinear", fresh_name(graph, f"{phi.name}_DequantizeLinear"),
                               {} if axis is None else {"axis": axis},
                               inputs=[y_q, scale] + ([zp] if zp is not None else []), outputs=[y]))
    return f"moved the DequantizeLinear after {phi.name} ({phi.op} runs on INT8){what}"


def gelu_op_rewrite(m: Match, graph, approximate: str, expected: list, what: str) -> str | None:
    """The GELU rules' rewrite: from opset 20, the matched chain becomes one ``Gelu`` op.

    TensorRT-RTX 1.7 fuses every GELU spelling (erf with Div or Mul, the three association
    orders, tanh with Pow, and the opset-20 ``Gelu`` op) into the producing GEMM as one
    ``runtime_fusion`` kernel (measured: MatMul -> Add -> GELU -> MatMul, FP32), so below
    opset 20 there is nothing to gain and the chain is kept (the opset is never raised).
    The op computes the exact formula: constants off by more than float32 rounding
    (rtol 1e-6; a 1.414 for sqrt(2)) would change the outputs, so the rewrite refuses them.
    """
    import onnx_graphsurgeon as gs

    from fusionlab.rewriting import CannotRewrite, fresh_name, node_of

    if graph.opset < 20:
        return None
    off = constants_mismatch(m, expected, what, rtol=1e-6)
    if off:
        raise CannotRewrite(f"{off}: the Gelu op computes the exact formula, so it would change the outputs")
    out_node = node_of(graph, m.node("out").name)
    x = graph.tensors()[m.state.resolve(m.tensor("x"))]
    y = out_node.outputs[0]
    out_node.outputs.clear()
    name = fresh_name(graph, f"{out_node.name}_Gelu")
    graph.nodes.append(gs.Node("Gelu", name, {"approximate": approximate}, inputs=[x], outputs=[y]))
    return f"replaced the {len(m.nodes)}-op {what} ending at {out_node.name} by one Gelu op ({name})"


# ---------------------------------------------------------------- TensorRT-RTX INT8 kernels
# Helpers of the TensorRT-RTX Q/DQ structure (TRT403, TRT410 qdq-epilogue).

def is_depthwise_conv(graph, node) -> bool:
    """A Conv with more than one group and one input channel per group (the weight,
    possibly behind a DequantizeLinear, has shape [C_out, 1, k, k])."""
    if node.op_type != "Conv" or (node.attr("group", 1) or 1) <= 1 or len(node.inputs) < 2:
        return False
    shape = graph.shape(node.inputs[1])
    if shape is None:
        src = graph.node_of(node.inputs[1])
        if src is not None and src.op_type in QDQ_OPS:
            shape = graph.shape(src.inputs[0])
    return shape is not None and len(shape) > 1 and shape[1] == 1


def extra_readers_reason(ctx, t: str, q, who: str) -> str | None:
    """The ``single-consumer`` reason of an INT8 layer ``who`` whose output ``t`` must be
    read by QuantizeLinear nodes with ``q``'s scale and zero_point only (TRT405, TRT406)."""
    qs, others = quantized_readers(ctx.state, t)
    others = others + [f"{n.name} (another scale)" for n in qs if same_qparams(ctx.state, q, n) is False]
    if t in ctx.graph.outputs:
        others.append(f"<graph output {t}>")
    if not others:
        return None
    return (f"{who} output {t} is also read by {', '.join(others)}; the INT8 layer needs "
            "QuantizeLinear readers with one scale and zero_point only")
