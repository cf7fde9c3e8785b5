"""Helpers of the explicit-quantization rules (TRT401-TRT410) and the INT8 lints.

Source: TensorRT Developer Guide, "Explicit Quantization" and "Q/DQ Fusion".
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from onnx import TensorProto as _TensorProto

from fusionlab.rule import Context, Match
from fusionlab.rules.common.ops import QDQ_OPS
from fusionlab.rules.common.shapes import live_readers
from fusionlab.rules.common.values import constant_of


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


def joining_quantizers(state, tensor: str, first=None) -> list[tuple]:
    """``(node, layer)`` of each free (lone, live) QuantizeLinear reading ``tensor`` with
    the scale and zero_point of ``first`` (default: the first QuantizeLinear reader), in
    reader order: the identical quantizations TensorRT merges into the layer writing
    ``tensor`` (guide "Q/DQ Fusion"). The one merge of sibling readers of the Q/DQ rules
    (TRT404-TRT407), which no pattern can say (an unbounded set of readers)."""
    qs, _ = quantized_readers(state, tensor)
    if not qs:
        return []
    first = qs[0] if first is None else first
    found = []
    for q in qs:
        mine = lone_layer(state, q.name)
        if mine is not None and (q.name == first.name or same_qparams(state, first, q)):
            found.append((q, mine))
    return found


def is_int8_layer(layer) -> bool:
    """A weighted layer that absorbed its DequantizeLinear inputs (TRT403 qdq-weighted)."""
    return "int8-weighted" in layer.tags


def is_matmul_layer(state, layer) -> bool:
    """Whether ``layer`` holds a MatMul node: its INT8 kernel ends at its output
    QuantizeLinear (no bias inside to apply), unlike a convolution's epilogue (TRT410)."""
    return any(state.graph.nodes[n].op_type == "MatMul" for n in layer.nodes)


def weight_dq(state, node):
    """The DequantizeLinear in front of a weighted node's weight (input 1), or None."""
    return dq_producer(state, node.inputs[1]) if len(node.inputs) > 1 else None


def qdq_chain(state, tensor: str, max_hops: int) -> Iterator[str]:
    """``tensor`` (resolved), then input 0 of each QuantizeLinear / DequantizeLinear that
    produces the previous one, at most ``max_hops`` nodes back. Graph level: it also passes
    Q/DQ nodes that constant folding absorbed or a fusion put in another layer (a layer-level
    path is a :class:`fusionlab.pattern.Through`); the one walk of the helpers below."""
    t = state.resolve(tensor)
    yield t
    for _ in range(max_hops):
        node = state.graph.node_of(t)
        if node is None or node.op_type not in QDQ_OPS:
            return
        t = state.resolve(node.inputs[0])
        yield t


def weight_is_constant(state, tensor: str) -> bool:
    """True for a constant weight, also behind DequantizeLinear / QuantizeLinear nodes
    (ONNX Runtime's INT8 initializer -> DQ, or a QAT export's float constant -> Q -> DQ)."""
    return any(state.is_constant(t) or state.graph.is_constant(t) for t in qdq_chain(state, tensor, 2))


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
    return next((t for t in qdq_chain(state, tensor, 3) if t in state.graph.inputs), None)


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


