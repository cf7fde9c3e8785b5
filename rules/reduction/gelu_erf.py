"""TRT201 gelu-erf."""

import math

from fusionlab.pattern import Const, Var, op
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.gs import gelu_op_rewrite
from fusionlab.rules.common.values import constants_mismatch, gelu_forms

SQRT2 = math.sqrt(2.0)


def _pattern():
    """``0.5 * x * (1 + erf(x / sqrt(2)))``, structure only: constants are named, not
    valued, so a wrong constant is a missed fusion (check `constants-match-gelu`)."""
    x = Var("x")
    scaled = op.Div(x, Const("k_scale"), name="scale") | op.Mul(x, Const("k_scale"), name="scale")
    one_plus = op.Add(op.Erf(scaled, name="erf"), Const("one"), name="one_plus")
    return gelu_forms(x, one_plus)


class GeluErf(Rule):
    """The exact GELU written with Erf fuses into one GELU layer (``div + erf + add + mul + mul``).

    What it fuses: ``0.5 * x * (1 + erf(x / sqrt(2)))`` as Div(x, 1.4142135) or
    Mul(x, 0.70710678) -> Erf -> Add 1 -> Mul x -> Mul 0.5, in the three association orders
    exporters write (``(x * e) * 0.5``, ``(x * 0.5) * e``, ``x * (e * 0.5)``), any operand
    order. PyTorch's legacy exporter on BERT emits Div(x, 1.4142135) -> Erf -> Add(1) ->
    Mul(x, .) -> Mul(., 0.5). ``x`` is the same tensor in both places.
    Why it matters: five pointwise kernels (or one PointWise layer) become one GELU layer,
    which the FullyConnected / Convolution GELU epilogue fusions (TRT108 fc-gelu, conv-gelu)
    then take.
    Conditions: `constants-match-gelu` -- the divisor is sqrt(2) (or the factor
    1/sqrt(2)), the added constant 1 and the factor 0.5, within a relative 1e-3;
    `single-consumer` -- no interior result (x / sqrt(2), the Erf, 1 + erf, the inner
    product) is read outside the pattern.
    TensorRT-RTX measured GELU (both forms) as one kgen kernel (docs/TENSORRT-RTX.md#pointwise-chains-and-reductions): same
    grouping.
    Source: TensorRT Developer Guide, "Supported Reduction Operation Fusions": GELU.
    """

    code = "TRT201"
    name = "gelu-erf"
    phase = 20
    pattern = _pattern()
    result_kind = "Gelu"
    cost = 2
    rewrites_on = ("predicted",)

    @check("constants-match-gelu")
    def constants(self, m, ctx):
        divides = m.node("scale").op_type == "Div"
        scale = (("k_scale", SQRT2, "sqrt(2)") if divides else ("k_scale", 1.0 / SQRT2, "1/sqrt(2)"))
        return constants_mismatch(m, [scale, ("one", 1.0, "1"), ("half", 0.5, "0.5")], "GELU (erf)")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    def rewrite(self, m, graph):
        """From opset 20, one ``Gelu`` op (``fusionlab rewrite``; see
        ``fusionlab.rules.common.gelu_op_rewrite``: TensorRT-RTX fuses every spelling, so below
        opset 20 nothing changes)."""
        scale = (("k_scale", SQRT2, "sqrt(2)") if m.node("scale").op_type == "Div"
                 else ("k_scale", 1.0 / SQRT2, "1/sqrt(2)"))
        return gelu_op_rewrite(m, graph, "none", [scale, ("one", 1.0, "1"), ("half", 0.5, "0.5")],
                               "GELU (erf)")
