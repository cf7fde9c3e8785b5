"""TRT606 attention-fp32."""

from onnx import TensorProto

from fusionlab.pattern import Op, Var
from fusionlab.rule import Rule, check


def _float32(tensor, view) -> bool:
    return view.graph.dtype(tensor) == TensorProto.FLOAT


class AttentionFp32(Rule):
    """An ONNX Attention (opset 23) on FP32 tensors: TensorRT-RTX has no kernel for it and stops the build.

    What it fuses: nothing; a builder check on every Attention node of the ONNX domain
    whose query is FP32 (as ``torch.onnx.export(..., opset_version=23)`` writes
    ``scaled_dot_product_attention``).
    Why it matters: the parser imports the node as IAttention, which is not decomposable
    by default ("TensorRT will try to use a single fused kernel"); with FP32 tensors
    TensorRT-RTX 1.7 has none and the build stops: "MyelinCheckException: ...
    CHECK(composite_op->is_decomposable()) failed. Attention operation was not supported
    by a dedicated kernel" -- no engine is built.
    Conditions: `query-not-fp32` -- the query is not FP32. Measured with TensorRT-RTX 1.7:
    Q, K, V of [1, 2, 16, 32] fail in FP32 without a mask, with a boolean and with a float
    mask, and build in FP16; the corpus' transformers BERT and Qwen2 exports at opset 23
    fail the same way. The reason names the node; fix it by exporting in FP16 (or BF16),
    or at opset 22 or lower, where the exporter writes MatMul, Softmax and MatMul and
    TensorRT fuses them itself.
    Classic TensorRT: not measured; the `tensorrt` target does not report it.
    Severity: error -- no engine is built.
    Source: TensorRT Developer Guide, "Fused Attention" (IAttention: "By default,
    IAttention is not decomposable"); the live builds above (docs/TENSORRT-RTX.md#attention).
    """

    code = "TRT606"
    name = "attention-fp32"
    kind = "lint"
    targets = ("tensorrt-rtx",)
    level = "onnx"  # the parser imports every node
    pattern = Op("Attention", Var("query", where=_float32), name="attention",
                 where=lambda node: node.domain in ("", "ai.onnx"))
    phase = 90
    cost = 3
    rejects = True

    @check("query-not-fp32")
    def not_fp32(self, attention, ctx):
        return (f"{attention.name} is ONNX Attention on FP32 tensors: TensorRT-RTX imports it as IAttention, "
                "has no fused kernel for it in FP32 and stops the build (\"Attention operation was not supported "
                "by a dedicated kernel\"); export in FP16, or at opset 22 or lower (MatMul, Softmax, MatMul)")
