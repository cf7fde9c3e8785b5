"""TRT401 qdq-zero-point."""

import numpy as np
from onnx import TensorProto

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check

from fusionlab.rules.common.ops import QDQ_OPS
from fusionlab.rules.common.qdq import dtype_name, fmt_values, qdq_zero_point

#: zero_point types TensorRT quantizes to: signed INT8 (and the FP8 / INT4 / FP4 formats
#: of newer releases). An INT32 zero_point is the quantized bias TRT402 reports.
SIGNED_TYPES = (TensorProto.INT8, TensorProto.INT4, TensorProto.FLOAT8E4M3FN,
                TensorProto.FLOAT8E5M2, TensorProto.INT32)
if hasattr(TensorProto, "FLOAT4E2M1"):
    SIGNED_TYPES += (TensorProto.FLOAT4E2M1,)


class QdqZeroPoint(Rule):
    """A Q/DQ node whose zero_point is non-zero or unsigned: TensorRT's ONNX parser rejects it.

    What it fuses: nothing; a parser check on every QuantizeLinear / DequantizeLinear of
    the model (fused, folded or not).
    Why it matters: TensorRT quantizes symmetrically to signed INT8: "Starting in TensorRT
    7.0, it's required that zero_point is 0". The parser stops on the first violation
    ("Non-zero zero point is not supported", measured with TensorRT-RTX 1.7), so no engine
    is built at all. ONNX Runtime's quantize_static writes such models by default
    (asymmetric UINT8 activations); `ActivationSymmetric=True`, `WeightSymmetric=True` and
    `QuantType.QInt8` give what TensorRT needs.
    Conditions: `zero-point-is-zero` -- every zero_point value is 0 (the values found are
    named); `zero-point-int8` -- the zero_point type is signed INT8 (or FP8 / INT4), not
    UINT8: TensorRT's INT8 is signed, and TensorRT-RTX crashed on a UINT8 zero point (with
    the DLA asymmetric flag). An omitted zero_point is 0 and is not reported; an INT32
    zero_point belongs to a quantized bias (TRT402 qdq-bias-int32).
    TensorRT-RTX rejects a non-zero zero point the same way (docs/TENSORRT-RTX.md#parser-rejections, parser
    rejections).
    Severity: error -- TensorRT's parser rejects the model; no engine is built.
    Source: TensorRT Developer Guide, "Q/DQ Fusion" (TensorRT 7: "QDQ Fusion"); TensorRT
    "Explicit Quantization".
    """

    severity = "error"
    code = "TRT401"
    name = "qdq-zero-point"
    kind = "lint"
    level = "onnx"  # the parser sees every Q/DQ, also ones folding or an erasure (TRT408) absorbed
    pattern = Op(QDQ_OPS, name="q", where=lambda node: node.domain in ("", "ai.onnx"))
    phase = 90
    cost = 3
    rejects = ("zero-point-is-zero",)

    @check("zero-point-is-zero")
    def zero(self, q, ctx):
        node = q
        value, dtype, tensor = qdq_zero_point(ctx.state, node)
        if value is None:
            return None
        v = np.asarray(value).reshape(-1)
        if not np.issubdtype(v.dtype, np.number) or not np.any(v != 0):
            return None
        nonzero = int(np.count_nonzero(v))
        found = fmt_values(value) if v.size == 1 else f"{fmt_values(value)}, {nonzero} of them non-zero"
        return (f"{node.name} has zero_point {tensor} = {found} ({dtype_name(dtype)}); TensorRT's "
                "parser needs 0 (\"Non-zero zero point is not supported\"): quantize "
                "symmetrically")

    @check("zero-point-int8")
    def int8(self, q, ctx):
        node = q
        value, dtype, tensor = qdq_zero_point(ctx.state, node)
        if tensor is None or dtype is None or dtype in SIGNED_TYPES:
            return None
        return (f"{node.name} has a {dtype_name(dtype)} zero_point ({tensor}); TensorRT "
                "quantizes to signed INT8 and needs an INT8 zero_point (TensorRT-RTX crashed "
                "on a UINT8 zero point)")
