"""TRT120 relu-relu."""

from fusionlab.pattern import op
from fusionlab.rule import Rule, check, single_consumer


class ReluRelu(Rule):
    """A ReLU followed by a ReLU is replaced by one ReLU Activation layer (``relu1 + relu2``).

    What it fuses: Relu -> Relu. The first may already be a fused layer of kind Relu (an
    earlier relu-relu, or scale-activation's Scale + ReLU), so a chain of ReLUs becomes one
    layer across rounds.
    Why it matters: ReLU is idempotent; the second kernel reads and writes the whole
    activation again for nothing.
    Conditions: `single-consumer` -- the first ReLU's output is read by the second only.
    TensorRT-RTX measured the same (one kernel, docs/TENSORRT-RTX.md#relu-relu).
    Source: TensorRT Developer Guide, "Types of Fusions": ReLU ReLU Activation.
    """

    code = "TRT120"
    name = "relu-relu"
    pattern = op.Relu(op.Relu(name="first"), name="second")
    host = "first"
    cost = 1

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
