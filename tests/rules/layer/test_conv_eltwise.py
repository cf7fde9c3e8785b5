"""TRT104 conv-eltwise: fires on Conv -> Add / Max / Min with a runtime tensor (either
operand order; ReLU after it joins; BN folded first); missed on broadcasting (classic
only) and on a second reader; a constant operand is conv-scale's, not this rule's."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def bn(g, x, c, name):
    return g.node("BatchNormalization", [x, g.weight([c]), g.weight([c]), g.weight([c]),
                                         g.const(np.full(c, 1.5, np.float32))], name=name)


def test_conv_add_fuses_into_the_convolution():
    g = GraphBuilder()
    x = g.input("x", [1, 32, 16, 16])
    y = g.conv(x, 32, name="conv1")
    y = g.node("Add", [x, y], name="add1")  # the conv output is the second operand
    y = g.node("Softmax", [y], name="tail", axis=1)
    report = analyze(g.model([y]))
    layer = report.layer_of("add1")
    assert layer.nodes == ("conv1", "add1")
    assert layer.name == "conv1 + add1"
    assert layer.kind == "Conv"
    assert diagnostics(report, "TRT104", "predicted")[0].nodes == ("conv1", "add1")


def test_conv_max_and_min_fuse():
    for op_type in ("Max", "Min"):
        g = GraphBuilder()
        x = g.input("x", [1, 32, 16, 16])
        y = g.node(op_type, [g.conv(x, 32, name="conv1"), x], name="elt")
        y = g.node("Softmax", [y], name="tail", axis=1)
        assert analyze(g.model([y])).layer_of("elt").nodes == ("conv1", "elt")


def test_conv_bn_add_relu_is_one_layer_and_the_residual_conv_stays_separate():
    g = GraphBuilder()
    x = g.input("x", [1, 32, 16, 16])
    skip = g.conv(x, 32, k=1, name="conv_skip")
    y = bn(g, g.conv(x, 32, name="conv1"), 32, "bn1")
    y = g.node("Add", [y, skip], name="add1")
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert report.layer_of("relu1").nodes == ("conv1", "bn1", "add1", "relu1")
    assert report.layer_of("relu1").name == "conv1 + bn1 + add1 + relu1"
    assert report.layer_of("conv_skip").nodes == ("conv_skip",)
    assert [layer.name for layer in report.layers] == ["conv_skip", "conv1 + bn1 + add1 + relu1"]


def test_between_two_convolutions_the_one_computed_last_takes_the_add():
    g = GraphBuilder()
    x = g.input("x", [1, 32, 16, 16])
    a = g.conv(x, 32, name="conv_a")
    b = g.conv(x, 32, k=1, name="conv_b")
    y = g.node("Add", [b, a], name="add1")
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert report.layer_of("relu1").nodes == ("conv_b", "add1", "relu1")
    assert report.layer_of("conv_a").nodes == ("conv_a",)


def test_add_of_a_constant_is_a_scale_not_an_eltwise():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Add", [y, g.weight([1, 32, 16, 16])], name="add1")
    report = analyze(g.model([y]))
    assert diagnostics(report, "TRT104") == []


def test_missed_when_the_other_operand_broadcasts():
    g = GraphBuilder()
    x = g.input("x", [1, 32, 16, 16])
    y = g.conv(x, 32, name="conv1")
    y = g.node("Add", [y, g.input("bias", [1, 32, 1, 1])], name="add1")
    y = g.node("Softmax", [y], name="tail", axis=1)
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT104", "missed")
    assert missed.check == "no-broadcast"
    assert missed.nodes == ("conv1", "add1")
    assert "[1, 32, 1, 1]" in missed.reason and "[1, 32, 16, 16]" in missed.reason
    assert report.layer_of("conv1").nodes == ("conv1",)


def test_broadcast_across_the_batch_dimension_is_allowed():
    g = GraphBuilder()
    y = g.conv(g.input("x", [4, 32, 16, 16]), 32, name="conv1")
    y = g.node("Add", [y, g.input("r", [1, 32, 16, 16])], name="add1")
    y = g.node("Softmax", [y], name="tail", axis=1)
    assert analyze(g.model([y])).layer_of("add1").nodes == ("conv1", "add1")


def test_missed_when_conv_output_has_a_second_consumer():
    g = GraphBuilder()
    x = g.input("x", [1, 32, 16, 16])
    y = g.conv(x, 32, name="conv1")
    a = g.node("Add", [y, x], name="add1")
    b = g.node("Tanh", [y], name="tanh1")
    report = analyze(g.model([a, b]))
    (missed,) = diagnostics(report, "TRT104", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("conv1", "add1")


def test_rtx_fuses_a_broadcast_add_inside_the_graph():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Add", [y, g.input("bias", [1, 32, 1, 1])], name="add1")
    y = g.node("Softmax", [y], name="tail", axis=1)
    report = analyze(g.model([y]), target="tensorrt-rtx")
    assert report.layer_of("add1").nodes == ("conv1", "add1")


def test_rtx_missed_when_max_is_the_graph_output():
    g = GraphBuilder()
    x = g.input("x", [1, 32, 16, 16])
    y = g.node("Max", [g.conv(x, 32, name="conv1"), x], name="max1")
    report = analyze(g.model([y]), target="tensorrt-rtx")
    (missed,) = diagnostics(report, "TRT104", "missed")
    assert missed.check == "inside-graph"
    assert missed.nodes == ("conv1", "max1")
    # classic TensorRT documents no such condition
    assert analyze(g.model([y])).layer_of("max1").nodes == ("conv1", "max1")
