"""TRT302 mlp: MatMul / FullyConnected chains with their epilogues become one MLP layer
(``N-layer MLP``) on classic TensorRT; missed when a MatMul is not 2-D, weights exceed
shared memory, more than 31 layers, a second reader; TensorRT-RTX keeps one MatMul per
layer."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def gemm(g, x, k, n, name):
    """A Gemm with constant weights (a FullyConnected layer, TRT109)."""
    return g.node("Gemm", [x, g.weight([n, k]), g.weight([n])], name=name, transB=1)


def test_matmul_relu_is_a_1_layer_mlp():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("a", [16, 64]), g.input("b", [64, 32])], name="matmul")
    y = g.node("Relu", [y], name="relu")
    report = analyze(g.model([y]))
    assert [(l.name, l.kind, l.nodes) for l in report.layers] == [
        ("1-layer MLP", "MLP", ("matmul", "relu"))]
    assert diagnostics(report, "TRT302", "predicted")[0].nodes == ("matmul", "relu")


def test_the_guide_mnist_example_fc_relu_then_fc_is_a_2_layer_mlp():
    g = GraphBuilder()
    y = gemm(g, g.input("x", [16, 64]), 64, 32, "ip1")
    y = g.node("Relu", [y], name="relu1")
    y = gemm(g, y, 32, 10, "ip2")
    report = analyze(g.model([y]))
    assert [(l.name, l.kind, l.nodes) for l in report.layers] == [
        ("2-layer MLP", "MLP", ("ip1", "relu1", "ip2"))]
    assert report.layers[0].rules == ("TRT109", "TRT107", "TRT302")


def test_a_chain_grows_round_after_round():
    g = GraphBuilder()
    y = g.input("x", [16, 32])
    names = []
    for i in range(3):
        y = gemm(g, y, 32, 32, f"fc{i}")
        y = g.node("Sigmoid", [y], name=f"act{i}")
        names += [f"fc{i}", f"act{i}"]
    report = analyze(g.model([y]))
    assert [(l.name, l.nodes) for l in report.layers] == [("3-layer MLP", tuple(names))]


def test_matmul_matmul_and_a_pointwise_epilogue():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("a", [16, 64]), g.input("b", [64, 32])], name="mm1")
    y = g.node("MatMul", [y, g.input("c", [32, 32])], name="mm2")
    y = g.node("Add", [y, g.const(np.full([32], 0.1, np.float32))], name="bias")
    y = g.node("Relu", [y], name="relu")
    report = analyze(g.model([y]))
    assert [(l.name, l.nodes) for l in report.layers] == [("2-layer MLP", ("mm1", "mm2", "bias", "relu"))]
    assert "TRT301" in report.layers[0].rules  # bias + relu were one PointWise layer first


def test_missed_when_a_matmul_is_not_2d():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("a", [2, 16, 64]), g.input("b", [64, 32])], name="matmul")
    y = g.node("Relu", [y], name="relu")
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT302", "missed")
    assert (missed.check, missed.nodes) == ("matmul-2d", ("matmul", "relu"))
    assert "[2, 16, 64] by [64, 32]" in missed.reason
    assert [l.nodes for l in report.layers] == [("matmul",), ("relu",)]


def test_missed_when_the_weights_exceed_shared_memory_in_fp32_not_in_fp16():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("a", [16, 128]), g.input("b", [128, 128])], name="matmul")
    y = g.node("Sigmoid", [y], name="sig")
    model = g.model([y])
    report = analyze(model, precision="fp32")
    (missed,) = diagnostics(report, "TRT302", "missed")
    assert (missed.check, missed.nodes) == ("weights-fit-shared-memory", ("matmul", "sig"))
    assert "65536 bytes in FP32" in missed.reason and "49152" in missed.reason
    assert analyze(model, precision="fp16").layer_of("sig").name == "1-layer MLP"


def test_missed_when_the_matmul_output_has_a_second_reader():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("a", [16, 64]), g.input("b", [64, 32])], name="matmul")
    r = g.node("Relu", [y], name="relu")
    s = g.node("Softmax", [y], name="side")
    (missed,) = diagnostics(analyze(g.model([r, s])), "TRT302", "missed")
    assert (missed.check, missed.nodes) == ("single-consumer", ("matmul", "relu"))
    assert "side" in missed.reason


def test_missed_beyond_31_layers_the_chain_splits_after_31():
    g = GraphBuilder()
    y = g.input("x", [8, 16])
    for i in range(33):
        y = gemm(g, y, 16, 16, f"fc{i}")
        y = g.node("Tanh", [y], name=f"act{i}")
    report = analyze(g.model([y]))
    missed = diagnostics(report, "TRT302", "missed")
    assert missed and {d.check for d in missed} == {"max-31-layers"}
    assert missed[0].nodes[0] == "fc0" and "32 MatMul/FullyConnected layers" in missed[0].reason
    assert [(l.name, l.nodes[0], l.nodes[-1]) for l in report.layers] == [
        ("31-layer MLP", "fc0", "act30"), ("2-layer MLP", "fc31", "act32")]


def test_tensorrt_rtx_keeps_one_matmul_per_layer():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("a", [16, 64]), g.input("b", [64, 32])], name="mm1")
    y = g.node("Relu", [y], name="relu1")
    y = g.node("MatMul", [y, g.input("c", [32, 32])], name="mm2")
    y = g.node("Relu", [y], name="relu2")
    model = g.model([y])
    report = analyze(model, target="tensorrt-rtx")
    assert [l.nodes for l in report.layers] == [("mm1", "relu1"), ("mm2", "relu2")]
    (missed,) = diagnostics(report, "TRT302", "missed")
    assert (missed.check, missed.nodes) == ("single-matmul", ("mm1", "relu1", "mm2", "relu2"))
    assert [l.nodes for l in analyze(model).layers] == [("mm1", "relu1", "mm2", "relu2")]


def test_tensorrt_rtx_fuses_a_3d_matmul_with_its_activation():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("a", [2, 16, 64]), g.input("b", [64, 32])], name="matmul")
    y = g.node("Relu", [y], name="relu")
    report = analyze(g.model([y]), target="tensorrt-rtx")
    assert [l.nodes for l in report.layers] == [("matmul", "relu")]
