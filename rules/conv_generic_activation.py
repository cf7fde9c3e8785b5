"""TRT110 conv-generic-activation."""

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check, single_consumer

from rules._common import ACTIVATIONS, CONVS, UNARY, DataOp, data_inputs

#: Layers that are a generic activation when they have one input and one output: a fused
#: PointWise layer, or a lone Activation / Unary op. Relu, Clip and Gelu have their own
#: conv fusions (TRT101-TRT103), whose misses must stand.
GENERIC = ("PointWise",) + tuple(k for k in ACTIVATIONS + UNARY if k not in ("Relu", "Clip", "Gelu"))


class ConvGenericActivation(Rule):
    """A Convolution followed by a one-input one-output pointwise layer fuses into one
    Convolution layer (``conv + pointwise``).

    What it fuses: Conv or ConvTranspose (with whatever it already fused) -> a PointWise
    layer (made by the PointWise fusion, phase 40) or a lone Activation / Unary op other
    than Relu, Clip and Gelu, whose only non-constant input is the convolution output:
    SiLU ``x * sigmoid(x)``, HardSwish, LeakyRelu, Mish. Runs in phase 45, after the
    PointWise fusion.
    Why it matters: the whole pointwise chain runs in the convolution's epilogue (a
    "generic activation"); unfused it is a separate kernel over the activation.
    Conditions: `one-input-one-output` -- the pointwise layer reads one non-constant
    tensor (the convolution output) and writes one; `single-consumer` -- the
    convolution's output is read by the pointwise layer only.
    TensorRT-RTX fuses pointwise chains into the preceding convolution as well (``kgen``
    epilogues): same grouping.
    Source: TensorRT Developer Guide (TensorRT 8.6), "Types of Fusions": Convolution and
    Generic Activation.
    """

    code = "TRT110"
    name = "conv-generic-activation"
    phase = 45
    pattern = DataOp(GENERIC, Op(CONVS, name="conv", free=True), name="act")
    host = "conv"
    cost = 3

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
