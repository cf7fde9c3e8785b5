"""TRT204 sum-of-squares: Mul(x, x) or Pow(x, 2) -> ReduceSum is one SumSquares layer;
missed for Mul(x, y) and on a second reader; Pow(x, 3) and Mul(x, c) are not squares."""

import numpy as np
import pytest

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def reduce_sum(g, y):
    return g.node("ReduceSum", [y, g.const(np.array([1], np.int64))], name="sum", keepdims=0)


@pytest.mark.parametrize("square", ["mul", "pow"])
def test_square_then_reducesum_fuses(square):
    g = GraphBuilder()
    x = g.input("x", [8, 128])
    y = (g.node("Mul", [x, x], name="sq") if square == "mul"
         else g.node("Pow", [x, g.const(2.0)], name="sq"))
    report = analyze(g.model([reduce_sum(g, y)]))
    layer = report.layer_of("sum")
    assert (layer.nodes, layer.kind) == (("sq", "sum"), "SumSquares")
    assert diagnostics(report, "TRT204", "predicted")[0].nodes == ("sq", "sum")


def test_missed_when_the_mul_multiplies_two_tensors():
    g = GraphBuilder()
    y = g.node("Mul", [g.input("a", [8, 128]), g.input("b", [8, 128])], name="sq")
    report = analyze(g.model([reduce_sum(g, y)]))
    (missed,) = diagnostics(report, "TRT204", "missed")
    assert (missed.check, missed.nodes) == ("same-input", ("sq", "sum"))
    assert "a and b" in missed.reason
    assert report.layer_of("sum").nodes == ("sum",)


def test_missed_when_the_square_is_read_elsewhere():
    g = GraphBuilder()
    x = g.input("x", [8, 128])
    y = reduce_sum(g, g.node("Mul", [x, x], name="sq"))
    side = g.node("Sqrt", ["sq_out"], name="side")
    (missed,) = diagnostics(analyze(g.model([y, side])), "TRT204", "missed")
    assert (missed.check, missed.nodes) == ("single-consumer", ("sq", "sum"))


@pytest.mark.parametrize("op,const", [("Pow", 3.0), ("Mul", 0.5)])
def test_pow_3_and_a_scale_are_not_squares(op, const):
    g = GraphBuilder()
    y = g.node(op, [g.input("x", [8, 128]), g.const(const)], name="sq")
    report = analyze(g.model([reduce_sum(g, y)]))
    assert diagnostics(report, "TRT204") == []
    assert report.layer_of("sum").nodes == ("sum",)
