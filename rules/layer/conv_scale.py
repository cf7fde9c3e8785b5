"""TRT106 conv-scale."""

import numpy as np

from fusionlab.pattern import Const, Op, Var, op
from fusionlab.rule import Rule, check, fmt_shape, single_consumer
from fusionlab.rules.common.values import constant_of

from fusionlab.rules.common.layers import rtx_inside_graph
from fusionlab.rules.common.ops import CONVS
from fusionlab.rules.common.shapes import scale_mode

#: Layers a BatchNormalization folds into (a FullyConnected is a convolution to TensorRT).
WEIGHTED = CONVS + ("FullyConnected",)


class ConvScale(Rule):
    """A Convolution followed by a Scale is folded into its weights (``conv + bn``).

    What it fuses: Conv or ConvTranspose -> BatchNormalization (inference), or -> Mul /
    Add with a constant, or -> Pow with an exponent (the three ONNX forms of TensorRT's
    Scale layer: scale, shift, power); also FullyConnected -> BatchNormalization
    (TensorRT converts the FullyConnected to a convolution first). The Scale's constants
    are folded into the convolution's weights and bias, so the layer stays a convolution.
    Runs in phase 28, before the other convolution fusions: TensorRT's "scale fusion"
    pass runs before its vertical fusions, so Conv->BN->Add->Relu is ``conv + bn + add +
    relu``.
    Why it matters: unfused, the Scale is a separate kernel over the whole activation;
    folded, it costs nothing at run time.
    Conditions: `inference-mode` -- BatchNormalization with ``training_mode`` 0 and
    constant scale, B, mean, var; `power-constant` -- a Pow exponent is a constant
    (the guide: "disabled if the scale has a non-constant power parameter");
    `scale-uniform-or-channel` -- the constant is uniform (one value) or per-channel
    (``[C,1,1]`` or ``[1,C,1,1]``), not elementwise; `single-consumer` -- the
    convolution's output is read by the Scale only; `inside-graph` (TensorRT-RTX only) --
    a BatchNormalization is not a graph output.
    TensorRT-RTX: Conv->BN and Conv->Mul->Add per channel run as a conv epilogue
    (``CorrMulAdd``): same grouping; Conv->BatchNormalization fuses only when the pattern
    sits inside the graph (docs/TENSORRT-RTX.md#context-matters). Elementwise constants were not measured on
    RTX; the classic rule applies.
    Source: TensorRT Developer Guide, "Types of Fusions": Convolution and Scale.
    """

    code = "TRT106"
    name = "conv-scale"
    phase = 28
    pattern = (
        op.BatchNormalization(Op(WEIGHTED, name="conv"), name="scale"),
        Op(("Mul", "Add"), Op(CONVS, name="conv"), Const("k"), name="scale"),
        op.Pow(Op(CONVS, name="conv"), Var("k"), name="scale"),
    )
    host = "conv"
    cost = 3
    rewrites_on = ("predicted", "missed")
    fixes = ("inside-graph",)

    @check("inference-mode")
    def inference(self, m, ctx):
        bn = m.node("scale")
        if bn.op_type != "BatchNormalization":
            return None
        if bn.attr("training_mode", 0):
            return f"{bn.name} has training_mode=1; the fusion needs an inference BatchNormalization"
        runtime = [t for t in bn.inputs[1:5] if t and not m.state.is_constant(t)]
        if runtime:
            return (f"{bn.name} reads {', '.join(runtime)} from non-constant tensors; folding "
                    "needs constant scale, B, mean and var")
        return None

    @check("power-constant")
    def power_constant(self, m, ctx):
        node = m.node("scale")
        if node.op_type == "Pow" and not m.state.is_constant(m.tensor("k")):
            return (f"{node.name} raises to the non-constant exponent {m.tensor('k')}; "
                    "the fusion needs a constant power")
        return None

    @check("scale-uniform-or-channel")
    def mode(self, m, ctx):
        node = m.node("scale")
        if node.op_type == "BatchNormalization":
            return None
        value = constant_of(m.state, m.tensor("k"))
        out = ctx.graph.shape(m.state.layer_outputs(m.layer("conv"))[0])
        if scale_mode(value, out) in ("uniform", "channel", None):
            return None
        return (f"{node.name} ({node.op_type}) uses a constant of shape {fmt_shape(np.shape(value))} "
                f"on the convolution output {fmt_shape(out)}: an elementwise Scale; the fusion "
                "needs a uniform (size 1) or per-channel ([C,1,1] or [1,C,1,1]) constant")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("inside-graph", targets=("tensorrt-rtx",))
    def inside_graph(self, m, ctx):
        if m.node("scale").op_type != "BatchNormalization":
            return None
        return rtx_inside_graph(m, ctx, "scale", "Conv->BatchNormalization")

    def rewrite(self, m, graph):
        """Fold the Scale into the convolution's weights and bias (``fusionlab rewrite``).

        BatchNormalization: ``W' = W * s``, ``b' = (b - mean) * s + beta`` with ``s = gamma /
        sqrt(var + epsilon)``; Mul: ``W' = W * k``, ``b' = b * k``; Add: ``b' = b + k``
        (uniform or per-channel ``k``), computed in float64 and stored in the weights'
        dtype; ConvTranspose scales its output channels (axis 1, per group). Exact up to
        float rounding. The convolution takes over the Scale's output tensor, so graph
        output names stay (this fixes TensorRT-RTX's `inside-graph` miss). A Pow is not
        linear: left to TensorRT's Scale layer (nothing to do). Refused: weights or bias
        that are not constants (a DequantizeLinear), an elementwise constant, a Gemm.
        """
        from fusionlab.rewriting import CannotRewrite, constant, constant_value, node_of

        conv_node, scale_node = m.node("conv"), m.node("scale")
        if conv_node.op_type not in CONVS:
            raise CannotRewrite(f"{conv_node.name} is a {conv_node.op_type}; the rewrite folds a Scale "
                                "into Conv and ConvTranspose weights only")
        if scale_node.op_type == "Pow":
            return None
        conv, scale = node_of(graph, conv_node.name), node_of(graph, scale_node.name)
        y = conv.outputs[0]
        if y not in scale.inputs:
            return None  # another Scale sits in between: it is folded first, this one next round
        w = constant_value(conv.inputs[1])
        if w is None or not np.issubdtype(w.dtype, np.floating):
            raise CannotRewrite(f"{conv.name} reads its weights from {conv.inputs[1].name}, not a float "
                                "constant (a DequantizeLinear?); folding needs float weights to scale")
        group = int(conv.attrs.get("group", 1))
        cout = w.shape[0] if conv.op == "Conv" else w.shape[1] * group
        b = constant_value(conv.inputs[2]) if len(conv.inputs) > 2 else np.zeros(cout, w.dtype)
        if b is None:
            raise CannotRewrite(f"{conv.name} reads its bias from {conv.inputs[2].name}, not a constant")
        if scale.op == "BatchNormalization":
            values = [constant_value(t) for t in scale.inputs[1:5]]
            if any(v is None for v in values):
                raise CannotRewrite(f"{scale.name} has non-constant parameters")
            gamma, beta, mean, var = (np.asarray(v, np.float64).reshape(-1) for v in values)
            mul = gamma / np.sqrt(var + float(scale.attrs.get("epsilon", 1e-5)))
            add = beta - mean * mul
        else:
            k = constant_value(next(t for t in scale.inputs if t is not y))
            vec = _per_channel(k, cout, w.ndim)
            if vec is None:
                raise CannotRewrite(f"{scale.name} uses a constant of shape {list(np.shape(k))}: not "
                                    f"uniform or per-channel over {cout} channels, so not foldable")
            mul, add = (vec, np.zeros(cout)) if scale.op == "Mul" else (np.ones(cout), vec)
        mul, add = np.broadcast_to(mul, (cout,)), np.broadcast_to(add, (cout,))
        w_new = w.astype(np.float64)
        if conv.op == "Conv":
            w_new = w_new * mul.reshape((-1,) + (1,) * (w.ndim - 1))
        else:  # ConvTranspose [Cin, Cout/group, k...]: output channel g*per + j
            per, cin_g = w.shape[1], w.shape[0] // group
            for g in range(group):
                w_new[g * cin_g:(g + 1) * cin_g] *= mul[g * per:(g + 1) * per].reshape(
                    (1, -1) + (1,) * (w.ndim - 2))
        conv.inputs[1] = constant(graph, f"{conv.name}_weight_folded", w_new.astype(w.dtype))
        bias = constant(graph, f"{conv.name}_bias_folded", (b.astype(np.float64) * mul + add).astype(w.dtype))
        if len(conv.inputs) > 2:
            conv.inputs[2] = bias
        else:
            conv.inputs.append(bias)
        out = scale.outputs[0]
        scale.outputs.clear()
        scale.inputs.clear()
        conv.outputs[0] = out
        return f"folded {scale.name} ({scale_node.op_type}) into {conv.name}'s weights and bias"


def _per_channel(k, cout: int, rank: int):
    """A uniform or per-channel constant over an N, C, ... output of ``rank`` dims as a
    [cout] vector, else None (elementwise, or a channel count that differs)."""
    if k is None:
        return None
    k = np.asarray(k, np.float64)
    if k.size == 1:
        return np.full(cout, float(k.reshape(-1)[0]))
    if k.ndim > rank:
        return None
    shape = (1,) * (rank - k.ndim) + k.shape
    if shape[0] != 1 or shape[1] != cout or any(d != 1 for d in shape[2:]):
        return None
    return k.reshape(-1)
