"""TRT101 conv-relu: fires on Conv -> Relu; missed when the Conv output has 2 readers."""

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def test_conv_relu_fuses_into_one_convolution_layer():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert [layer.name for layer in report.layers] == ["conv1 + relu1"]
    assert report.layers[0].rules == ("TRT101",)
    assert diagnostics(report, "TRT101", "predicted")[0].nodes == ("conv1", "relu1")


def test_conv_transpose_relu_fuses_too():
    g = GraphBuilder()
    w = g.weight([32, 16, 2, 2])
    y = g.node("ConvTranspose", [g.input("x", [1, 32, 8, 8]), w], name="deconv", strides=[2, 2])
    y = g.node("Relu", [y], name="relu")
    report = analyze(g.model([y]))
    assert [layer.name for layer in report.layers] == ["deconv + relu"]


def test_missed_when_conv_output_has_a_second_consumer():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    a = g.node("Relu", [y], name="relu1")
    b = g.node("Sigmoid", [y], name="sig1")
    report = analyze(g.model([a, b]))
    (missed,) = diagnostics(report, "TRT101", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("conv1", "relu1")
    assert "2 consumers" in missed.reason and "sig1" in missed.reason
    assert report.layer_of("conv1").nodes == ("conv1",)


def test_conv_relu_relu_chain_is_one_layer_after_repeated_rounds():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Relu", [y], name="relu1")
    y = g.node("Relu", [y], name="relu2")
    report = analyze(g.model([y]))
    assert report.layer_of("relu2").nodes == ("conv1", "relu1", "relu2")
