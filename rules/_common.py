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
