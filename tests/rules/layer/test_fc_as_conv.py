"""TRT109 fc-as-conv: a Gemm / MatMul with constant weights (MatMul + bias Add merged)
becomes a FullyConnected layer; missed on a non-2-D weight, a non-vector bias and a
second reader of the MatMul."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def test_matmul_add_becomes_one_fully_connected_layer():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", [8, 256]), g.weight([256, 128])], name="matmul")
    y = g.node("Add", [y, g.weight([128])], name="add")
    report = analyze(g.model([y]))
    (layer,) = report.layers
    assert layer.nodes == ("matmul", "add")
    assert layer.name == "matmul + add"
    assert layer.kind == "FullyConnected"
    assert layer.rules == ("TRT109",)
    assert diagnostics(report, "TRT109", "predicted")[0].nodes == ("matmul", "add")


def test_lone_gemm_and_matmul_with_constant_weights_become_fully_connected():
    g = GraphBuilder()
    y = g.node("Gemm", [g.input("x", [8, 256]), g.weight([128, 256]), g.weight([128])],
               name="gemm1", transB=1)
    y = g.node("MatMul", [y, g.weight([128, 64])], name="matmul2")
    report = analyze(g.model([y]))
    assert [(l.name, l.kind) for l in report.layers] == [
        ("gemm1", "FullyConnected"), ("matmul2", "FullyConnected")]
    assert [d.nodes for d in diagnostics(report, "TRT109", "predicted")] == [("gemm1",), ("matmul2",)]


def test_a_bias_of_shape_1_n_and_a_3d_activation_are_fine():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", [2, 16, 256]), g.weight([256, 128])], name="matmul")
    y = g.node("Add", [g.weight([1, 128]), y], name="add")
    assert analyze(g.model([y])).layer_of("add").nodes == ("matmul", "add")


def test_runtime_weights_are_a_matrix_multiply():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("a", [8, 256]), g.input("b", [256, 128])], name="matmul")
    report = analyze(g.model([y]))
    assert report.layers[0].kind == "MatMul"
    assert diagnostics(report, "TRT109") == []


def test_missed_on_a_3d_weight_reported_once():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", [4, 8, 256]), g.weight([4, 256, 128])], name="matmul")
    y = g.node("Add", [y, g.weight([128])], name="add")
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT109", "missed")
    assert missed.check == "rank-2-weight"
    assert missed.nodes == ("matmul", "add")
    assert "[4, 256, 128]" in missed.reason
    assert report.layer_of("matmul").kind == "MatMul"


def test_missed_on_a_lone_matmul_with_a_3d_weight():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", [4, 8, 256]), g.weight([4, 256, 128])], name="matmul")
    (missed,) = diagnostics(analyze(g.model([y])), "TRT109", "missed")
    assert missed.check == "rank-2-weight"
    assert missed.nodes == ("matmul",)


def test_missed_bias_merge_when_the_constant_is_not_a_vector_the_matmul_alone_converts():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", [8, 256]), g.weight([256, 128])], name="matmul")
    y = g.node("Add", [y, g.weight([8, 128])], name="add")
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT109", "missed")
    assert missed.check == "bias-vector"
    assert missed.nodes == ("matmul", "add")
    assert "[8, 128]" in missed.reason
    assert report.layer_of("matmul").nodes == ("matmul",)
    assert report.layer_of("matmul").kind == "FullyConnected"


def test_missed_bias_merge_when_the_matmul_has_a_second_reader():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", [8, 256]), g.weight([256, 128])], name="matmul")
    a = g.node("Add", [y, g.const(np.ones(128, np.float32))], name="add")
    b = g.node("Softmax", [y], name="side")
    report = analyze(g.model([a, b]))
    (missed,) = diagnostics(report, "TRT109", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("matmul", "add")
    assert report.layer_of("matmul").kind == "FullyConnected"


def test_rtx_bias_add_not_before_an_activation_is_missed_and_goes_to_the_next_kgen():
    import numpy as np

    g = GraphBuilder()
    x = g.input("x", [64, 32])
    y = g.node("MatMul", [x, g.weight([32, 32])], name="proj")
    y = g.node("Add", [y, g.weight([32])], name="bias")
    y = g.node("Reshape", [y, g.const(np.array([1, 64, 2, 16], np.int64))], name="heads")
    model = g.model([y])
    rtx = analyze(model, target="tensorrt-rtx")
    (missed,) = [d for d in rtx.diagnostics if d.code == "TRT109" and d.status == "missed"]
    assert missed.check == "bias-before-activation"
    assert missed.nodes == ("proj", "bias")
    assert rtx.layer_of("proj").nodes == ("proj",)
    assert rtx.layer_of("bias").nodes == ("bias", "heads")
    classic = analyze(model, target="tensorrt")
    assert classic.layer_of("bias").nodes == ("proj", "bias")


def test_rtx_bias_add_before_a_relu_fuses_into_the_gemm():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", [64, 32]), g.weight([32, 32])], name="proj")
    y = g.node("Add", [y, g.weight([32])], name="bias")
    y = g.node("Relu", [y], name="act")
    rtx = analyze(g.model([y]), target="tensorrt-rtx")
    assert rtx.layer_of("act").nodes == ("proj", "bias", "act")
