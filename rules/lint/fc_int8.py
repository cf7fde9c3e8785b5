"""TRT502 fc-int8."""

from fusionlab.pattern import Op, Var
from fusionlab.rule import Rule, check, fmt_shape

from fusionlab.rules.common.layers import weight_shape
from fusionlab.rules.common.qdq import runs_in_int8, weight_is_constant


class FcInt8(Rule):
    """An INT8 matrix multiply with constant weights that does not become a convolution.

    What it fuses: nothing; a lint on Gemm and MatMul with a constant weight (TensorRT's
    FullyConnected) that compute in INT8 (behind DequantizeLinear, or an implicitly
    quantized model under --int8) and whose layer was not converted to a convolution by
    TRT109 fc-as-conv (a weight that is not 2-D, a bias that is not a vector...). The
    TensorRT 7 guide says: "use conv1x1 to replace the FullyConnected layer. As conv1x1
    is equivalent to FullyConnected and convolution supports INT8 Tensor Cores while
    FullyConnected doesn't". From TensorRT 8 the builder does that itself for a
    FullyConnected with a 2-D constant weight (docs/FUSIONS.md#fullyconnected "always"; TREx INT8
    MobileNet: `Gemm_864` runs as CaskConvolution), so such layers are not reported:
    the newer guide wins.
    Why it matters: the GEMM runs without INT8 Tensor Cores, or with an extra layout
    change around it.
    Conditions: `not-fc-in-int8` -- no INT8 FullyConnected stays a matrix multiply; the
    reason names the node, its weight shape and why it was not converted.
    TensorRT-RTX runs GEMMs as gemm kernels (docs/TENSORRT-RTX.md#gemm-and-mlp); the advice is classic
    TensorRT only.
    Source: TensorRT Developer Guide, "Optimizing Layer Performance": FullyConnected Layer
    (TensorRT 7); "Types of Fusions": FullyConnected (TensorRT 8.6).
    """

    code = "TRT502"
    name = "fc-int8"
    kind = "lint"
    level = "node"  # every node of the op type, whatever layer a fusion put it in
    phase = 90
    targets = ("tensorrt",)
    pattern = Op(("Gemm", "MatMul"), Var("x"),
                 Var("w", where=lambda t, view: weight_is_constant(view.state, t)), name="fc")
    cost = 2

    @check("not-fc-in-int8")
    def not_fc(self, m, ctx):
        node = m.node("fc")
        if not runs_in_int8(ctx, node):
            return None
        layer = ctx.state.layer_of[node.name]
        if "fc-as-conv" in layer.tags or layer.kind in ("FullyConnected", "Conv"):
            return None
        shape = weight_shape(ctx, node)
        why = f"its weight is {fmt_shape(shape)}" if shape is not None and len(shape) != 2 \
            else "TRT109 fc-as-conv did not convert it"
        return (f"{node.name} ({node.op_type}) computes in INT8 with constant weights "
                f"{node.inputs[1]} but stays a matrix multiply ({why}); INT8 Tensor Cores serve "
                "convolutions: express it as a 1x1 Conv (or a MatMul with a 2-D weight, which "
                "TensorRT converts to a convolution)")
