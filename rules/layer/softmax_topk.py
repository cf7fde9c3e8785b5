"""TRT129 softmax-topk."""

from fusionlab.pattern import Op, op
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.ops import SOFTMAX_KINDS


class SoftmaxTopK(Rule):
    """A SoftMax followed by a TopK fuses into one layer (``softmax + topk``).

    What it fuses: Softmax, LogSoftmax, or a SoftMax layer fused with a Log (softmax-log,
    phase 20) -> TopK. The fused layer keeps the kind TopK.
    Why it matters: the top-K selection reads the softmax in the same kernel instead of a
    second pass over the whole tensor.
    Conditions: `single-consumer` -- the SoftMax output is read by the TopK only.
    TensorRT-RTX differs in part: it splits the Softmax in two kernels and the TopK joins
    the second half (docs/TENSORRT-RTX.md#softmax-topk: partly); the predicted layer holds
    the nodes of that second kernel, compared as a set.
    Source: TensorRT Developer Guide, "Types of Fusions": SoftMax and TopK.
    """

    code = "TRT129"
    name = "softmax-topk"
    pattern = op.TopK(Op(SOFTMAX_KINDS, name="softmax"), name="topk")
    cost = 1

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    def describe(self, m):
        return f"{', '.join(m.nodes)} fuse into one TopK layer"
