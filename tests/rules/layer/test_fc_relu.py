"""TRT107 fc-relu: fires on FullyConnected (Gemm / MatMul + Add with constant weights)
-> Relu; missed when the FullyConnected output has a second reader."""

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def test_gemm_relu_fuses_into_one_fully_connected_layer():
    g = GraphBuilder()
    y = g.node("Gemm", [g.input("x", [8, 256]), g.weight([256, 512]), g.weight([512])], name="ip1")
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    layer = report.layer_of("relu1")
    assert layer.nodes == ("ip1", "relu1")
    assert layer.name == "ip1 + relu1"
    assert layer.kind == "FullyConnected"
    assert diagnostics(report, "TRT107", "predicted")[0].nodes == ("ip1", "relu1")


def test_matmul_add_relu_is_one_layer():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", [8, 256]), g.weight([256, 512])], name="matmul")
    y = g.node("Add", [g.weight([512]), y], name="add")
    y = g.node("Relu", [y], name="relu")
    report = analyze(g.model([y]))
    assert report.layer_of("relu").nodes == ("matmul", "add", "relu")
    assert report.layer_of("relu").name == "matmul + add + relu"


def test_matmul_with_runtime_weights_is_not_a_fully_connected_layer():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", [8, 256]), g.input("w", [256, 512])], name="matmul")
    y = g.node("Relu", [y], name="relu")
    report = analyze(g.model([y]))
    assert diagnostics(report, "TRT107") == []
    assert report.layer_of("matmul").kind == "MatMul"


def test_missed_when_fc_output_has_a_second_consumer():
    g = GraphBuilder()
    y = g.node("Gemm", [g.input("x", [8, 256]), g.weight([256, 512]), g.weight([512])], name="ip1")
    a = g.node("Relu", [y], name="relu1")
    b = g.node("Tanh", [y], name="tanh1")
    report = analyze(g.model([a, b]))
    (missed,) = diagnostics(report, "TRT107", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("ip1", "relu1")
    assert "tanh1" in missed.reason
    assert report.layer_of("ip1").nodes == ("ip1",)
