"""TRT504 reduce-tail."""

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check, fmt_shape

from fusionlab.rules.common.ops import REDUCES
from fusionlab.rules.common.shapes import reduce_axes


class ReduceTail(Rule):
    """A Reduce over dimensions other than the last ones.

    What it fuses: nothing; a lint on every ReduceSum / ReduceMean / ReduceMax / ...
    TensorRT runs (not folded), fused or not (a LayerNorm or L2Norm still reduces).
    Why it matters: "To get the maximum performance out of a Reduce layer, perform the
    reduction across the last dimensions (tail reduce). This allows optimal memory to
    read/write patterns through sequential memory locations"; a reduction over an inner
    axis (channels of NCHW, the sequence of [B, S, H]) reads strided memory.
    Conditions: `reduces-last-dims` -- the reduced axes are the last k dimensions of the
    input (a global reduction counts as tail); the reason names the axes, the rank and
    shape, and the tail axes TensorRT prefers. Axes computed at runtime or an unknown rank
    are not reported.
    TensorRT-RTX: not measured; the classic advice applies.
    Source: TensorRT Developer Guide, "Optimizing Layer Performance": Reduce Layer.
    """

    code = "TRT504"
    name = "reduce-tail"
    kind = "lint"
    level = "node"  # every node of the op type, whatever layer a fusion put it in
    phase = 90
    pattern = Op(REDUCES, name="reduce")
    cost = 1

    @check("reduces-last-dims")
    def tail(self, m, ctx):
        node = m.node("reduce")
        shape = ctx.graph.shape(ctx.state.resolve(node.inputs[0]))
        if shape is None:
            return None
        rank = len(shape)
        axes = reduce_axes(ctx.state, node, rank)
        if not axes or axes == tuple(range(rank - len(axes), rank)):
            return None
        want = list(range(rank - len(axes), rank))
        return (f"{node.name} reduces axes {list(axes)} of its rank-{rank} {fmt_shape(shape)} "
                f"input; TensorRT's Reduce is fastest over the last dimensions (axes {want}): "
                "transpose the reduced axes to the end")
