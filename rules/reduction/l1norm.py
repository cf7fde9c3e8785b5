"""TRT203 l1norm."""

from fusionlab.pattern import op
from fusionlab.rule import Rule, check, single_consumer


class L1Norm(Rule):
    """Abs followed by ReduceSum fuses into one L1Norm reduction layer (``abs + reducesum``).

    What it fuses: Abs (a Unary kABS layer) -> ReduceSum (a Reduce kSUM layer), whatever
    the axes and ``keepdims`` (the guide states no condition on them).
    Why it matters: one reduction kernel instead of a pointwise pass that writes |x| and a
    reduction that reads it back.
    Conditions: `single-consumer` -- the Abs output is read by the ReduceSum only.
    TensorRT-RTX measured L1Norm as one kgen kernel (docs/TENSORRT-RTX.md#pointwise-chains-and-reductions): same grouping.
    Source: TensorRT Developer Guide, "Supported Reduction Operation Fusions": L1Norm.
    """

    code = "TRT203"
    name = "l1norm"
    phase = 20
    pattern = op.ReduceSum(op.Abs(name="abs"), name="sum")
    result_kind = "L1Norm"
    cost = 1

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
