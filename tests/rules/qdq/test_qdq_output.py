"""TRT404 qdq-output: fires on INT8 conv (+ relu) -> Q; missed when the conv output is
also read in float or quantized with another scale (classic only: TensorRT-RTX fuses it)."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, qconv, diagnostics


def int8_conv_relu(g):
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    return g.node("Relu", [qconv(g, x, 32, 32, "conv1")], name="relu1")


def test_output_q_fuses_into_the_int8_conv_relu_layer():
    g = GraphBuilder()
    y = q(g, int8_conv_relu(g), "q_out", scale=0.1)
    y = qconv(g, dq(g, y, "dq_next", scale=0.1), 32, 32, "conv2")
    report = analyze(g.model([y]), precision="int8")
    layer = report.layer_of("q_out")
    assert layer.nodes == ("dq_in", "conv1_wdq", "conv1", "relu1", "q_out")
    assert layer.name == "dq_in + conv1_wdq + conv1 + relu1 + q_out"
    assert layer.rules[-1] == "TRT404"
    assert report.layer_of("dq_next").nodes == ("dq_next", "conv2_wdq", "conv2")
    assert diagnostics(report, "TRT404", "predicted")[0].nodes == (
        "dq_in", "conv1_wdq", "conv1", "relu1", "q_out")


def test_two_qs_with_one_scale_both_fuse():
    g = GraphBuilder()
    y = int8_conv_relu(g)
    a, b = q(g, y, "q_a", 0.1), q(g, y, "q_b", 0.1)
    report = analyze(g.model([a, b]), precision="int8")
    assert report.layer_of("q_a").nodes == ("dq_in", "conv1_wdq", "conv1", "relu1", "q_a", "q_b")


def test_missed_when_the_conv_output_is_also_read_in_float():
    g = GraphBuilder()
    y = int8_conv_relu(g)
    a = q(g, y, "q_out", 0.1)
    b = g.node("Sigmoid", [y], name="sig")
    report = analyze(g.model([a, b]), precision="int8")
    (missed,) = diagnostics(report, "TRT404", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("dq_in", "conv1_wdq", "conv1", "relu1", "q_out")
    assert "sig" in missed.reason
    assert report.layer_of("q_out").nodes == ("q_out",)


def test_missed_when_a_second_q_uses_another_scale():
    g = GraphBuilder()
    y = int8_conv_relu(g)
    a, b = q(g, y, "q_a", 0.1), q(g, y, "q_b", 0.2)
    report = analyze(g.model([a, b]), precision="int8")
    (missed,) = diagnostics(report, "TRT404", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("dq_in", "conv1_wdq", "conv1", "relu1", "q_a")
    assert "q_b (another scale)" in missed.reason


def test_tensorrt_rtx_runs_the_output_q_in_the_epilogue_kernel_listing_the_conv():
    # Live TensorRT-RTX 1.7: correlation [conv1, dq_in, conv1_wdq], kgen [conv1, relu1, q_out]
    g = GraphBuilder()
    y = q(g, int8_conv_relu(g), "q_out", 0.1)
    y = qconv(g, dq(g, y, "dq_next", 0.1), 32, 32, "conv2")
    report = analyze(g.model([y]), target="tensorrt-rtx")
    assert report.layer_of("q_out").nodes == ("dq_in", "conv1_wdq", "conv1", "relu1", "q_out")
    (pred,) = diagnostics(report, "TRT404", "predicted")
    assert pred.nodes == ("dq_in", "conv1_wdq", "conv1", "relu1", "q_out")
    assert report.layer_of("dq_next").nodes == ("dq_next", "conv2_wdq", "conv2")


def test_tensorrt_rtx_fuses_the_q_despite_a_float_reader():
    # Live TensorRT-RTX 1.7: kgen [conv1, relu1, q_out, sig]: single-consumer is classic only
    # (the float Sigmoid in that kernel is not predicted: no Q/DQ rule covers it)
    g = GraphBuilder()
    y = int8_conv_relu(g)
    a = q(g, y, "q_out", 0.1)
    b = g.node("Sigmoid", [y], name="sig")
    rtx = analyze(g.model([a, b]), target="tensorrt-rtx")
    assert rtx.layer_of("q_out").nodes == ("dq_in", "conv1_wdq", "conv1", "relu1", "q_out")
    assert not diagnostics(rtx, "TRT404", "missed")
    classic = analyze(g.model([a, b]), precision="int8")
    assert diagnostics(classic, "TRT404", "missed")[0].check == "single-consumer"


def test_tensorrt_style_block_is_one_layer_with_batchnorm_relu_and_output_q():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    y = qconv(g, x, 32, 32, "conv1")
    bn = [g.weight([32]), g.weight([32]), g.weight([32]), g.const(np.full(32, 0.5, np.float32))]
    y = g.node("BatchNormalization", [y] + bn, name="bn1")
    y = q(g, g.node("Relu", [y], name="relu1"), "q_out", 0.1)
    report = analyze(g.model([y]), precision="int8")
    assert report.layer_of("conv1").nodes == ("dq_in", "conv1_wdq", "conv1", "bn1", "relu1", "q_out")
    assert report.layer_of("q_in").nodes == ("q_in",)
