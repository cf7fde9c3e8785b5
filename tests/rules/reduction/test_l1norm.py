"""TRT203 l1norm: Abs -> ReduceSum fuses into an L1Norm layer; missed on a second reader."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def l1(g, x):
    y = g.node("Abs", [x], name="abs")
    return g.node("ReduceSum", [y, g.const(np.array([-1], np.int64))], name="sum", keepdims=1)


def test_abs_reducesum_fuses_into_one_l1norm_layer():
    g = GraphBuilder()
    report = analyze(g.model([l1(g, g.input("x", [8, 128]))]))
    layer = report.layer_of("sum")
    assert (layer.nodes, layer.kind, layer.name) == (("abs", "sum"), "L1Norm", "abs + sum")
    assert diagnostics(report, "TRT203", "predicted")[0].nodes == ("abs", "sum")


def test_missed_when_the_abs_output_is_read_elsewhere():
    g = GraphBuilder()
    y = l1(g, g.input("x", [8, 128]))
    side = g.node("Relu", ["abs_out"], name="side")
    report = analyze(g.model([y, side]))
    (missed,) = diagnostics(report, "TRT203", "missed")
    assert (missed.check, missed.nodes) == ("single-consumer", ("abs", "sum"))
    assert "side" in missed.reason
    assert report.layer_of("sum").nodes == ("sum",)
