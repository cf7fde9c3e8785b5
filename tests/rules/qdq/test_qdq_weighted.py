"""TRT403 qdq-weighted: fires on [DQ(x), DQ(w)] -> Conv / Gemm; missed on a non-zero
zero_point, float or UINT8 weights and an INT32 bias behind a DequantizeLinear."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, qconv, diagnostics


def test_input_and_weight_dq_fuse_into_an_int8_conv_and_the_input_q_stays_apart():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    y = qconv(g, x, 32, 32, "conv1")
    report = analyze(g.model([y]), precision="int8")
    layer = report.layer_of("conv1")
    assert layer.nodes == ("dq_in", "conv1_wdq", "conv1")
    assert layer.name == "dq_in + conv1_wdq + conv1"  # TensorRT: weight + QuantizeLinear_8 + Conv_12
    assert layer.kind == "Conv" and "TRT403" in layer.rules
    assert report.layer_of("q_in").nodes == ("q_in",)
    assert "conv1_wdq" not in report.absorbed  # not folded: it joins the weighted layer
    (pred,) = diagnostics(report, "TRT403", "predicted")
    assert pred.nodes == ("dq_in", "conv1_wdq", "conv1")
    assert "conv1_wdq (weight)" in pred.reason


def test_conv_relu_after_the_q_dq_fusion_is_one_int8_layer():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    y = g.node("Relu", [qconv(g, x, 32, 32, "conv1")], name="relu1")
    report = analyze(g.model([y]), precision="int8")
    assert report.layer_of("relu1").nodes == ("dq_in", "conv1_wdq", "conv1", "relu1")


def test_gemm_with_dequantized_weight_fuses_and_then_becomes_fully_connected():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [4, 64]), "q_in"), "dq_in")
    w = g.const(g.rng.integers(-127, 128, [10, 64]).astype(np.int8))
    w = dq(g, w, "w_dq", scale=0.02)
    y = g.node("Gemm", [x, w, g.weight([10])], name="fc", transB=1)
    report = analyze(g.model([y]), precision="int8")
    layer = report.layer_of("fc")
    assert layer.nodes == ("dq_in", "w_dq", "fc")
    assert "TRT403" in layer.rules and layer.kind == "FullyConnected"


def test_a_dq_read_by_two_layers_stays_apart_and_both_convs_run_in_int8():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    a = qconv(g, x, 32, 32, "conv_a")
    b = qconv(g, x, 32, 32, "conv_b", k=1)
    c = g.node("Add", [g.node("Relu", [a], name="relu_a"), x], name="add")  # dq_in is also a residual
    report = analyze(g.model([b, c]), precision="int8")
    assert report.layer_of("dq_in").nodes == ("dq_in",)
    assert report.layer_of("conv_a").nodes == ("conv_a_wdq", "conv_a", "relu_a", "add")
    assert report.layer_of("conv_b").nodes == ("conv_b_wdq", "conv_b")
    assert "TRT403" in report.layer_of("conv_a").rules and "TRT403" in report.layer_of("conv_b").rules
    assert not diagnostics(report, "TRT403", "missed")
    assert not [d for d in report.diagnostics if d.status == "missed"]  # no conv reads another's DQ


def test_missed_when_the_input_zero_point_is_not_zero():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in", zero=3), "dq_in", zero=3)
    y = qconv(g, x, 32, 32, "conv1")
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT403", "missed")
    assert missed.check == "zero-point-is-zero"
    assert missed.nodes == ("dq_in", "conv1_wdq", "conv1")
    assert "dq_in" in missed.reason and "= 3" in missed.reason
    assert report.layer_of("conv1").nodes == ("conv1",)
    assert report.layer_of("conv1_wdq").nodes == ("conv1_wdq",)  # unfused: its own layer


def test_missed_when_the_weight_is_float_without_dequantize():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    y = g.conv(x, 32, name="conv1")
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT403", "missed")
    assert missed.check == "weights-int8"
    assert missed.nodes == ("dq_in", "conv1")
    assert "FLOAT constant without a DequantizeLinear" in missed.reason


def test_missed_when_the_weights_are_uint8():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    w = g.const(g.rng.integers(0, 255, [32, 32, 3, 3]).astype(np.uint8))
    w = g.node("DequantizeLinear", [w, g.const(np.float32(0.01)), g.const(np.array(0, np.uint8))],
               name="w_dq")
    y = g.node("Conv", [x, w], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT403", "missed")
    assert missed.check == "weights-int8"
    assert missed.nodes == ("dq_in", "w_dq", "conv1")
    assert "UINT8" in missed.reason and "w_dq" in missed.reason


def test_missed_when_the_bias_is_an_int32_tensor_behind_a_dequantize():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    w = dq(g, g.const(g.rng.integers(-127, 128, [32, 32, 3, 3]).astype(np.int8)), "w_dq", 0.01)
    bias = g.node("DequantizeLinear", [g.const(np.arange(1, 33, dtype=np.int32)),
                                       g.const(np.float32(0.0005)), g.const(np.array(0, np.int32))],
                  name="bias_dq")
    y = g.node("Conv", [x, w, bias], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT403", "missed")
    assert missed.check == "bias-unquantized"
    assert missed.nodes == ("dq_in", "w_dq", "conv1")
    assert "bias_dq" in missed.reason and "INT32" in missed.reason


def test_tensorrt_rtx_puts_the_input_q_in_the_layer_when_channels_are_not_a_multiple_of_4():
    # Live TensorRT-RTX 1.7: kgen __myl_MulMinMaxRounCastConc [q_in, conv1, dq_in, conv1_wdq]
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 3, 32, 32]), "q_in"), "dq_in")
    model = g.model([qconv(g, x, 32, 3, "conv1")])
    rtx = analyze(model, target="tensorrt-rtx")
    assert rtx.layer_of("conv1").nodes == ("q_in", "dq_in", "conv1_wdq", "conv1")
    classic = analyze(model, precision="int8")
    assert classic.layer_of("q_in").nodes == ("q_in",)


def test_tensorrt_rtx_keeps_the_input_q_apart_with_32_channels():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 32, 32]), "q_in"), "dq_in")
    rtx = analyze(g.model([qconv(g, x, 32, 32, "conv1")]), target="tensorrt-rtx")
    assert rtx.layer_of("q_in").nodes == ("q_in",)
    assert rtx.layer_of("conv1").nodes == ("dq_in", "conv1_wdq", "conv1")


def test_tensorrt_rtx_puts_the_input_q_of_a_depthwise_conv_in_its_layer():
    # Live TensorRT-RTX 1.7: kgen [q_in, dw, dq_in, dw_wdq] then correlation [dw, dq_in, dw_wdq]
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 32, 32]), "q_in"), "dq_in")
    w = g.const(g.rng.integers(-127, 128, [32, 1, 3, 3]).astype(np.int8))
    w = g.node("DequantizeLinear", [w, g.const(np.full(32, 0.01, np.float32)),
                                    g.const(np.zeros(32, np.int8))], name="dw_wdq", axis=0)
    y = g.node("Conv", [x, w, g.weight([32])], name="dw", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
               group=32)
    rtx = analyze(g.model([y]), target="tensorrt-rtx")
    assert rtx.layer_of("dw").nodes == ("q_in", "dq_in", "dw_wdq", "dw")


def test_a_shared_float_weight_behind_q_dq_stays_apart_without_a_layer_cycle():
    # const -> w_q -> w_dq, w_dq read by two convolutions: w_dq stays its own layer, and so
    # does w_q behind it (inside conv_a's layer it would leave the layer through w_dq and
    # come back: a cyclic layer graph, which the engine refuses). The hand walk this rule
    # had took w_q alone and raised CyclicMerge here.
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 8, 8, 8]), "q_in"), "dq_in")
    w = g.const(g.rng.standard_normal([8, 8, 1, 1]).astype(np.float32))
    w = dq(g, q(g, w, "w_q", scale=0.02), "w_dq", scale=0.02)
    a = g.node("Conv", [x, w], name="conv_a")
    b = g.node("Conv", [x, w], name="conv_b")
    report = analyze(g.model([a, b]), precision="int8")
    assert report.layer_of("w_q").nodes == ("w_q",)
    assert report.layer_of("w_dq").nodes == ("w_dq",)
    for conv in ("conv_a", "conv_b"):
        assert report.layer_of(conv).nodes == (conv,) and "TRT403" in report.layer_of(conv).rules
    assert len(diagnostics(report, "TRT403", "predicted")) == 2
