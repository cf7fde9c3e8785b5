"""TRT207 logsumexp."""

from fusionlab.pattern import Op, op
from fusionlab.rule import Rule, check, single_consumer


class LogSumExp(Rule):
    """Exp followed by a LogSum fuses into one LogSumExp reduction layer.

    What it fuses: Exp -> ReduceSum -> Log, or Exp -> a LogSum layer (TRT206), any axes and
    ``keepdims``. A max-subtracted (numerically stable) form has a ReduceMax and a Sub in
    between and is not this pattern.
    Why it matters: one reduction kernel instead of an exponential pass, a sum and a log.
    Conditions: `single-consumer` -- neither exp(x) nor the sum is read outside the pattern.
    TensorRT-RTX measured LogSumExp as one kgen kernel (TENSORRT-RTX.md): same grouping.
    Source: TensorRT Developer Guide, "Supported Reduction Operation Fusions": LogSumExp.
    """

    code = "TRT207"
    name = "logsumexp"
    phase = 20
    pattern = (
        op.Log(op.ReduceSum(op.Exp(name="exp", free=True), name="sum"), name="log"),
        Op("LogSum", op.Exp(name="exp", free=True), name="log"),
    )
    result_kind = "LogSumExp"
    cost = 1

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
