"""TRT107 fc-relu."""

from fusionlab.pattern import Op, op
from fusionlab.rule import Rule, check, single_consumer


class FcRelu(Rule):
    """A FullyConnected layer followed by a ReLU fuses into one layer (``ip1 + relu1``).

    What it fuses: FullyConnected (a Gemm or MatMul with constant 2-D weights, bias Add
    included; see TRT109 fc-as-conv) -> Relu. The MNIST example of the guide: ``ip1`` and
    ``relu1`` become ``ip1 + relu1``.
    Why it matters: the ReLU runs in the GEMM/convolution epilogue instead of a second
    kernel over the output.
    Conditions: `single-consumer` -- the FullyConnected output is read by the Relu only.
    TensorRT-RTX measured Gemm->Relu, MatMul->Relu and MatMul->Add->Relu as one gemm
    kernel: same grouping.
    Source: TensorRT Developer Guide (TensorRT 7), "Types of Fusions": FullyConnected and
    ReLU Activation; from TensorRT 8.6 the FullyConnected is a convolution and
    Convolution and ReLU Activation applies, with the same result.
    """

    code = "TRT107"
    name = "fc-relu"
    pattern = op.Relu(Op("FullyConnected", name="fc"), name="act")
    host = "fc"
    cost = 3

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
