"""TRT128 softmax-log: Softmax -> Log is one SoftMax layer; missed when the SoftMax already
holds a Log, or its output has a second reader."""

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def test_softmax_then_log_is_one_softmax_layer():
    g = GraphBuilder()
    y = g.node("Softmax", [g.input("x", [8, 1000])], name="sm1", axis=-1)
    y = g.node("Log", [y], name="log1")
    report = analyze(g.model([y]))
    layer = report.layer_of("log1")
    assert layer.nodes == ("sm1", "log1")
    assert layer.kind == "SoftMax"
    assert diagnostics(report, "TRT128", "predicted")[0].nodes == ("sm1", "log1")


def test_missed_when_a_log_softmax_is_followed_by_a_log():
    g = GraphBuilder()
    y = g.node("LogSoftmax", [g.input("x", [8, 1000])], name="lsm1", axis=-1)
    y = g.node("Log", [y], name="log1")
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT128", "missed")
    assert missed.check == "softmax-has-no-log"
    assert missed.nodes == ("lsm1", "log1")
    assert "LogSoftmax" in missed.reason


def test_second_log_after_a_fused_softmax_log_is_missed():
    g = GraphBuilder()
    y = g.node("Softmax", [g.input("x", [8, 1000])], name="sm1", axis=-1)
    y = g.node("Log", [y], name="log1")
    y = g.node("Log", [y], name="log2")
    report = analyze(g.model([y]))
    assert report.layer_of("log1").nodes == ("sm1", "log1")
    (missed,) = diagnostics(report, "TRT128", "missed")
    assert missed.check == "softmax-has-no-log"
    assert missed.nodes == ("sm1", "log1", "log2")
    assert report.layer_of("log2").nodes == ("log2",)


def test_missed_when_the_softmax_output_has_a_second_reader():
    g = GraphBuilder()
    s = g.node("Softmax", [g.input("x", [8, 1000])], name="sm1", axis=-1)
    a = g.node("Log", [s], name="log1")
    b = g.node("Relu", [s], name="relu1")
    report = analyze(g.model([a, b]))
    (missed,) = diagnostics(report, "TRT128", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("sm1", "log1")
    assert "relu1" in missed.reason
