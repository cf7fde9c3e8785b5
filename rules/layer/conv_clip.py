"""TRT102 conv-clip."""

from fusionlab.pattern import Op, op
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.ops import CONVS


class ConvClip(Rule):
    """A Convolution followed by a Clip fuses into one Convolution layer (``conv + clip``).

    What it fuses: Conv or ConvTranspose -> Clip, any convolution type, no value
    restriction; this includes the ReLU6 of torchvision's MobileNet (``Clip(0, 6)``, with
    min/max as constant inputs from opset 11, attributes before).
    Why it matters: the clip runs in the convolution kernel's epilogue instead of a second
    kernel that reads and writes the whole activation again.
    Conditions: `clip-bounds-constant` -- min and max are constants (TensorRT's Clip
    activation takes them as layer parameters; runtime bounds become ElementWise Max/Min);
    `single-consumer` -- the convolution's output is read by the Clip only.
    TensorRT-RTX measured the same (one conv kernel).
    Source: TensorRT Developer Guide, "Types of Fusions": Convolution and Clip Activation.
    """

    code = "TRT102"
    name = "conv-clip"
    pattern = op.Clip(Op(CONVS, name="conv"), name="clip")
    host = "conv"
    cost = 3

    @check("clip-bounds-constant")
    def bounds_constant(self, m, ctx):
        clip = m.node("clip")
        runtime = [f"{label} {t}" for label, t in zip(("min", "max"), clip.inputs[1:3])
                   if t and not m.state.is_constant(t)]
        if runtime:
            return (f"{clip.name} takes {' and '.join(runtime)} from a non-constant tensor; "
                    "the fusion needs constant clip bounds")
        return None

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
