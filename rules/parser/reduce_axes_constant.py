"""TRT601 reduce-axes-constant."""

from fusionlab.pattern import Op, Var
from fusionlab.rule import Rule, check

from fusionlab.rules.common.ops import REDUCES


class ReduceAxesConstant(Rule):
    """A Reduce* whose `axes` input is not a build-time constant: the parser rejects it.

    What it fuses: nothing; a parser check on every Reduce* node with an `axes` input
    (ReduceSum from opset 13, the other Reduce* ops from opset 18).
    Why it matters: the parser needs the reduced axes while it builds the network and
    stops with "Assertion failed: resolvedWeights(axesWeights): Axis input must resolve
    to a build-time constant (an initializer or a constant-foldable subgraph)!"
    (measured with TensorRT-RTX 1.7 for an `axes` graph input, an `axes` computed
    from `Shape`/`Size`/`Range` of a static tensor, and even an `Add` of two
    initializers); no engine is built.
    Conditions: `axes-constant` -- `axes` is an initializer or the output of a
    `Constant` node (the two forms the measured builds accept). The reason names the
    node, the tensor and what computes it; fix it by writing the axes as an initializer
    (`onnxsim` or `onnx.shape_inference` plus constant folding of the model), or as
    the `axes` attribute of opset 17 and older.
    TensorRT-RTX rejects it the same way (docs/TENSORRT-RTX.md#parser-rejections).
    Source: onnx-tensorrt `builtin_op_importers.cpp` (the Reduce* importers'
    `resolvedWeights(axesWeights)` assertion) and `docs/operators.md`; the live
    builds in docs/TENSORRT-RTX.md#parser-rejections.
    """

    code = "TRT601"
    name = "reduce-axes-constant"
    kind = "lint"
    level = "onnx"  # the parser imports every node, also a Reduce that constant folding absorbed
    pattern = Op(REDUCES, Var(), Var("axes"), name="reduce")
    phase = 90
    cost = 3
    rejects = True

    @check("axes-constant")
    def axes_constant(self, reduce, axes, ctx):
        graph = ctx.graph
        if axes in graph.initializers:
            return None
        src = graph.producer.get(axes)
        if src is not None and graph.nodes[src].op_type == "Constant":
            return None
        what = (f"graph input {axes}" if src is None else
                f"{axes}, computed by {src} ({graph.nodes[src].op_type})")
        return (f"{reduce.name} ({reduce.op_type}) reads its axes from {what}, not an initializer or "
                "a Constant: TensorRT's parser rejects it (\"Axis input must resolve to a build-time "
                "constant\"); store the axes as an initializer")
