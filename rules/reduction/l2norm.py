"""TRT205 l2norm."""

from fusionlab.pattern import Op, Var, op
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.reduction.sum_of_squares import is_square_structure, same_input_reason, square_of


class L2Norm(Rule):
    """A sum of squares followed by Sqrt fuses into one L2Norm reduction layer.

    What it fuses: a SumSquares layer (TRT204) -> Sqrt, or directly Mul(x, x) / Pow(x, 2)
    -> ReduceSum -> Sqrt, any axes and ``keepdims``.
    Why it matters: one reduction kernel instead of up to three passes over the tensor.
    Conditions: `same-input` -- a Mul square multiplies a tensor by itself;
    `single-consumer` -- neither the square nor the sum is read outside the pattern.
    TensorRT-RTX measured L2Norm as one kgen kernel (docs/TENSORRT-RTX.md#pointwise-chains-and-reductions): same grouping.
    Spellings measured with TensorRT-RTX 1.7 (FP32, [8, 32, 256], between two Relus), one
    kgen kernel each: Mul(x, x) or Pow(x, 2) -> ReduceSum -> Sqrt, ReduceSumSquare -> Sqrt,
    ReduceL2 (``x.norm(dim=-1)``), and each of them followed by the normalization
    ``Div(x, .)``, with or without Clip / Max(eps). ``torch.nn.functional.normalize``
    exports ReduceL2 -> Clip -> Expand(Shape(x)) -> Div: the Expand splits it into two
    kernels, and TRT507 reduce-expand removes it (``fusionlab rewrite``, exact; 2 -> 1).
    No rewrite here: on TensorRT-RTX every spelling is one kernel, and classic
    TensorRT's parser imports ReduceL2 as ElementWise kPROD -> Reduce kSUM -> Unary kSQRT,
    this very pattern, so a ReduceL2 is one layer either way (the prediction would not
    change).
    Source: TensorRT Developer Guide, "Supported Reduction Operation Fusions": L2Norm;
    onnx-tensorrt builtin_op_importers.cpp (ReduceL2 = ReduceSumSquare then kSQRT).
    """

    code = "TRT205"
    name = "l2norm"
    phase = 20
    pattern = (
        op.Sqrt(op.ReduceSum(square_of(Var("a")), name="sum"), name="sqrt"),
        op.Sqrt(Op("SumSquares", name="sum"), name="sqrt"),
    )
    result_kind = "L2Norm"
    cost = 1

    def accept(self, b, state):
        return "sq" not in b.layers or is_square_structure(b, state)

    @check("same-input")
    def same_input(self, m, ctx):
        return same_input_reason(m) if "sq" in m.layers else None

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
