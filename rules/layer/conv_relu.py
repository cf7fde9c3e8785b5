"""TRT101 conv-relu."""

from fusionlab.pattern import Op, op
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.ops import CONVS


class ConvRelu(Rule):
    """A Convolution followed by a ReLU fuses into one Convolution layer (``conv + relu``).

    What it fuses: Conv or ConvTranspose -> Relu, any convolution type, no value restriction.
    Why it matters: the ReLU runs in the convolution kernel's epilogue instead of a second
    kernel that reads and writes the whole activation again.
    Conditions: `single-consumer` -- the convolution's output is read by the Relu only.
    Source: TensorRT Developer Guide, "Types of Fusions": ReLU Convolution.
    """

    code = "TRT101"
    name = "conv-relu"
    pattern = op.Relu(Op(CONVS, name="conv"), name="act")
    host = "conv"
    cost = 3

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
