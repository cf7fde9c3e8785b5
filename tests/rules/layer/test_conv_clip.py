"""TRT102 conv-clip: fires on Conv -> Clip (ReLU6 with constant min/max inputs, and the
opset < 11 attribute form); missed on runtime bounds and on a second reader."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def relu6(g, y, name="clip1"):
    lo, hi = g.const(np.float32(0.0)), g.const(np.float32(6.0))
    return g.node("Clip", [y, lo, hi], name=name)


def test_conv_relu6_clip_fuses_into_one_convolution_layer():
    g = GraphBuilder(opset=13)
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = relu6(g, y)
    report = analyze(g.model([y]))
    assert report.layer_of("clip1").nodes == ("conv1", "clip1")
    assert report.layer_of("clip1").name == "conv1 + clip1"
    assert report.layer_of("clip1").kind == "Conv"
    assert diagnostics(report, "TRT102", "predicted")[0].nodes == ("conv1", "clip1")


def test_clip_with_attributes_of_old_opsets_fuses_too():
    g = GraphBuilder(opset=10)
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Clip", [y], name="clip1", min=0.0, max=6.0)
    report = analyze(g.model([y]))
    assert report.layer_of("clip1").nodes == ("conv1", "clip1")


def test_conv_transpose_clip_fuses():
    g = GraphBuilder()
    y = g.node("ConvTranspose", [g.input("x", [1, 32, 8, 8]), g.weight([32, 16, 2, 2])],
               name="deconv", strides=[2, 2])
    y = relu6(g, y, "clip")
    report = analyze(g.model([y]))
    assert report.layer_of("clip").name == "deconv + clip"


def test_missed_when_clip_max_is_a_runtime_tensor():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Clip", [y, g.const(np.float32(0.0)), g.input("hi", [])], name="clip1")
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT102", "missed")
    assert missed.check == "clip-bounds-constant"
    assert missed.nodes == ("conv1", "clip1")
    assert "max hi" in missed.reason
    assert report.layer_of("conv1").nodes == ("conv1",)


def test_missed_when_conv_output_has_a_second_consumer():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    a = relu6(g, y)
    b = g.node("Sigmoid", [y], name="sig1")
    report = analyze(g.model([a, b]))
    (missed,) = diagnostics(report, "TRT102", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("conv1", "clip1")
    assert report.layer_of("clip1").nodes == ("clip1",)
