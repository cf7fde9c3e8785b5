"""TRT110 conv-generic-activation."""

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check, single_consumer
from fusionlab.rules.common.values import constant_of

from fusionlab.rules.common.layers import DataOp, data_inputs, precision_fp16_or_int8, reader_layers, sm_at_least
from fusionlab.rules.common.ops import ACTIVATIONS, CONVS, ELEMENTWISE, REDUCES, UNARY

#: Layers that are a generic activation when they have one input and one output: a fused
#: PointWise layer, or a lone Activation / Unary op, or a lone ElementWise op whose other
#: operands are one-value constants (a uniform Scale). Relu, Clip and Gelu have their own
#: conv fusions (TRT101-TRT103), whose misses must stand.
GENERIC = ("PointWise",) + tuple(k for k in ACTIVATIONS + UNARY + ELEMENTWISE
                                 if k not in ("Relu", "Clip", "Gelu"))


def gelu_node(graph, layer) -> str | None:
    """A node showing that a pointwise layer holds a GELU: an Erf, an ONNX Gelu, or the
    Tanh of the tanh formula (a Tanh next to a Pow); None otherwise."""
    ops = {graph.nodes[n].op_type: n for n in reversed(layer.nodes)}
    for key in ("Gelu", "Erf"):
        if key in ops:
            return ops[key]
    return ops["Tanh"] if "Tanh" in ops and "Pow" in ops else None


#: Layer kinds TensorRT-RTX compiles as reduction kgen kernels.
REDUCTION_KINDS = REDUCES + ("GlobalAveragePool", "GlobalMaxPool")


class ConvGenericActivation(Rule):
    """A Convolution followed by a one-input one-output pointwise layer fuses into it.

    What it fuses: Conv or ConvTranspose (with whatever it already fused) -> a PointWise
    layer (made by the PointWise fusion, phase 40), a lone Activation / Unary op other
    than Relu, Clip and Gelu, or a lone ElementWise op by a one-value constant (the
    PointWise members of the guide), one of whose non-constant inputs is the convolution
    output: SiLU ``x * sigmoid(x)``, HardSwish, LeakyRelu, Mish, ``* 0.5``. A lone
    ElementWise op with a second tensor or a larger constant is not a generic activation
    (TRT104 conv-eltwise and TRT106 conv-scale cover those). Runs in phase 45, after the
    PointWise fusion.
    Why it matters: the whole pointwise chain runs in the convolution's epilogue (a
    "generic activation"); unfused it is a separate kernel over the activation.
    Conditions: `one-input-one-output` -- the pointwise layer reads one non-constant
    tensor (the convolution output) and writes one; `single-consumer` -- the
    convolution's output is read by the pointwise layer only; when the chain holds a GELU
    (an Erf, a Gelu op, or Tanh with Pow), the conditions of Convolution and GELU apply
    too, so a GELU missed by TRT103 conv-gelu is not fused through this rule:
    `precision-fp16-or-int8` and `sm-7.5-or-newer` (TensorRT only).
    TensorRT-RTX fuses pointwise chains into the preceding convolution as well (``kgen``
    epilogues), except a chain whose result a pooling or reduction reads (EfficientNet's
    SiLU before a squeeze-excitation GlobalAveragePool): the chain then runs in the
    reduction's kgen kernel and the convolution is alone (live builds of torchvision
    efficientnet_b0): `no-reduction-reader`, TensorRT-RTX only.
    Source: TensorRT Developer Guide (TensorRT 8.6), "Types of Fusions": Convolution and
    Generic Activation.
    """

    code = "TRT110"
    #: the convolution layer holds an activation (depthwise-separable asks for it)
    tags = ('activation',)
    name = "conv-generic-activation"
    phase = 45
    pattern = DataOp(GENERIC, Op(CONVS, name="conv"), name="act")
    host = "conv"
    cost = 3

    def accept(self, b, state):
        act = b.layers["act"]
        if act.kind not in ELEMENTWISE:
            return True
        node = state.graph.nodes[act.nodes[0]]
        consts = [t for t in node.inputs if t and state.is_constant(t)]
        sizes = [getattr(constant_of(state, t), "size", None) for t in consts]
        return len(act.nodes) == 1 and len(data_inputs(state, act)) == 1 and all(n == 1 for n in sizes)

    @check("one-input-one-output")
    def one_in_one_out(self, m, ctx):
        act = m.layer("act")
        ins = data_inputs(m.state, act)
        outs = m.state.layer_outputs(act)
        if len(ins) == 1 and len(outs) == 1:
            return None
        return (f"the pointwise layer {', '.join(act.nodes)} reads {len(ins)} non-constant tensors "
                f"({', '.join(ins)}) and writes {len(outs)} ({', '.join(outs)}); a generic "
                "activation has one input and one output")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("no-reduction-reader", targets=("tensorrt-rtx",))
    def no_reduction_reader(self, m, ctx):
        readers, _ = reader_layers(ctx.state, m.layer("act"))
        pools = [r for r in readers if r.kind in REDUCTION_KINDS]
        if not pools:
            return None
        return (f"{m.layer('act').nodes[-1]} is read by {pools[0].nodes[0]} ({pools[0].kind}); "
                "TensorRT-RTX computes the pointwise chain in that reduction's kgen kernel, "
                "not in the convolution's epilogue")

    @check("precision-fp16-or-int8", targets=("tensorrt",))
    def gelu_precision(self, m, ctx):
        node = gelu_node(ctx.graph, m.layer("act"))
        return None if node is None else precision_fp16_or_int8(
            ctx, f"a pointwise chain holding a GELU ({node}) after a Convolution")

    @check("sm-7.5-or-newer", targets=("tensorrt",))
    def gelu_sm(self, m, ctx):
        node = gelu_node(ctx.graph, m.layer("act"))
        return None if node is None else sm_at_least(
            ctx, 7.5, f"a pointwise chain holding a GELU ({node}) after a Convolution")
