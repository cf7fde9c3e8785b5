"""TRT205 l2norm: square -> ReduceSum -> Sqrt is one L2Norm layer; missed for Mul(x, y)
and when the sum is read elsewhere (the sum of squares still fuses then)."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def l2(g, a, b):
    y = g.node("Mul", [a, b], name="sq")
    y = g.node("ReduceSum", [y, g.const(np.array([-1], np.int64))], name="sum", keepdims=1)
    return g.node("Sqrt", [y], name="sqrt")


def test_square_sum_sqrt_fuses_into_one_l2norm_layer():
    g = GraphBuilder()
    x = g.input("x", [8, 128])
    report = analyze(g.model([l2(g, x, x)]))
    layer = report.layer_of("sqrt")
    assert (layer.nodes, layer.kind, layer.rules) == (("sq", "sum", "sqrt"), "L2Norm", ("TRT205",))
    assert diagnostics(report, "TRT205", "predicted")[0].nodes == ("sq", "sum", "sqrt")


def test_pow_2_form_fuses_too():
    g = GraphBuilder()
    y = g.node("Pow", [g.input("x", [8, 128]), g.const(2.0)], name="sq")
    y = g.node("ReduceSum", [y, g.const(np.array([-1], np.int64))], name="sum")
    y = g.node("Sqrt", [y], name="sqrt")
    assert analyze(g.model([y])).layer_of("sqrt").kind == "L2Norm"


def test_missed_when_the_square_multiplies_two_tensors():
    g = GraphBuilder()
    report = analyze(g.model([l2(g, g.input("a", [8, 128]), g.input("b", [8, 128]))]))
    (missed,) = diagnostics(report, "TRT205", "missed")
    assert (missed.check, missed.nodes) == ("same-input", ("sq", "sum", "sqrt"))
    assert report.layer_of("sqrt").nodes == ("sqrt",)


def test_missed_when_the_sum_is_read_elsewhere_sum_of_squares_still_fuses():
    g = GraphBuilder()
    x = g.input("x", [8, 128])
    y = l2(g, x, x)
    side = g.node("Log", ["sum_out"], name="side")
    report = analyze(g.model([y, side]))
    (missed,) = diagnostics(report, "TRT205", "missed")
    assert (missed.check, missed.nodes) == ("single-consumer", ("sq", "sum", "sqrt"))
    assert "side" in missed.reason
    assert report.layer_of("sum").nodes == ("sq", "sum")
    assert report.layer_of("sum").kind == "SumSquares"


# ---------------------------------------------------------------- spellings on TensorRT-RTX

import pytest  # noqa: E402

from fusionlab.rewriting import build_count  # noqa: E402

SPELLINGS = ["reducel2", "mul", "pow", "sumsquare"]


def normalized(spelling):
    """Relu -> x / max(||x||, eps) -> Relu with the norm spelled ``spelling``: ReduceL2
    (``x.norm(dim=-1)``), Mul(x, x) or Pow(x, 2) -> ReduceSum -> Sqrt, ReduceSumSquare -> Sqrt."""
    g = GraphBuilder()
    x = g.node("Relu", [g.input("x", [8, 32, 256])], name="relu_in")
    if spelling == "reducel2":
        n = g.node("ReduceL2", [x], name="sqrt", axes=[-1], keepdims=1)
    elif spelling == "sumsquare":
        n = g.node("Sqrt", [g.node("ReduceSumSquare", [x], name="sum", axes=[-1], keepdims=1)], name="sqrt")
    else:
        sq = g.node("Mul", [x, x], name="sq") if spelling == "mul" else \
            g.node("Pow", [x, g.const(np.float32(2))], name="sq")
        n = g.node("ReduceSum", [sq, g.const(np.array([-1], np.int64))], name="sum", keepdims=1)
        n = g.node("Sqrt", [n], name="sqrt")
    n = g.node("Clip", [n, g.const(np.float32(1e-12))], name="clip")
    return g.model([g.node("Relu", [g.node("Div", [x, n], name="div")], name="relu_out")])


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_is_one_predicted_layer_on_tensorrt_rtx(spelling):
    report = analyze(normalized(spelling), target="tensorrt-rtx")
    assert len(report.layers) == 1 and report.layers[0].kind == "kgen"
    if spelling in ("mul", "pow"):
        assert analyze(normalized(spelling)).layer_of("sqrt").kind == "L2Norm"


@pytest.mark.needs_rtx
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_spelling_builds_into_one_kernel_with_tensorrt_rtx(spelling):
    count = build_count(normalized(spelling), "tensorrt-rtx")
    assert count.error is None, count.error
    assert count.layers == 1  # so no spelling needs a rewrite (the docstring's measurement)
