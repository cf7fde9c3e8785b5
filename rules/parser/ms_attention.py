"""TRT603 ms-attention."""

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check


class MsAttention(Rule):
    """A `com.microsoft` Attention: the parser imports it as ONNX Attention and rejects it.

    What it fuses: nothing; a parser check on every Attention node of the
    `com.microsoft` domain (ONNX Runtime's contrib op: input, packed QKV weights, bias,
    `num_heads`), as onnxruntime's transformer optimizer writes for BERT-like models.
    Why it matters: the parser picks an importer by op type, whatever the domain, so it
    imports the node as the standard ONNX Attention (opset 23: Q, K, V) and stops with
    "Q, K, and V inputs must have the same number of dimensions" (measured with
    TensorRT-RTX 1.7 on a [1, 4, 16] input, [16, 48] weights and [48] bias); no engine is
    built.
    Conditions: `onnx-domain` -- the Attention node is not of the `com.microsoft`
    domain. The reason names the node; fix it by exporting the model without ONNX
    Runtime's fusions (the MatMul / Softmax subgraph, which TensorRT fuses itself), or as
    ONNX Attention of opset 23.
    TensorRT-RTX rejects it the same way (docs/TENSORRT-RTX.md#parser-rejections).
    Source: onnx-tensorrt `docs/operators.md` (Attention is the ONNX op; no
    `com.microsoft` op is listed) and `builtin_op_importers.cpp` (importers are
    registered by op type); the live build in docs/TENSORRT-RTX.md#parser-rejections.
    """

    code = "TRT603"
    name = "ms-attention"
    kind = "lint"
    level = "onnx"  # the parser imports every node, whatever its domain
    pattern = Op("Attention", name="attention")
    phase = 90
    cost = 3
    rejects = True

    @check("onnx-domain")
    def onnx_domain(self, attention, ctx):
        if attention.domain != "com.microsoft":
            return None
        return (f"{attention.name} is com.microsoft Attention (ONNX Runtime's fused attention): "
                "TensorRT's parser imports it as ONNX Attention (Q, K, V) and rejects it (\"Q, K, and V "
                "inputs must have the same number of dimensions\"); export the model without ONNX "
                "Runtime's attention fusion")
