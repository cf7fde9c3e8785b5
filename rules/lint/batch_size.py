"""TRT506 batch-size."""

from onnx import TensorProto

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check, fmt_shape

from fusionlab.rules.common.qdq import is_int8_layer, runs_in_int8, static_dims

#: Largest batch without extended index computation ("N > 2^16").
MAX_BATCH = 2 ** 16
#: Below this many rows the GEMM is one Tensor Core tile anyway: not reported.
MIN_REPORTED = 32


class BatchSize(Rule):
    """A MatMul / Gemm batch (rows M) not a multiple of 32 in FP16 / INT8, or over 2^16.

    What it fuses: nothing; a lint on every MatMul and Gemm. Its batch is M, the product
    of the first input's dimensions except the last (K): [B, S, H] x [H, N] has M = B*S.
    Why it matters: "if the network contains MatrixMultiply layers or FullyConnected
    layers, batch sizes of multiples of 32 tend to have the best performance for FP16 and
    INT8 inference because of the utilization of Tensor Cores"; "Extremely large batches,
    such as N > 2^16, can sometimes require extended index computation and so should be
    avoided if possible".
    Conditions: `batch-multiple-of-32` -- in FP16 / BF16 / INT8, M is a multiple of 32.
    M below 32 is not reported (batch-1 inference is the common case and a single tile
    either way; the guide: "the time taken to compute results for batch size N=1 is
    almost identical to batch sizes up to N=16 or N=32"); `batch-at-most-65536` -- M is
    at most 2^16, any precision. Symbolic sizes are not reported.
    TensorRT-RTX networks are strongly typed: FP16 / BF16 inputs or INT8 behind a
    DequantizeLinear count, not a builder flag.
    Source: TensorRT Developer Guide, "Batching" (How Do I Optimize My TensorRT
    Performance?); "MatrixMultiply and FullyConnected Layers".
    """

    code = "TRT506"
    name = "batch-size"
    kind = "lint"
    level = "node"  # every node of the op type, whatever layer a fusion put it in
    phase = 90
    pattern = Op(("MatMul", "Gemm"), name="mm")
    cost = 1

    @staticmethod
    def _rows(ctx, node) -> tuple[int | None, tuple | None]:
        shape = ctx.graph.shape(ctx.state.resolve(node.inputs[0]))
        if not static_dims(shape) or len(shape) < 2:
            return None, shape
        if node.op_type == "Gemm":
            return (shape[1] if node.attr("transA", 0) else shape[0]), shape
        rows = 1
        for d in shape[:-1]:
            rows *= d
        return rows, shape

    @staticmethod
    def _half_or_int8(ctx, node) -> str | None:
        if ctx.strongly_typed:
            if is_int8_layer(ctx.state.layer_of[node.name]):
                return "INT8"
            dtype = ctx.graph.dtype(ctx.state.resolve(node.inputs[0]))
            return {TensorProto.FLOAT16: "FP16", TensorProto.BFLOAT16: "BF16"}.get(dtype)
        if runs_in_int8(ctx, node):
            return "INT8"
        return ctx.precision.upper() if ctx.precision in ("fp16", "bf16") else None

    @check("batch-multiple-of-32")
    def multiple(self, m, ctx):
        node = m.node("mm")
        precision = self._half_or_int8(ctx, node)
        rows, shape = self._rows(ctx, node)
        if precision is None or rows is None or rows < MIN_REPORTED or rows % 32 == 0:
            return None
        return (f"{node.name} multiplies {rows} rows (M, from its {fmt_shape(shape)} input) in "
                f"{precision}; Tensor Cores work best with a batch that is a multiple of 32 "
                f"(next: {-(-rows // 32) * 32})")

    @check("batch-at-most-65536")
    def at_most(self, m, ctx):
        node = m.node("mm")
        rows, shape = self._rows(ctx, node)
        if rows is None or rows <= MAX_BATCH:
            return None
        return (f"{node.name} multiplies {rows} rows (M, from its {fmt_shape(shape)} input); "
                f"batches over 2^16 = {MAX_BATCH} can need extended index computation: split it")
