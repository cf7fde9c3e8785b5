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
        value = state.const_value(node.inputs[1])
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
