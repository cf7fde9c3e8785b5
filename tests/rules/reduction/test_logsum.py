"""TRT206 logsum: ReduceSum -> Log is one LogSum layer; missed on a second reader."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def logsum(g, x):
    y = g.node("ReduceSum", [x, g.const(np.array([-1], np.int64))], name="sum")
    return g.node("Log", [y], name="log")


def test_reducesum_log_fuses_into_one_logsum_layer():
    g = GraphBuilder()
    report = analyze(g.model([logsum(g, g.input("x", [8, 128]))]))
    layer = report.layer_of("log")
    assert (layer.nodes, layer.kind, layer.name) == (("sum", "log"), "LogSum", "sum + log")
    assert diagnostics(report, "TRT206", "predicted")[0].nodes == ("sum", "log")


def test_missed_when_the_sum_is_read_elsewhere():
    g = GraphBuilder()
    y = logsum(g, g.input("x", [8, 128]))
    side = g.node("Neg", ["sum_out"], name="side")
    report = analyze(g.model([y, side]))
    (missed,) = diagnostics(report, "TRT206", "missed")
    assert (missed.check, missed.nodes) == ("single-consumer", ("sum", "log"))
    assert report.layer_of("log").nodes == ("log",)
