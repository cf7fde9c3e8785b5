"""TRT207 logsumexp."""

from fusionlab.pattern import Op, op
from fusionlab.rule import Rule, check, single_consumer


class LogSumExp(Rule):
    """Exp followed by a LogSum fuses into one LogSumExp reduction layer.

    What it fuses: Exp -> ReduceSum -> Log, or Exp -> a LogSum layer (TRT206), any axes and
    ``keepdims``. In the max-subtracted (numerically stable) form ``m + log(sum(exp(x -
    m)))``, m = ReduceMax(x), the Exp -> ReduceSum -> Log inside is this pattern (its Exp
    reads x - m); the ReduceMax, Sub and Add stay around it.
    Why it matters: one reduction kernel instead of an exponential pass, a sum and a log.
    Conditions: `single-consumer` -- neither exp(x) nor the sum is read outside the pattern.
    TensorRT-RTX measured LogSumExp as one kgen kernel (docs/TENSORRT-RTX.md#pointwise-chains-and-reductions): same grouping.
    Spellings measured with TensorRT-RTX 1.7 (FP32, [8, 32, 256], between two Relus,
    ``keepdims`` 1 and 0), one kgen kernel each: Exp -> ReduceSum -> Log; ReduceLogSumExp
    (what ``torch.logsumexp`` exports, TorchScript opset 17 and dynamo opset 18 alike; the
    RTX parser computes it max-subtracted with an infinity guard, kernel
    ``MaxrIsinSeleSubExpSumLogAdd``); the stable ReduceMax -> Sub -> Exp -> ReduceSum ->
    Log -> Add; and torch's decomposition with the ``abs(max) == inf`` guard (Abs, Equal,
    Where). So no rewrite for TensorRT-RTX. None for classic TensorRT either: the stable
    form already fuses its Exp -> ReduceSum -> Log, and turning it into the plain pattern,
    or into a ReduceLogSumExp (which the TensorRT 7/8 parser imports as Exp -> Reduce
    kSUM -> Log), drops the max subtraction: exp overflows above 88.7 in float32 (11.1 in
    float16), a change random test inputs would not show; ReduceLogSumExp itself is one
    layer either way.
    Source: TensorRT Developer Guide, "Supported Reduction Operation Fusions": LogSumExp;
    onnx-tensorrt builtin_op_importers.cpp (ReduceLogSumExp = kEXP, then ReduceLogSum).
    """

    code = "TRT207"
    name = "logsumexp"
    phase = 20
    pattern = (
        op.Log(op.ReduceSum(op.Exp(name="exp"), name="sum"), name="log"),
        Op("LogSum", op.Exp(name="exp"), name="log"),
    )
    result_kind = "LogSumExp"
    cost = 1

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
