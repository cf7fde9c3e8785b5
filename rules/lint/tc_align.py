"""TRT501 tc-align."""

from onnx import TensorProto

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check

from fusionlab.rules.common.layers import weight_shape
from fusionlab.rules.common.ops import WEIGHTED_OPS
from fusionlab.rules.common.qdq import is_int8_layer, runs_in_int8, static_dims, traces_to_graph_input

HALF = {TensorProto.FLOAT16: "FP16", TensorProto.BFLOAT16: "BF16"}


def tensor_core(ctx, node) -> tuple[int, str] | None:
    """``(alignment in elements, precision)`` of the Tensor Core kernels ``node`` can use,
    or None when it has none on this GPU and precision.

    Classic TensorRT: INT8 (32) for a layer that computes in INT8 (SM 7.2+); FP16 / BF16
    (8) under those builder flags (SM 7.0+ / 8.0+); otherwise TF32 (4) on SM 8.0+.
    TensorRT-RTX is strongly typed: INT8 behind DequantizeLinear, else the input's type.
    """
    if ctx.strongly_typed:
        if is_int8_layer(ctx.state.layer_of[node.name]):
            return (32, "INT8") if ctx.sm >= 7.2 else None
        dtype = ctx.graph.dtype(ctx.state.resolve(node.inputs[0]))
        if dtype in HALF:
            need = 8.0 if dtype == TensorProto.BFLOAT16 else 7.0
            return (8, HALF[dtype]) if ctx.sm >= need else None
        return (4, "TF32") if ctx.sm >= 8.0 else None
    if runs_in_int8(ctx, node):
        return (32, "INT8") if ctx.sm >= 7.2 else None
    if ctx.precision in ("fp16", "bf16"):
        need = 8.0 if ctx.precision == "bf16" else 7.0
        return (8, ctx.precision.upper()) if ctx.sm >= need else None
    return (4, "TF32") if ctx.sm >= 8.0 else None


def _misaligned(dims: list[tuple[str, int]], mult: int) -> str | None:
    """``C_in=3 is not (TensorRT pads it to 8)`` for the sizes not a multiple of ``mult``."""
    bad = [(label, value) for label, value in dims if value % mult]
    if not bad:
        return None
    found = ", ".join(f"{label}={value}" for label, value in bad)
    padded = ", ".join(str(-(-value // mult) * mult) for _, value in bad)
    if len(bad) == 1:
        return f"{found} is not (TensorRT pads it to {padded})"
    return f"{found} are not (TensorRT pads them to {padded})"


class TcAlign(Rule):
    """Conv channels or GEMM K / N that are not multiples of the Tensor Core alignment.

    What it fuses: nothing; a lint on Conv and ConvTranspose (input and output channels;
    per group for a grouped convolution) and on MatMul and Gemm (K and N of M x K times
    K x N). The alignment depends on the precision the layer computes in: 4 elements for
    TF32 (FP32 on SM 8.0 or newer), 8 for FP16 / BF16 dense math, 32 for INT8 (a layer
    behind DequantizeLinear, or an implicitly quantized model under --int8). Depthwise
    convolutions are skipped: they do not run on Tensor Cores (TensorRT's INT8 MobileNet
    runs them as CudaDepthwiseConvolution, TREx test inputs). A stem convolution reading
    the 3 channels of a network image is reported too, with a note: TensorRT pads it, as
    documented, and that is usually the price of an RGB input.
    Why it matters: "In cases where Tensor Core implementations are used and these
    requirements are not met, TensorRT implicitly pads the tensors to the nearest multiple
    of alignment", so the padding is computed and moved for nothing; a layer may also
    fall back to non-Tensor-Core kernels.
    Conditions: `channels-aligned` -- a convolution's C_in and C_out are multiples of the
    alignment; `k-n-aligned` -- a MatMul / Gemm's K and N are. Each reason names the sizes
    found, the precision, the multiple TensorRT wants and the padded size. Unknown or
    symbolic sizes are not reported.
    TensorRT-RTX networks are strongly typed: the precision is the input's type (FP16,
    BF16, FP32 -> TF32) or INT8 behind a DequantizeLinear, not a builder flag.
    Source: TensorRT Developer Guide, "Optimizing for Tensor Cores" (TensorRT 8 guide, 13.4:
    TF32 4, FP16 8 for dense math, INT8 32); "MatrixMultiply and FullyConnected Layers".
    """

    code = "TRT501"
    name = "tc-align"
    kind = "lint"
    level = "node"  # every node of the op type, whatever layer a fusion put it in
    phase = 90
    pattern = Op(WEIGHTED_OPS, name="node")
    cost = 2

    @check("channels-aligned")
    def channels(self, m, ctx):
        node = m.node("node")
        if node.op_type not in ("Conv", "ConvTranspose"):
            return None
        tc = tensor_core(ctx, node)
        x = ctx.graph.shape(ctx.state.resolve(node.inputs[0]))
        w = weight_shape(ctx, node)
        if tc is None or not static_dims(x) or len(x) < 3 or not w or not static_dims(w):
            return None
        group = int(node.attr("group", 1))
        cin = x[1]
        cout = w[0] if node.op_type == "Conv" else w[1] * group
        if group > 1 and group == cin:
            return None  # depthwise: CUDA-core kernels, no Tensor Core alignment
        per = " per group" if group > 1 else ""
        dims = [("C_in" + per, cin // group), ("C_out" + per, cout // group)]
        mult, precision = tc
        bad = _misaligned(dims, mult)
        if not bad:
            return None
        found = ", ".join(f"{label}={value}" for label, value in dims)
        note = ""
        source = traces_to_graph_input(ctx.state, node.inputs[0])
        if source is not None and any(label.startswith("C_in") for label, v in dims if v % mult):
            note = (f"; C_in is the {cin} channels of network input {source}: expected for a "
                    "stem convolution")
        return f"{node.name} has {found}; {precision} Tensor Cores want multiples of {mult}: {bad}{note}"

    @check("k-n-aligned")
    def k_n(self, m, ctx):
        node = m.node("node")
        if node.op_type not in ("MatMul", "Gemm"):
            return None
        tc = tensor_core(ctx, node)
        a = ctx.graph.shape(ctx.state.resolve(node.inputs[0]))
        b = weight_shape(ctx, node)
        if tc is None or not static_dims(a) or not b or not static_dims(b) or len(a) < 2 or len(b) < 2:
            return None
        if node.op_type == "Gemm":
            k = a[0] if node.attr("transA", 0) else a[1]
            n = b[0] if node.attr("transB", 0) else b[1]
        else:
            k, n = a[-1], b[-1]
        mult, precision = tc
        bad = _misaligned([("K", k), ("N", n)], mult)
        if not bad:
            return None
        return f"{node.name} has K={k}, N={n}; {precision} Tensor Cores want multiples of {mult}: {bad}"
