"""TRT127 reduce-to-pool."""

from fusionlab.pattern import Var, op
from fusionlab.rule import Rule, check, fmt_shape

from fusionlab.rules.common.shapes import reduce_axes


class ReduceToPool(Rule):
    """A ReduceMean over H and W of an NCHW tensor is replaced by an average Pooling layer.

    What it fuses: ReduceMean (kAVG) on a 4-D input, turned into one Pooling layer (the
    layer's kind becomes ``Pooling``, so the rule cannot match it again). GlobalAveragePool
    is a Pooling layer already (docs/FUSIONS.md#tensorrt-layer-kinds-and-onnx-ops) and is not matched.
    Why it matters: the pooling kernels are faster than a generic reduction, and a Pooling
    can fuse with the convolution before it (conv-pool).
    Conditions: `keepdims` -- keepdims=1 (the output stays [N, C, 1, 1]); `axes-hw` -- the
    reduced axes are exactly [2, 3] (H and W of NCHW). Classic TensorRT only: TensorRT-RTX
    measured a ``Mean`` kgen and no pooling layer (docs/TENSORRT-RTX.md#reducemean-over-h-and-w:
    not visible), so on that target the ReduceMean stays a ReduceMean layer.
    Source: TensorRT Developer Guide, "Types of Fusions": Reduce ("A Reduce layer that
    performs average pooling will be replaced by a Pooling layer").
    """

    code = "TRT127"
    name = "reduce-to-pool"
    targets = ("tensorrt",)
    pattern = op.ReduceMean(Var("x"), name="reduce")
    result_kind = "Pooling"
    cost = 1

    def accept(self, b, state):
        shape = state.graph.shape(b.tensors["x"])
        return shape is not None and len(shape) == 4

    @check("keepdims")
    def keepdims(self, m, ctx):
        node = m.node("reduce")
        keep = node.attr("keepdims", 1)
        if keep:
            return None
        return f"{node.name} has keepdims={keep}; the Pooling replacement needs keepdims=1"

    @check("axes-hw")
    def axes_hw(self, m, ctx):
        node = m.node("reduce")
        axes = reduce_axes(ctx.state, node, 4)
        if axes == (2, 3):
            return None
        seen = "computed at runtime" if axes is None else "[" + ", ".join(map(str, axes)) + "]"
        return (f"{node.name} reduces axes {seen} of a {fmt_shape(ctx.graph.shape(m.tensor('x')))} "
                f"input; the Pooling replacement needs axes [2, 3] (H and W of NCHW)")

    def describe(self, m):
        return f"{m.nodes[0]} (ReduceMean over H, W) becomes an average Pooling layer"
