"""TRT106 conv-scale."""

import numpy as np

from fusionlab.pattern import Const, Op, Var, op
from fusionlab.rule import Rule, check, fmt_shape, single_consumer

from rules._common import CONVS, constant_of, rtx_inside_graph, scale_mode

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
    sits inside the graph (TENSORRT-RTX.md). Elementwise constants were not measured on
    RTX; the classic rule applies.
    Source: TensorRT Developer Guide, "Types of Fusions": Convolution and Scale.
    """

    code = "TRT106"
    name = "conv-scale"
    phase = 28
    pattern = (
        op.BatchNormalization(Op(WEIGHTED, name="conv", free=True), name="scale"),
        Op(("Mul", "Add"), Op(CONVS, name="conv", free=True), Const("k"), name="scale"),
        op.Pow(Op(CONVS, name="conv", free=True), Var("k"), name="scale"),
    )
    host = "conv"
    cost = 3

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
