"""TRT411 qdq-scalar-constant."""

from onnx import TensorProto

from fusionlab.pattern import Op, Var
from fusionlab.rule import Rule, check

#: The quantized types of a pre-quantized constant.
QUANTIZED = (TensorProto.INT8, TensorProto.UINT8)


def _scalar_quantized(tensor, view) -> bool:
    """A rank-0 INT8 / UINT8 constant (an initializer or a Constant's output)."""
    shape = view.graph.shape(tensor)
    return view.is_constant(tensor) and view.graph.dtype(tensor) in QUANTIZED and shape is not None \
        and len(shape) == 0


class QdqScalarConstant(Rule):
    """A DequantizeLinear of a scalar INT8 constant: the TensorRT-RTX builder rejects the model.

    What it fuses: nothing; a builder check on every DequantizeLinear whose input is a
    rank-0 INT8 or UINT8 constant -- what ``onnxruntime.quantization`` (after
    ``quant_pre_process``) writes for the scalar constants of a quantized graph: GELU's
    0.5 and 1/√2, the attention scale, ConvNeXt's layer scale constants, as an INT8
    initializer ``..._quantized`` -> DequantizeLinear -> Mul.
    Why it matters: the build stops with "Quantized constant (...) is only allowed before
    DQ or PLUGIN_V2 or kPLUGIN_V3 node" (IBuilder::buildSerializedNetwork, Error Code 4);
    no engine is built.
    Conditions: `constant-not-scalar` -- the quantized constant has at least one
    dimension. Measured with TensorRT-RTX 1.7: a rank-0 INT8 constant -> DequantizeLinear
    -> Mul fails, with one reader or two, after a float or a Q/DQ activation; the same
    constant of shape [1], [16, 1, 1] or [1, 16, 8, 8] builds. The corpus models that fail
    this way: transformers BERT and GPT-2 and torchvision ConvNeXt-Tiny quantized with
    float biases. The reason names the node and the constant; fix it by keeping the
    constant float (``quantize_static(..., nodes_to_exclude=[...])`` for its reader, or
    ``op_types_to_quantize`` without it) or by storing it with shape [1].
    Classic TensorRT: not measured (the message comes from TensorRT's shared optimizer);
    the `tensorrt` target does not report it.
    Severity: error -- no engine is built.
    Source: the live TensorRT-RTX 1.7 builds above (docs/TENSORRT-RTX.md#int8-transformers).
    """

    severity = "error"
    code = "TRT411"
    name = "qdq-scalar-constant"
    kind = "lint"
    targets = ("tensorrt-rtx",)
    level = "onnx"  # the builder sees the DequantizeLinear whatever a fold did with it
    pattern = Op("DequantizeLinear", Var("c", where=_scalar_quantized), name="dq")
    phase = 90
    cost = 3
    rejects = True

    @check("constant-not-scalar")
    def not_scalar(self, dq, c, ctx):
        return (f"{dq.name} dequantizes the scalar {'INT8' if ctx.graph.dtype(c) == TensorProto.INT8 else 'UINT8'} "
                f"constant {c}: TensorRT-RTX's builder rejects it (\"Quantized constant ({c}) is only allowed "
                "before DQ or PLUGIN_V2 or kPLUGIN_V3 node\"); keep the constant float (exclude its reader "
                "from quantization) or give it shape [1]")
