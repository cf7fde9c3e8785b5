"""TRT122 shuffle-reduce."""

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check, fmt_shape, single_consumer

from fusionlab.rules.common.ops import REDUCES, SHUFFLES


class ShuffleReduce(Rule):
    """A Shuffle that only permutes, followed by a Reduce, fuses into one Reduce layer.

    What it fuses: Transpose -> any Reduce* (ReduceSum, ReduceMean, ReduceMax, ...). The
    Shuffle may be a Shuffle layer fused from several Transposes (shuffle-shuffle). A
    Reshape, Flatten, Squeeze or Unsqueeze before the Reduce matches too, and is reported
    as missed: a reshape is not a pure permutation.
    Why it matters: the Reduce reads its input through the permutation; the separate
    Shuffle kernel and its copy of the tensor disappear.
    Conditions: `permute-only` -- every node of the Shuffle is a Transpose (no reshape);
    `keepdims` -- the Reduce has keepdims=1 (classic TensorRT only: TensorRT-RTX measured
    Transpose -> ReduceMean with keepdims=0 in one kernel too, docs/TENSORRT-RTX.md#transpose-reducemean);
    `single-consumer` -- the Shuffle's output is read by the Reduce only.
    Source: TensorRT Developer Guide, "Types of Fusions": Shuffle and Reduce.
    """

    code = "TRT122"
    name = "shuffle-reduce"
    pattern = Op(REDUCES, Op(SHUFFLES + ("Shuffle",), name="shuffle"), name="reduce")
    result_kind = "Reduce"
    cost = 1

    @check("permute-only")
    def permute_only(self, m, ctx):
        nodes = [ctx.graph.nodes[n] for n in m.layer("shuffle").nodes]
        reshapes = [n for n in nodes if n.op_type != "Transpose"]
        if not reshapes:
            return None
        n = reshapes[0]
        return (f"{n.name} is a {n.op_type} ({fmt_shape(ctx.graph.shape(n.inputs[0]))} -> "
                f"{fmt_shape(ctx.graph.shape(n.outputs[0]))}); the fusion needs a Shuffle that "
                f"only permutes (Transpose), no reshape")

    @check("keepdims", targets=("tensorrt",))
    def keepdims(self, m, ctx):
        reduce = m.node("reduce")
        keep = reduce.attr("keepdims", 1)
        if keep:
            return None
        return f"{reduce.name} has keepdims={keep}; the fusion needs keepdims=1"

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

