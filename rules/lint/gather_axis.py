"""TRT503 gather-axis."""

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check, fmt_shape



class GatherAxis(Rule):
    """A Gather on an axis other than 0.

    What it fuses: nothing; a lint on every Gather that TensorRT runs (not folded away at
    build time, like the Shape -> Gather of static shape arithmetic).
    Why it matters: "To get the maximum performance out of a Gather layer, use an axis of
    0. There are no fusions available for a Gather layer": a Gather on an inner axis reads
    strided rows and stays its own kernel.
    Conditions: `axis-0` -- the Gather's axis (negative axes counted from the end) is 0;
    the reason names the axis and the data shape.
    TensorRT-RTX: not measured; the classic advice applies.
    Source: TensorRT Developer Guide, "Optimizing Layer Performance": Gather Layer.
    """

    code = "TRT503"
    name = "gather-axis"
    kind = "lint"
    level = "node"  # every node of the op type, whatever layer a fusion put it in
    phase = 90
    pattern = Op("Gather", name="gather")
    cost = 1

    @check("axis-0")
    def axis0(self, m, ctx):
        node = m.node("gather")
        axis = int(node.attr("axis", 0))
        shape = ctx.graph.shape(ctx.state.resolve(node.inputs[0]))
        if axis < 0 and shape is not None:
            axis += len(shape)
        if axis == 0:
            return None
        return (f"{node.name} gathers along axis {node.attr('axis', 0)} of its {fmt_shape(shape)} "
                f"input {node.inputs[0]}; TensorRT's Gather is fastest on axis 0 (and has no "
                "fusions)")
