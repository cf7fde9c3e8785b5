"""TRT120 relu-relu: fires on Relu -> Relu (and chains); missed when the first Relu has 2 readers."""

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def test_relu_relu_is_one_relu_layer():
    g = GraphBuilder()
    y = g.node("Relu", [g.input("x", [1, 32, 16, 16])], name="relu1")
    y = g.node("Relu", [y], name="relu2")
    report = analyze(g.model([y]))
    layer = report.layer_of("relu2")
    assert layer.nodes == ("relu1", "relu2")
    assert layer.kind == "Relu"
    assert layer.name == "relu1 + relu2"
    assert diagnostics(report, "TRT120", "predicted")[0].nodes == ("relu1", "relu2")


def test_a_chain_of_three_relus_is_one_layer_across_rounds():
    g = GraphBuilder()
    y = g.node("Relu", [g.input("x", [1, 32, 16, 16])], name="relu1")
    y = g.node("Relu", [y], name="relu2")
    y = g.node("Relu", [y], name="relu3")
    report = analyze(g.model([y]))
    assert report.layer_of("relu3").nodes == ("relu1", "relu2", "relu3")
    assert not diagnostics(report, "TRT120", "missed")


def test_missed_when_the_first_relu_has_a_second_reader():
    g = GraphBuilder()
    a = g.node("Relu", [g.input("x", [1, 32, 16, 16])], name="relu1")
    b = g.node("Relu", [a], name="relu2")
    c = g.node("Transpose", [a], name="t1", perm=[0, 2, 3, 1])
    report = analyze(g.model([b, c]))
    (missed,) = diagnostics(report, "TRT120", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("relu1", "relu2")
    assert "t1" in missed.reason
    assert report.layer_of("relu2").nodes == ("relu2",)
