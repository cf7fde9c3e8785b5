"""TRT206 logsum."""

from fusionlab.pattern import op
from fusionlab.rule import Rule, check, single_consumer


class LogSum(Rule):
    """ReduceSum followed by Log fuses into one LogSum reduction layer (``reducesum + log``).

    What it fuses: ReduceSum (a Reduce kSUM layer) -> Log (a Unary kLOG layer), any axes
    and ``keepdims``. TRT207 logsumexp takes it further when an Exp precedes.
    Why it matters: the log runs in the reduction kernel instead of a second kernel.
    Conditions: `single-consumer` -- the ReduceSum output is read by the Log only.
    TensorRT-RTX measured LogSum as one kgen kernel (docs/TENSORRT-RTX.md#pointwise-chains-and-reductions): same grouping.
    Source: TensorRT Developer Guide, "Supported Reduction Operation Fusions": LogSum.
    """

    code = "TRT206"
    name = "logsum"
    phase = 20
    pattern = op.Log(op.ReduceSum(name="sum"), name="log")
    result_kind = "LogSum"
    cost = 1

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
