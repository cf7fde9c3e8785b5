"""TRT202 gelu-tanh."""

import math

from fusionlab.pattern import Const, Var, op
from fusionlab.rule import Rule, check, single_consumer

from fusionlab.rules.common.gs import gelu_op_rewrite
from fusionlab.rules.common.values import constants_mismatch, gelu_forms

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
KAPPA = 0.044715


def _pattern():
    """``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))``, structure only:
    constants are named, not valued (check `constants-match-gelu`)."""
    x = Var("x")
    cube = op.Pow(x, Const("k_cube"), name="cube") | op.Mul(x, op.Mul(x, x, name="square"), name="cube")
    inner = op.Add(x, op.Mul(Const("kappa"), cube, name="kappa_mul"), name="inner_sum")
    one_plus = op.Add(op.Tanh(op.Mul(Const("beta"), inner, name="beta_mul"), name="tanh"),
                      Const("one"), name="one_plus")
    return gelu_forms(x, one_plus)


class GeluTanh(Rule):
    """The tanh approximation of GELU fuses into one GELU layer.

    What it fuses: ``0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))`` with ``x^3``
    as Pow(x, 3) or Mul(x, Mul(x, x)), the outer product in the three association orders
    exporters write (``(x * t) * 0.5``, ``(x * 0.5) * t``, ``x * (t * 0.5)``), any operand
    order: PyTorch's ``gelu(approximate="tanh")`` export and Hugging Face's NewGELU
    (GPT-2). ``x`` is the same tensor everywhere.
    Why it matters: eight or nine pointwise kernels become one GELU layer, which the
    FullyConnected / Convolution GELU epilogue fusions then take.
    Conditions: `constants-match-gelu` -- sqrt(2/pi) = 0.7978846, 0.044715, the exponent 3
    (Pow form), 1 and 0.5, within a relative 1e-3 (copies of the guide print 0.044615 and
    2/pi without the root: typos; the mathematically correct GELU is what fuses, per
    docs/FUSIONS.md#sources); `single-consumer` -- no interior result is read outside the pattern.
    TensorRT-RTX measured GELU (both forms) as one kgen kernel (docs/TENSORRT-RTX.md#pointwise-chains-and-reductions): same
    grouping.
    Source: TensorRT Developer Guide, "Supported Reduction Operation Fusions": GELU.
    """

    code = "TRT202"
    name = "gelu-tanh"
    phase = 20
    pattern = _pattern()
    result_kind = "Gelu"
    cost = 2
    rewrites_on = ("predicted",)

    @check("constants-match-gelu")
    def constants(self, m, ctx):
        return constants_mismatch(m, [
            ("beta", SQRT_2_OVER_PI, "sqrt(2/pi)"), ("kappa", KAPPA, "0.044715"),
            ("k_cube", 3.0, "3"), ("one", 1.0, "1"), ("half", 0.5, "0.5"),
        ], "GELU (tanh)")

    @check("single-consumer")
    def single(self, m, ctx):
        return single_consumer(m, ctx)

    def rewrite(self, m, graph):
        """From opset 20, one ``Gelu(approximate="tanh")`` op (``fusionlab rewrite``; see
        ``fusionlab.rules.common.gelu_op_rewrite``)."""
        return gelu_op_rewrite(m, graph, "tanh", [
            ("beta", SQRT_2_OVER_PI, "sqrt(2/pi)"), ("kappa", KAPPA, "0.044715"),
            ("k_cube", 3.0, "the exponent 3"), ("one", 1.0, "1"), ("half", 0.5, "0.5"),
        ], "GELU (tanh)")
