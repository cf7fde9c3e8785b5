"""TRT402 qdq-bias-int32."""

import numpy as np
from onnx import TensorProto

from fusionlab.pattern import Op, Var
from fusionlab.rule import Rule, check

from fusionlab.rules.common.ops import WEIGHTED_OPS
from fusionlab.rules.common.qdq import dq_producer, fmt_values, qdq_scale, weight_dq


class QdqBiasInt32(Rule):
    """A DequantizeLinear of an INT32 tensor (a quantized bias): TensorRT's parser rejects it.

    What it fuses: nothing; a parser check on every DequantizeLinear whose input is INT32.
    onnxruntime.quantization's QDQ format writes every Conv / Gemm bias this way by
    default: an INT32 initializer -> DequantizeLinear (scale S_input * S_weight) -> the
    bias input.
    Why it matters: the parser stops with "input has type Int32 but must have type FP8,
    FP4, Int4, Int8, or UInt8" (measured with TensorRT-RTX 1.7), so no engine is built.
    TensorRT quantizes the bias itself: "no extra Q/DQ node pair is required for bias
    input. Assumption for bias quantization is that S_weights * S_input = S_bias"; the
    bias must stay a float initializer.
    Conditions: `bias-unquantized` -- the DequantizeLinear's input is not INT32. The reason
    names the node, the tensor, the layer whose bias it is and the fix: store the bias in
    float (onnxruntime.quantization: `extra_options={"QuantizeBias": False}`).
    TensorRT-RTX rejects it the same way (docs/TENSORRT-RTX.md#parser-rejections).
    Severity: error -- TensorRT's parser rejects the model; no engine is built.
    Source: TensorRT Developer Guide, "Q/DQ Fusion" (bias quantization, docs/FUSIONS.md#bias-quantization); docs/TENSORRT-RTX.md#parser-rejections.
    """

    severity = "error"
    code = "TRT402"
    name = "qdq-bias-int32"
    kind = "lint"
    level = "onnx"  # the parser sees every DequantizeLinear, also the folded INT32 bias's
    pattern = Op("DequantizeLinear", Var(where=lambda tensor, view: view.graph.dtype(tensor) == TensorProto.INT32),
                 name="dq")
    phase = 90
    cost = 3
    rewrites_on = ("lint",)
    rejects = True

    @check("bias-unquantized")
    def bias(self, dq, ctx):
        graph, state = ctx.graph, ctx.state
        readers = [graph.nodes[n] for n in graph.consumers.get(dq.outputs[0], ())]
        layer = next((r for r in readers if r.op_type in WEIGHTED_OPS and len(r.inputs) > 2
                      and r.inputs[2] == dq.outputs[0]), None)
        role = f"the bias of {layer.name} ({layer.op_type})" if layer else \
            f"read by {', '.join(r.name for r in readers) or 'no node'}"
        scale = ""
        if layer is not None:
            sx, sw = dq_producer(state, layer.inputs[0]), weight_dq(state, layer)
            if sx is not None and sw is not None:
                a, b = qdq_scale(state, sx), qdq_scale(state, sw)
                if a is not None and b is not None:
                    scale = (" (here "
                             f"{fmt_values(np.asarray(a, np.float64) * np.asarray(b, np.float64))})")
        return (f"{dq.name} dequantizes the INT32 tensor {dq.inputs[0]}, {role}; TensorRT's parser "
                "rejects it (\"input has type Int32 but must have type FP8, FP4, Int4, Int8, or "
                f"UInt8\"): keep the bias a float initializer, TensorRT quantizes it itself with "
                f"the scale S_weight * S_input{scale} (onnxruntime.quantization: "
                "extra_options={'QuantizeBias': False})")

    def rewrite(self, m, graph):
        """Replace the INT32 DequantizeLinear by the float constant it computes
        (``fusionlab rewrite``): ``(b - zero_point) * scale`` in the scale's dtype, as
        ONNX Runtime computes it: exact, and TensorRT's parser then accepts the model."""
        from fusionlab.rewriting import CannotRewrite, bypass, constant, constant_value, node_of

        dq = node_of(graph, m.node("dq").name)
        x, scale, zp, axis = dq.inputs[0], dq.inputs[1], (dq.inputs[2] if len(dq.inputs) > 2 else None), \
            dq.attrs.get("axis")
        xv, sv = constant_value(x), constant_value(scale)
        if xv is None or sv is None:
            raise CannotRewrite(f"{dq.name} dequantizes {x.name}, which is not a constant")
        zv = constant_value(zp) if zp is not None else np.zeros((), np.int32)
        if zv is None:
            raise CannotRewrite(f"{dq.name} has a non-constant zero_point")
        out = dq.outputs[0]
        if out in graph.outputs:
            raise CannotRewrite(f"{dq.name} writes graph output {out.name}")
        if sv.size > 1:  # per-axis
            shape = [1] * xv.ndim
            shape[int(axis if axis is not None else 1) % xv.ndim] = -1
            sv, zv = sv.reshape(shape), (zv.reshape(shape) if zv.size > 1 else zv)
        value = (xv.astype(np.int64) - zv.astype(np.int64)).astype(sv.dtype) * sv
        const = constant(graph, f"{x.name}_dequantized", value.astype(sv.dtype))
        bypass(dq, const)
        return f"replaced {dq.name} (INT32 {x.name}) by the float bias it computes"
