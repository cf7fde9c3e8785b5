"""TRT121 scale-activation."""

from fusionlab.pattern import Const, Op, Var, op
from fusionlab.rule import Rule, check, fmt_shape, single_consumer
from fusionlab.rules.common.values import constant_of

from fusionlab.rules.common.ops import ACTIVATIONS
from fusionlab.rules.common.shapes import scale_mode


class ScaleActivation(Rule):
    """A Scale followed by an Activation fuses into one Activation layer (``scale + act``).

    What it fuses: a Scale -- BatchNormalization (inference, constant parameters), or Mul /
    Add / Pow of a tensor by a uniform (one value) or per-channel ([C, 1, 1]) constant --
    followed by any Activation (Relu, Sigmoid, Tanh, Clip, LeakyRelu, ..., or a fused Gelu
    layer). The fused layer keeps the activation's kind. A Scale right after a Convolution
    is folded into its weights by conv-scale (TRT106, phase 28) before this rule runs;
    only a Scale conv-scale left (e.g. the convolution has a second reader) fuses here.
    Why it matters: the scale runs in the activation kernel instead of its own kernel that
    reads and writes the whole tensor.
    Conditions: `single-consumer` -- the Scale's output is read by the activation only;
    `scale-uniform-or-channel` -- a Mul/Add/Pow constant of another shape is an
    elementwise operation, not a Scale (classic TensorRT only: TensorRT-RTX compiles any
    pointwise chain into one kernel, docs/TENSORRT-RTX.md#pointwise-chains-and-reductions,
    so the constant's shape does not matter there).
    Source: TensorRT Developer Guide, "Types of Fusions": Scale and Activation.
    """

    code = "TRT121"
    name = "scale-activation"
    pattern = (
        Op(ACTIVATIONS, Op(("Mul", "Add"), Var("x"), Const("c"), name="scale"), name="act"),
        Op(ACTIVATIONS, op.Pow(Var("x"), Const("c"), name="scale"), name="act"),
        Op(ACTIVATIONS, op.BatchNormalization(Var("x"), name="scale"), name="act"),
    )
    cost = 1

    def accept(self, b, state):
        scale = state.graph.nodes[b.layers["scale"].host_or_first]
        if scale.op_type != "BatchNormalization":
            return True
        # training mode or runtime statistics: elementwise ops, not a Scale layer
        return not scale.attr("training_mode", 0) and all(
            state.is_constant(t) for t in scale.inputs[1:5] if t)

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("scale-uniform-or-channel", targets=("tensorrt",))
    def uniform_or_channel(self, m, ctx):
        scale = m.node("scale")
        if scale.op_type == "BatchNormalization":
            return None
        value = constant_of(ctx.state, m.tensor("c"))
        mode = scale_mode(value, ctx.graph.shape(scale.outputs[0]))
        if mode in ("uniform", "channel", None):
            return None
        return (f"{scale.name} ({scale.op_type}) has a constant of shape {fmt_shape(value.shape)} "
                f"on an output of shape {fmt_shape(ctx.graph.shape(scale.outputs[0]))} (elementwise); "
                f"a Scale needs a uniform (one value) or per-channel ([C, 1, 1]) constant")

    def describe(self, m):
        return f"{', '.join(m.nodes)} fuse into one {m.anchor.kind} Activation layer"
