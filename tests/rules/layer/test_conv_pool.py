"""TRT111 conv-pool: fires on Conv (with its fused activation) -> MaxPool / AveragePool in
INT8; missed on a precision change (INT8 conv, FLOAT pooling output), outside INT8, on a
second reader, and always on TensorRT-RTX."""

import numpy as np
from onnx import TensorProto

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def maxpool(g, y, name="pool1"):
    return g.node("MaxPool", [y], name=name, kernel_shape=[2, 2], strides=[2, 2])


def test_conv_relu_maxpool_is_one_layer():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Relu", [y], name="relu1")
    y = maxpool(g, y)
    report = analyze(g.model([y]), precision="int8")
    layer = report.layer_of("pool1")
    assert layer.nodes == ("conv1", "relu1", "pool1")
    assert layer.name == "conv1 + relu1 + pool1"
    assert layer.kind == "Conv"
    assert diagnostics(report, "TRT111", "predicted")[0].nodes == ("conv1", "relu1", "pool1")


def test_conv_average_pool_fuses():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("AveragePool", [y], name="pool1", kernel_shape=[2, 2], strides=[2, 2])
    assert analyze(g.model([y]), precision="int8").layer_of("pool1").nodes == ("conv1", "pool1")


def test_missed_outside_int8():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Relu", [y], name="relu1")
    y = maxpool(g, y)
    report = analyze(g.model([y]), precision="fp16")
    (missed,) = diagnostics(report, "TRT111", "missed")
    assert missed.check == "int8"
    assert missed.nodes == ("conv1", "relu1", "pool1")
    assert "FP16" in missed.reason
    assert report.layer_of("pool1").nodes == ("pool1",)


def test_global_average_pool_is_a_reduce_not_a_pooling():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("GlobalAveragePool", [y], name="gap")
    report = analyze(g.model([y]), precision="int8")
    assert diagnostics(report, "TRT111") == []
    assert report.layer_of("gap").nodes == ("gap",)


def quantized_conv(g, name="conv1"):
    s = g.const(np.float32(0.05))
    zp = g.const(np.int8(0), dtype=np.int8)
    q = g.node("QuantizeLinear", [g.input("x", [1, 32, 16, 16]), s, zp], name="q_x")
    dq = g.node("DequantizeLinear", [q, s, zp], name="dq_x")
    w = g.const(np.ones([32, 32, 3, 3], np.int8))
    dqw = g.node("DequantizeLinear", [w, g.const(np.float32(0.01))], name="dq_w")
    return g.node("Conv", [dq, dqw], name=name, kernel_shape=[3, 3], pads=[1, 1, 1, 1]), s, zp


def test_missed_when_an_int8_convolution_feeds_a_float_pooling_output():
    g = GraphBuilder()
    y, _, _ = quantized_conv(g)
    y = maxpool(g, y)
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT111", "missed")
    assert missed.check == "same-precision"
    # the conv layer may hold its input DequantizeLinear (Q/DQ fusion, phase 15)
    assert missed.nodes == report.layer_of("conv1").nodes + ("pool1",)
    assert report.layer_of("pool1").nodes == ("pool1",)
    assert "INT8" in missed.reason and "FLOAT" in missed.reason


def test_int8_convolution_and_quantized_pooling_output_fuse():
    g = GraphBuilder()
    y, s, zp = quantized_conv(g)
    y = maxpool(g, y)
    y = g.node("QuantizeLinear", [y, s, zp], name="q_out")
    report = analyze(g.model([y], output_dtype=TensorProto.INT8))
    assert diagnostics(report, "TRT111", "missed") == []
    assert {"conv1", "pool1"} <= set(report.layer_of("pool1").nodes)


def test_missed_when_conv_output_has_a_second_consumer():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    a = maxpool(g, y)
    b = g.node("Softmax", [y], name="side", axis=1)
    (missed,) = diagnostics(analyze(g.model([a, b]), precision="int8"), "TRT111", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("conv1", "pool1")


def test_rtx_always_runs_the_pooling_separately():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Relu", [y], name="relu1")
    y = maxpool(g, y)
    report = analyze(g.model([y]), target="tensorrt-rtx")
    (missed,) = diagnostics(report, "TRT111", "missed")
    assert missed.check == "pool-separate-on-rtx"
    assert missed.nodes == ("conv1", "relu1", "pool1")
    assert report.layer_of("pool1").nodes == ("pool1",)
