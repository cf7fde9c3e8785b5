"""TRT207 logsumexp: Exp -> ReduceSum -> Log is one LogSumExp layer; missed when exp(x)
is read elsewhere (the LogSum still fuses, and the diagnostic is not repeated)."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def lse(g, x):
    y = g.node("Exp", [x], name="exp")
    y = g.node("ReduceSum", [y, g.const(np.array([-1], np.int64))], name="sum", keepdims=1)
    return g.node("Log", [y], name="log")


def test_exp_reducesum_log_fuses_into_one_logsumexp_layer():
    g = GraphBuilder()
    report = analyze(g.model([lse(g, g.input("x", [8, 1000]))]))
    layer = report.layer_of("log")
    assert (layer.nodes, layer.kind, layer.rules) == (("exp", "sum", "log"), "LogSumExp", ("TRT207",))
    assert diagnostics(report, "TRT207", "predicted")[0].nodes == ("exp", "sum", "log")
    assert diagnostics(report, "TRT206") == []


def test_missed_when_exp_is_read_elsewhere_the_logsum_fuses_alone():
    g = GraphBuilder()
    y = lse(g, g.input("x", [8, 1000]))
    side = g.node("Relu", ["exp_out"], name="side")
    report = analyze(g.model([y, side]))
    (missed,) = diagnostics(report, "TRT207", "missed")
    assert (missed.check, missed.nodes) == ("single-consumer", ("exp", "sum", "log"))
    assert "side" in missed.reason
    assert report.layer_of("log").nodes == ("sum", "log")
    assert report.layer_of("log").kind == "LogSum"
