"""TRT204 sum-of-squares."""

from fusionlab.pattern import Const, Var, op
from fusionlab.rule import Rule, check, single_consumer
from fusionlab.rules.common.values import constant_of



def square_of(a, name: str = "sq"):
    """A square: Mul(a, b) (the `same-input` check asks for b == a) or Pow(a, 2)."""
    return op.Mul(a, Var("b"), name=name) | op.Pow(a, Const("exp"), name=name)


def is_square_structure(b, state) -> bool:
    """Structural filter of a :func:`square_of` binding: a Pow's exponent is exactly 2; a
    Mul multiplies two runtime tensors (``x * 0.5`` is a scale, not a square attempt)."""
    if "exp" in b.tensors:
        value = constant_of(state, b.tensors["exp"])
        return value is not None and value.size == 1 and float(value.reshape(-1)[0]) == 2.0
    return not (state.is_constant(b.tensors["a"]) or state.is_constant(b.tensors["b"]))


def same_input_reason(m) -> str | None:
    """The `same-input` check: a Mul square multiplies one tensor by itself."""
    if "b" not in m.tensors or m.tensor("a") == m.tensor("b"):
        return None
    return (f"{m.node('sq').name} multiplies two different tensors ({m.tensor('a')} and "
            f"{m.tensor('b')}); a square needs the same input twice")


class SumOfSquares(Rule):
    """A square followed by ReduceSum fuses into one Sum of Squares reduction layer.

    What it fuses: Mul(x, x) (a product ElementWise layer with the same input twice) or
    Pow(x, 2) -> ReduceSum, any axes and ``keepdims``. Result kind ``SumSquares``; TRT205
    l2norm takes it further when a Sqrt follows.
    Why it matters: one reduction kernel instead of a pointwise pass writing x*x and a
    reduction reading it back.
    Conditions: `same-input` -- the Mul multiplies a tensor by itself (Mul(x, y) ->
    ReduceSum, e.g. a dot product, is reported missed); `single-consumer` -- the square is
    read by the ReduceSum only. A Pow by any exponent other than exactly 2, or a Mul by a
    constant, is not matched.
    TensorRT-RTX compiles reductions with their pointwise producers into one kgen kernel
    (docs/TENSORRT-RTX.md#pointwise-chains-and-reductions): same grouping.
    Source: TensorRT Developer Guide, "Supported Reduction Operation Fusions": Sum of
    Squares.
    """

    code = "TRT204"
    name = "sum-of-squares"
    phase = 20
    pattern = op.ReduceSum(square_of(Var("a")), name="sum")
    result_kind = "SumSquares"
    cost = 1

    def accept(self, b, state):
        return is_square_structure(b, state)

    @check("same-input")
    def same_input(self, m, ctx):
        return same_input_reason(m)

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)
