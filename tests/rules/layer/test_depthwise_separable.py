"""TRT112 depthwise-separable: fires on depthwise Conv + activation -> 1x1 Conv +
activation in INT8 on SM 7.2+ (builder flag, or Q/DQ in between); missed on each check,
and always on TensorRT-RTX."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def mobilenet_block(act2=True, side=False):
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 56, 56]), 32, cin=32, group=32, name="dw")
    y = g.node("Relu", [y], name="dw_relu")
    outs = [g.node("Softmax", [y], name="side", axis=1)] if side else []
    y = g.conv(y, 64, cin=32, k=1, name="pw")
    if act2:
        y = g.node("Relu", [y], name="pw_relu")
    return g.model([y] + outs)


def test_depthwise_separable_fuses_in_int8():
    report = analyze(mobilenet_block(), precision="int8", sm=7.2)
    layer = report.layer_of("pw")
    assert layer.nodes == ("dw", "dw_relu", "pw", "pw_relu")
    assert layer.name == "dw + dw_relu + pw + pw_relu"
    assert layer.kind == "DepSepConvolution"
    assert diagnostics(report, "TRT112", "predicted")[0].nodes == ("dw", "dw_relu", "pw", "pw_relu")


def test_quantized_block_fuses_with_its_q_dq_in_fp32_mode():
    g = GraphBuilder()
    s = g.const(np.float32(0.05))
    zp = g.const(np.int8(0), dtype=np.int8)

    def qdq(t, name):
        return g.node("DequantizeLinear", [g.node("QuantizeLinear", [t, s, zp], name=f"q_{name}"), s, zp],
                      name=f"dq_{name}")

    def conv(t, cout, cin, k, group, name):
        w = g.node("DequantizeLinear", [g.const(np.ones([cout, cin // group, k, k], np.int8)),
                                        g.const(np.float32(0.01))], name=f"{name}_w")
        return g.node("Conv", [t, w], name=name, kernel_shape=[k, k], pads=[k // 2] * 4, group=group)

    y = conv(qdq(g.input("x", [1, 32, 56, 56]), "x"), 32, 32, 3, 32, "dw")
    y = g.node("Relu", [y], name="dw_relu")
    y = conv(qdq(y, "mid"), 64, 32, 1, 1, "pw")
    y = g.node("Relu", [y], name="pw_relu")
    report = analyze(g.model([y]), precision="fp32", sm=8.6)
    layer = report.layer_of("pw")
    assert layer.kind == "DepSepConvolution"
    assert {"dw", "dw_relu", "pw", "pw_relu", "q_mid", "dq_mid"} <= set(layer.nodes)


def test_missed_without_int8():
    report = analyze(mobilenet_block(), precision="fp16", sm=8.6)
    (missed,) = diagnostics(report, "TRT112", "missed")
    assert missed.check == "int8"
    assert missed.nodes == ("dw", "dw_relu", "pw", "pw_relu")
    assert "FP16" in missed.reason
    assert report.layer_of("pw").kind == "Conv"


def test_missed_before_sm_7_2():
    (missed,) = diagnostics(analyze(mobilenet_block(), precision="int8", sm=7.0), "TRT112", "missed")
    assert missed.check == "sm-7.2-or-newer"
    assert missed.nodes == ("dw", "dw_relu", "pw", "pw_relu")


def test_a_linear_1x1_projection_is_not_a_candidate():
    assert diagnostics(analyze(mobilenet_block(act2=False), precision="int8"), "TRT112") == []


def test_missed_when_the_depthwise_output_has_a_second_consumer():
    (missed,) = diagnostics(analyze(mobilenet_block(side=True), precision="int8"), "TRT112", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("dw", "dw_relu", "pw", "pw_relu")


def test_regular_convolutions_are_not_matched():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 56, 56]), 32, name="conv_a")
    y = g.node("Relu", [y], name="relu_a")
    y = g.conv(y, 64, k=1, name="conv_b")
    y = g.node("Relu", [y], name="relu_b")
    assert diagnostics(analyze(g.model([y]), precision="int8"), "TRT112") == []


def test_rtx_has_no_depsep_kernel():
    report = analyze(mobilenet_block(), target="tensorrt-rtx")
    (missed,) = diagnostics(report, "TRT112", "missed")
    assert missed.check == "convs-separate-on-rtx"
    assert missed.nodes == ("dw", "dw_relu", "pw", "pw_relu")
