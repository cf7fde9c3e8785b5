"""TRT108 fc-gelu."""

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.layers import DataOp, precision_fp16_or_int8, sm_at_least


class FcGelu(Rule):
    """A FullyConnected layer followed by a GELU fuses into one layer (``fc + gelu``).

    What it fuses: FullyConnected (a Gemm or MatMul with constant 2-D weights, bias Add
    included; see TRT109 fc-as-conv) -> GELU, where the GELU is a layer of kind ``Gelu``
    (erf or tanh formula, fused by the GELU reduction rules) or an ONNX ``Gelu`` op
    (opset 20) whose only non-constant input is the FullyConnected output.
    Why it matters: the GELU runs in the GEMM epilogue; unfused, the transformer FFN's
    widest activation is written and read again by a separate kernel.
    Conditions: `precision-fp16-or-int8` -- input and output FP16 or INT8 (TensorRT
    only); `sm-7.5-or-newer` -- Turing or newer (TensorRT only); `single-consumer` -- the
    FullyConnected output is read by the GELU only.
    TensorRT-RTX differs: networks are strongly typed and it fuses Conv->GELU in FP32
    (docs/TENSORRT-RTX.md#comparing-kernels-with-predictions; a 1x1 conv lowered to GEMM holds the following GELU), so the
    precision and SM checks apply to classic TensorRT only.
    Source: TensorRT Developer Guide, "Types of Fusions": FullyConnected and GELU
    Activation.
    """

    code = "TRT108"
    name = "fc-gelu"
    pattern = DataOp("Gelu", Op("FullyConnected", name="fc"), name="gelu")
    host = "fc"
    cost = 3

    @check("precision-fp16-or-int8", targets=("tensorrt",))
    def precision(self, m, ctx):
        return precision_fp16_or_int8(ctx, "FullyConnected + GELU")

    @check("sm-7.5-or-newer", targets=("tensorrt",))
    def sm(self, m, ctx):
        return sm_at_least(ctx, 7.5, "FullyConnected + GELU (Turing)")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
