"""TRT403 qdq-weighted."""

import numpy as np
from onnx import TensorProto

from fusionlab.pattern import Op, Opt, Through, Var, op
from fusionlab.rule import Rule, check

from fusionlab.rules.common.ops import CONVS, QDQ_OPS, WEIGHTED_OPS
from fusionlab.rules.common.qdq import dq_producer, dtype_name, fmt_values, is_depthwise_conv, lone_layer, owned_dq_layer, q_producer, qdq_zero_point, weight_dq, weight_is_constant
from fusionlab.rules.common.shapes import live_readers

#: Weight types TensorRT quantizes weights to (INT8; INT4 and FP8 in newer releases).
WEIGHT_TYPES = (TensorProto.INT8, TensorProto.INT4, TensorProto.FLOAT8E4M3FN)


class QdqWeighted(Rule):
    """The input and weight DequantizeLinear of a Conv / Gemm fuse into it (``dq + conv``): INT8.

    What it fuses: [DequantizeLinear(activation), DequantizeLinear(weight)] -> Conv,
    ConvTranspose, Gemm, or MatMul with a constant weight. The fused layer keeps the
    weighted node's kind (Conv, Gemm...), so the convolution fusions of later phases
    (conv-scale, conv-relu, conv-eltwise, fc-as-conv) still apply and TRT404 qdq-output
    can add the output QuantizeLinear. The weight's DequantizeLinear (and a QAT export's
    weight QuantizeLinear) joins the fused layer; TRT001 does not fold it. TensorRT
    quantizes the weights once ("During fusion with weighted nodes, we would quantize
    FP32 weights to INT8") and names the weight Q/DQ in the layer (`weight +
    QuantizeLinear_8 + Conv_12`); TensorRT-RTX lists the weight DequantizeLinear in the
    convolution kernel's metadata. A weight Q/DQ read by several layers (a shared
    weight) stays its own layer. The input
    DequantizeLinear's own producer, the QuantizeLinear of the activation, stays a
    separate layer (the network-input Q is a Reformat layer in TensorRT's INT8 MobileNet
    engines, TREx test inputs). A DequantizeLinear read by several layers (ResNet's block
    input: the next convolution and the residual Add) stays its own layer: TensorRT
    duplicates it for each reader, fusionlab keeps one copy, and every reading
    convolution still computes in INT8.
    Why it matters: this is what makes a Q/DQ network run INT8 convolutions and GEMMs;
    unfused, the layer runs in float between a separate dequantize and quantize.
    Conditions: `input-dequantized` is the structure (input 0 comes from a
    DequantizeLinear; a MatMul or Gemm needs a constant weight); `zero-point-is-zero` --
    the input's and the weight's zero_point are 0; `weights-int8` -- the weight is a
    constant behind a DequantizeLinear of an INT8 tensor (not a float weight, not UINT8);
    `bias-unquantized` -- the bias (input 2) is not produced by a DequantizeLinear: TensorRT
    quantizes the float bias itself with S_weight * S_input (onnxruntime's INT32 bias is
    also a parser rejection, TRT402).
    TensorRT-RTX: measured the same (DQs fused into an INT8 conv, input Q separate), the
    bias and output Q then go to an epilogue kernel (docs/TENSORRT-RTX.md#int8-convolution; TRT404, TRT410).
    One divergence, measured with TensorRT-RTX 1.7: when the convolution's input channels
    are not a multiple of 4 (an image's 3 channels), the kernel that quantizes the input
    also pads the channels (`__myl_MulMinMaxRounCastConc`) and its metadata lists the
    convolution; the kernel writing a depthwise convolution's input lists it too. So on
    `tensorrt-rtx` the QuantizeLinear of a network input joins the layer when its only
    reader is the layer's own input DequantizeLinear (with 32 channels and a regular
    convolution it is a separate quantize kernel, as documented; after an INT8 layer the
    QuantizeLinear is in that layer's epilogue, TRT410). Classic TensorRT keeps it apart
    even for 3 channels: TREx's INT8 MobileNet engine has `QuantizeLinear_2 | Reformat`
    (FP32 -> four-wide vectorized INT8) before `features.0.0.weight + QuantizeLinear_8 +
    Conv_12 + PWN(Clip_16)`.
    Source: TensorRT Developer Guide, "Q/DQ Fusion": Fuse Q/DQ with weighted node (Conv,
    FC, Deconv); TensorRT "Explicit Quantization".
    """

    code = "TRT403"
    #: an INT8 convolution / GEMM layer (qdq-output, qdq-epilogue, the INT8 lints ask for it)
    tags = ('int8', 'int8-weighted')
    name = "qdq-weighted"
    phase = 15
    #: input 0 from a DequantizeLinear (the layer it is, when this layer may take it, with
    #: TensorRT-RTX's padding QuantizeLinear in front; else any tensor: ``accept`` then
    #: finds the DQ at graph level); the weight through its own Q/DQ layers.
    pattern = Op(WEIGHTED_OPS,
                 op.DequantizeLinear(Opt(op.QuantizeLinear(Var(), name="q_input")), name="dq_input")
                 | Var(),
                 Through(QDQ_OPS, Var(), max_hops=2, name="weight", join=True),
                 name="conv", untagged="int8-weighted", where=lambda n: n.op_type in WEIGHTED_OPS)
    host = "conv"
    cost = 3

    def accept(self, b, state):
        """Input 0 comes from a DequantizeLinear (graph level: also a DQ with other readers,
        which then stays apart) and the weight is constant (also behind Q/DQ). The input DQ
        binds exactly when this layer is its only reader, TensorRT-RTX's padding
        QuantizeLinear exactly when ``_rtx_padding_q`` holds, and each weight Q/DQ on the
        path only when this layer is its only reader."""
        layer = b.layers["conv"]
        if layer.host is None:
            return False
        conv = state.graph.nodes[layer.host]
        dq = dq_producer(state, conv.inputs[0])
        if dq is None or not weight_is_constant(state, conv.inputs[1]):
            return False
        mine = owned_dq_layer(state, dq, conv.name)
        if b.layers.get("dq_input") is not mine:
            return False
        if mine is not None and b.layers.get("q_input") is not self._rtx_padding_q(state, conv, dq):
            return False
        graph = state.graph
        return all(len(p.nodes) == 1 and len(graph.consumers.get(graph.nodes[p.nodes[0]].outputs[0], ())) == 1
                   for p in b.paths.get("weight", ()))

    def prefer(self, b, state):
        """The longest weight path: every weight Q/DQ this layer may take joins."""
        return len(b.paths.get("weight", ()))

    @staticmethod
    def _rtx_padding_q(state, conv, dq):
        """TensorRT-RTX: the lone layer of the QuantizeLinear of a network input in front
        of ``dq`` when the convolution is depthwise or its input channels are not a
        multiple of 4 (the quantize kernel then writes the convolution's input layout and
        lists the convolution), else None."""
        if state.ctx is None or state.ctx.target != "tensorrt-rtx" or conv.op_type not in CONVS:
            return None
        shape = state.graph.shape(state.resolve(conv.inputs[0]))
        channels = shape[1] if shape is not None and len(shape) > 1 else None
        if not is_depthwise_conv(state.graph, conv) and (not isinstance(channels, int)
                                                         or channels % 4 == 0):
            return None
        q = q_producer(state, dq.inputs[0])
        if q is None or live_readers(state, q.outputs[0]) != [dq.name] \
                or state.resolve(q.inputs[0]) not in state.graph.inputs:
            return None  # a QuantizeLinear after a layer runs in that layer's epilogue (TRT410)
        return lone_layer(state, q.name)

    def describe(self, m):
        conv = m.node("conv")
        dq = dq_producer(m.state, conv.inputs[0])
        wdq = weight_dq(m.state, conv)
        parts = [f"{dq.name} (input)" if dq is not None else "the input DequantizeLinear"]
        if wdq is not None:
            folded = ""
            if m.state.is_absorbed(wdq.name):
                folded = " (folded: the weights are quantized at build time)"
            parts.append(f"{wdq.name} (weight){folded}")
        return f"{' and '.join(parts)} fuse into {conv.name}: an INT8 {conv.op_type} layer"

    def _dqs(self, m):
        conv = m.node("conv")
        return [(what, node) for what, node in (("input", dq_producer(m.state, conv.inputs[0])),
                                                 ("weight", weight_dq(m.state, conv)))
                if node is not None]

    @check("zero-point-is-zero")
    def zero_point(self, m, ctx):
        for what, node in self._dqs(m):
            value, dtype, tensor = qdq_zero_point(ctx.state, node)
            if value is not None and np.issubdtype(np.asarray(value).dtype, np.number) \
                    and np.any(np.asarray(value) != 0):
                return (f"the {what} DequantizeLinear {node.name} of {m.node('conv').name} has "
                        f"zero_point {tensor} = {fmt_values(value)}; the INT8 layer needs 0")
        return None

    @check("weights-int8")
    def weights_int8(self, m, ctx):
        conv = m.node("conv")
        w = conv.inputs[1]
        dq = weight_dq(ctx.state, conv)
        if dq is None:
            dtype = dtype_name(ctx.graph.dtype(ctx.state.resolve(w)))
            return (f"the weight {w} of {conv.name} is a {dtype} constant without a "
                    "DequantizeLinear; an INT8 layer needs INT8 weights behind a DequantizeLinear "
                    "(or a QuantizeLinear -> DequantizeLinear pair on the float weight)")
        dtype = ctx.graph.dtype(ctx.state.resolve(dq.inputs[0]))
        if dtype is None or dtype in WEIGHT_TYPES:
            return None
        return (f"the weight DequantizeLinear {dq.name} of {conv.name} reads a {dtype_name(dtype)} "
                f"tensor ({dq.inputs[0]}); TensorRT needs INT8 weights (symmetric, zero_point 0)")

    @check("bias-unquantized")
    def bias_unquantized(self, m, ctx):
        conv = m.node("conv")
        if len(conv.inputs) < 3 or not conv.inputs[2]:
            return None
        dq = dq_producer(ctx.state, conv.inputs[2])
        if dq is None:
            return None
        dtype = dtype_name(ctx.graph.dtype(ctx.state.resolve(dq.inputs[0])))
        return (f"the bias {conv.inputs[2]} of {conv.name} comes from DequantizeLinear {dq.name} "
                f"({dtype} {dq.inputs[0]}); TensorRT needs a float bias, which it quantizes "
                "itself with S_weight * S_input: store the bias unquantized")
