"""TRT103 conv-gelu."""

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.layers import DataOp, is_erf_gelu, precision_fp16_or_int8, rtx_inside_graph, sm_at_least
from fusionlab.rules.common.ops import CONVS


class ConvGelu(Rule):
    """A Convolution followed by a GELU fuses into one Convolution layer (``conv + gelu``).

    What it fuses: Conv or ConvTranspose -> GELU, where the GELU is a layer of kind
    ``Gelu`` (the erf or tanh formula, fused by the GELU reduction rules) or an ONNX
    ``Gelu`` op (opset 20). The GELU's only non-constant input is the convolution output.
    Why it matters: the GELU runs in the convolution kernel's epilogue; unfused, the
    activation is written and read again by a separate GELU kernel.
    Conditions: `precision-fp16-or-int8` -- input and output precision FP16 or INT8
    (TensorRT only); `sm-7.5-or-newer` -- Turing or newer (TensorRT only);
    `single-consumer` -- the convolution's output is read by the GELU only;
    `inside-graph` (TensorRT-RTX only) -- an erf-form GELU is not a graph output.
    TensorRT-RTX differs: it fuses Conv->GELU in FP32 too (one runtime_fusion kernel;
    networks are strongly typed, there is no precision flag), so the precision and SM
    checks apply to classic TensorRT only; but it fuses the erf form only when the pattern
    sits inside the graph (docs/TENSORRT-RTX.md#conv-gelu-erf), hence `inside-graph` on RTX.
    Source: TensorRT Developer Guide, "Types of Fusions": Convolution and GELU Activation.
    """

    code = "TRT103"
    #: the convolution layer holds an activation (depthwise-separable asks for it)
    tags = ('activation',)
    name = "conv-gelu"
    pattern = DataOp("Gelu", Op(CONVS, name="conv"), name="gelu")
    host = "conv"
    cost = 3

    @check("precision-fp16-or-int8", targets=("tensorrt",))
    def precision(self, m, ctx):
        return precision_fp16_or_int8(ctx, "Convolution + GELU")

    @check("sm-7.5-or-newer", targets=("tensorrt",))
    def sm(self, m, ctx):
        return sm_at_least(ctx, 7.5, "Convolution + GELU (Turing)")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("inside-graph", targets=("tensorrt-rtx",))
    def inside_graph(self, m, ctx):
        if not is_erf_gelu(m.state, m.layer("gelu")):
            return None
        return rtx_inside_graph(m, ctx, "gelu", "Conv->GELU(erf)")
