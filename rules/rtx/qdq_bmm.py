"""TRT313 qdq-bmm."""

from __future__ import annotations

from fusionlab.pattern import Op, Var, op
from fusionlab.rule import Rule, check

from fusionlab.rules.common.values import is_activation


class QdqBmm(Rule):
    """A MatMul of two dequantized activations runs as one INT8 batched MatMul with its DequantizeLinears.

    What it fuses: on TensorRT-RTX, ``DequantizeLinear(a) -> MatMul <- DequantizeLinear(b)``
    where both ``a`` and ``b`` are computed at run time -- attention's ``Q·Kᵀ`` and
    ``P·V`` as onnxruntime.quantization's QDQ format writes them -- into one INT8 MatMul
    layer; its output QuantizeLinear then joins it (TRT404 qdq-output), as for an INT8
    GEMM with constant weights (TRT403).
    Why it matters: the batched MatMul reads INT8 operands and writes INT8; without the
    DequantizeLinears it runs in float on dequantized copies.
    Conditions: `single-consumer` -- each DequantizeLinear is read by the MatMul only (a
    DequantizeLinear several layers read stays its own layer: TensorRT-RTX lists it in
    every reader's kernel, fusionlab keeps one copy).
    Measured with TensorRT-RTX 1.7 (INT8, CPU build) on DistilBERT and ViT quantized with
    ``onnxruntime.quantization.quantize_static`` (QDQ, symmetric, float bias): each
    attention MatMul kernel lists the MatMul, both input DequantizeLinear and the output
    QuantizeLinear (``.../attention/MatMul_myl0_4``: MatMul, Mul_output_0_DequantizeLinear,
    Mul_1_output_0_DequantizeLinear, MatMul_output_0_QuantizeLinear). Classic TensorRT:
    not measured; the `tensorrt` target does not predict it.
    Source: TensorRT Developer Guide, "Explicit Quantization" (Q/DQ fusion into the layer
    that consumes the DequantizeLinear); the live builds above.
    """

    code = "TRT313"
    name = "qdq-bmm"
    targets = ("tensorrt-rtx",)
    phase = 15
    tags = ("int8", "int8-weighted")
    pattern = Op("MatMul", op.DequantizeLinear(Var("a", where=is_activation), name="dq_a"),
                 op.DequantizeLinear(Var("b", where=is_activation), name="dq_b"),
                 name="bmm", commute=False)
    host = "bmm"
    result_kind = "MatMul"
    cost = 2

    @check("single-consumer")
    def single(self, m, ctx):
        for name in ("dq_a", "dq_b"):
            dq = m.node(name)
            readers = ctx.graph.consumers.get(dq.outputs[0], ())
            if len(readers) > 1:
                return (f"{dq.name} output has {len(readers)} consumers ({', '.join(readers)}); "
                        f"the INT8 MatMul {m.node('bmm').name} needs it to itself")
        return None
