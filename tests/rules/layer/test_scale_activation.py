"""TRT121 scale-activation: Scale (Mul/Add/Pow by a uniform or per-channel constant, or a
BatchNormalization) -> Activation is one Activation layer."""

import numpy as np

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def _bn(g, x, c, name):
    params = [g.weight([c]), g.weight([c]), g.weight([c]), g.const(np.full([c], 0.5, np.float32))]
    return g.node("BatchNormalization", [x, *params], name=name)


def test_per_channel_mul_then_sigmoid_is_one_sigmoid_layer():
    g = GraphBuilder()
    y = g.node("Mul", [g.input("x", [1, 32, 16, 16]), g.weight([32, 1, 1])], name="mul1")
    y = g.node("Sigmoid", [y], name="sig1")
    report = analyze(g.model([y]))
    layer = report.layer_of("sig1")
    assert layer.nodes == ("mul1", "sig1")
    assert layer.kind == "Sigmoid"
    assert layer.rules == ("TRT121",)
    assert diagnostics(report, "TRT121", "predicted")[0].nodes == ("mul1", "sig1")


def test_uniform_add_with_the_constant_first_then_tanh_fuses():
    g = GraphBuilder()
    y = g.node("Add", [g.const(np.float32(0.25)), g.input("x", [1, 32, 16, 16])], name="add1")
    y = g.node("Tanh", [y], name="tanh1")
    report = analyze(g.model([y]))
    assert report.layer_of("tanh1").nodes == ("add1", "tanh1")


def test_batchnorm_not_after_a_conv_then_relu_fuses():
    g = GraphBuilder()
    y = _bn(g, g.input("x", [1, 32, 16, 16]), 32, "bn1")
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert report.layer_of("relu1").nodes == ("bn1", "relu1")
    assert report.layer_of("relu1").kind == "Relu"


def test_batchnorm_left_by_conv_scale_fuses_with_the_activation():
    # conv1 has a second reader, so conv-scale (TRT106) cannot fold bn1 into it.
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    other = g.node("Sigmoid", [y], name="sig_other")
    z = _bn(g, y, 32, "bn1")
    z = g.node("Relu", [z], name="relu1")
    report = analyze(g.model([z, other]))
    assert report.layer_of("relu1").nodes == ("bn1", "relu1")
    assert "TRT121" in report.layer_of("relu1").rules


def test_missed_when_the_scale_output_has_a_second_reader():
    g = GraphBuilder()
    s = g.node("Mul", [g.input("x", [1, 32, 16, 16]), g.weight([32, 1, 1])], name="mul1")
    a = g.node("Relu", [s], name="relu1")
    b = g.node("Transpose", [s], name="t1", perm=[0, 2, 3, 1])
    report = analyze(g.model([a, b]))
    (missed,) = diagnostics(report, "TRT121", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("mul1", "relu1")
    assert "t1" in missed.reason


def test_missed_when_the_constant_is_elementwise_on_classic_tensorrt_only():
    g = GraphBuilder()
    y = g.node("Mul", [g.input("x", [1, 32, 16, 16]), g.weight([1, 32, 16, 16])], name="mul1")
    y = g.node("Relu", [y], name="relu1")
    model = g.model([y])
    report = analyze(model)
    (missed,) = diagnostics(report, "TRT121", "missed")
    assert missed.check == "scale-uniform-or-channel"
    assert missed.nodes == ("mul1", "relu1")
    assert "[1, 32, 16, 16]" in missed.reason
    rtx = analyze(model, target="tensorrt-rtx")
    assert rtx.layer_of("relu1").nodes == ("mul1", "relu1")
    assert not diagnostics(rtx, "TRT121", "missed")
