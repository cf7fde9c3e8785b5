"""TRT604 resize-scales-input."""

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check


class ResizeScalesInput(Rule):
    """A Resize whose `scales` is a graph input: the parser rejects the float shape input.

    What it fuses: nothing; a parser check on every Resize with a `scales` input.
    Why it matters: the parser makes `scales` a shape tensor, and a network input that
    is a shape tensor must be INT32 or INT64, so a float `scales` graph input stops the
    build: "Network input scales is a shape tensor and must have type Int32 or Int64.
    Type is Float." (measured with TensorRT-RTX 1.7). `scales` that is an initializer, or
    computed inside the graph (a Mul of initializers, even a Div of `Cast(Shape(x))`),
    builds; a Pad `pads` or Reshape `shape` graph input is accepted by the parser (it
    then needs an optimization profile, `--shape`).
    Conditions: `scales-not-input` -- `scales` is not a graph input. The reason names the
    node and the input; fix it by making the scales an initializer, or pass the output
    size as the INT64 `sizes` input.
    TensorRT-RTX rejects it the same way (docs/TENSORRT-RTX.md#parser-rejections).
    Source: onnx-tensorrt `builtin_op_importers.cpp` (the Resize importer reads `scales`
    as a shape tensor) and `docs/operators.md` (Resize); the live builds in
    docs/TENSORRT-RTX.md#parser-rejections.
    """

    code = "TRT604"
    name = "resize-scales-input"
    kind = "lint"
    level = "onnx"  # the parser imports every node, also ones a fold absorbed
    pattern = Op("Resize", name="resize", where=lambda node: len(node.inputs) > 2 and bool(node.inputs[2]))
    phase = 90
    cost = 3
    rejects = True

    @check("scales-not-input")
    def scales_not_input(self, resize, ctx):
        scales = resize.inputs[2]
        if scales not in ctx.graph.inputs:
            return None
        return (f"{resize.name} (Resize) reads its scales from graph input {scales}: TensorRT's parser "
                "makes it a shape tensor, which must be INT32 or INT64, and rejects the float input "
                "(\"Network input scales is a shape tensor and must have type Int32 or Int64\"); make "
                "the scales an initializer or give the output size as the INT64 sizes input")
