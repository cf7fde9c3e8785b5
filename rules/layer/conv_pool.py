"""TRT111 conv-pool."""

from onnx import TensorProto

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.layers import producer_op
from fusionlab.rules.common.ops import CONVS

INT8 = TensorProto.INT8


def _dtype_name(dtype: int | None) -> str:
    return "unknown" if dtype is None else TensorProto.DataType.Name(dtype)


class ConvPool(Rule):
    """A Convolution followed by a Pooling layer fuses into one layer (``conv + relu + pool``).

    What it fuses: Conv or ConvTranspose, possibly with an activation fused earlier (a
    layer of kind Conv) -> MaxPool or AveragePool. Not GlobalAveragePool / GlobalMaxPool:
    TensorRT's ONNX parser imports those as Reduce layers ("GlobalAveragePool operators
    are implemented via Reduce layers rather than Pooling layers", onnx-tensorrt), and no
    source shows a Reduce turned Pooling fusing back into a convolution. Runs in phase
    45, after the activation fusions.
    Why it matters: the pooling reads the convolution's output in the same kernel; the
    full-resolution activation is never written to memory.
    Conditions: `same-precision` -- the convolution's input and the pooling's output
    have the same precision (an INT8 convolution, fed by a DequantizeLinear, followed by a
    pooling that writes FLOAT breaks it); `int8` -- the convolution runs in INT8
    (``--precision int8``, or fed by a DequantizeLinear) (TensorRT only): the builder's
    ConvActPoolFusion exists for INT8 only (NVIDIA/TensorRT#2518, a maintainer: ResNet-50
    gives ``Conv_0 + Relu_1 + MaxPool_2`` in INT8, a separate MaxPool in FP16), and the
    real TensorRT 10.4 FP16 AlexNet engine and the 8.x MNIST logs in trt-artifacts keep
    every MaxPool separate; `single-consumer` -- the convolution's output is read by the
    pooling only; `pool-separate-on-rtx` (TensorRT-RTX only).
    TensorRT-RTX differs: it runs MaxPool as a separate maxpool kernel at every size
    (docs/TENSORRT-RTX.md#conv-maxpool, also the ResNet stem), so the fusion is always missed on RTX
    (AveragePool was not measured; it is treated the same).
    Severity: warning; info when `pool-separate-on-rtx` fails (TensorRT-RTX's separate
    pooling kernel: nothing in the graph or the options changes it).
    Source: TensorRT Developer Guide, "Types of Fusions": Convolution and Pooling.
    """

    info_checks = ("pool-separate-on-rtx",)
    code = "TRT111"
    name = "conv-pool"
    phase = 45
    pattern = Op(("MaxPool", "AveragePool"), Op(CONVS, name="conv"), name="pool")
    host = "conv"
    cost = 2

    @staticmethod
    def _precision(ctx, tensor: str, into: bool) -> int | None:
        """ONNX dtype a tensor is computed in: INT8 behind a DequantizeLinear (``into``) or
        in front of a QuantizeLinear read only (not ``into``), else its own dtype."""
        graph = ctx.graph
        if into and producer_op(graph, tensor) == "DequantizeLinear":
            return graph.dtype(graph.node_of(tensor).inputs[0]) or INT8
        readers = graph.consumers_of(tensor)
        if not into and readers and all(n.op_type == "QuantizeLinear" for n in readers):
            return graph.dtype(readers[0].outputs[0]) or INT8
        return graph.dtype(tensor)

    @check("same-precision")
    def same_precision(self, m, ctx):
        conv, pool = m.node("conv"), m.layer("pool")
        x = m.state.resolve(conv.inputs[0])
        y = m.state.layer_outputs(pool)[0]
        a, b = self._precision(ctx, x, True), self._precision(ctx, y, False)
        if a is None or b is None or a == b:
            return None
        return (f"{conv.name} computes in {_dtype_name(a)} (input {x}) but {pool.nodes[-1]} "
                f"writes {_dtype_name(b)} ({y}); the fusion needs the same precision")

    @check("int8", targets=("tensorrt",))
    def int8(self, m, ctx):
        conv = m.node("conv")
        if ctx.precision == "int8" or producer_op(ctx.graph, m.state.resolve(conv.inputs[0])) == "DequantizeLinear":
            return None
        return (f"builder precision is {ctx.precision.upper()} and {conv.name} is not fed by a "
                "DequantizeLinear; TensorRT fuses a convolution with its pooling in INT8 only")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    @check("pool-separate-on-rtx", targets=("tensorrt-rtx",))
    def rtx(self, m, ctx):
        return (f"TensorRT-RTX runs {m.layer('pool').nodes[-1]} as a separate pooling kernel "
                "(measured for MaxPool at every size, TensorRT-RTX 1.7); it does not fuse "
                "pooling into the convolution")
