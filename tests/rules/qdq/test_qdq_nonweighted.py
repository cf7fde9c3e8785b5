"""TRT405 qdq-nonweighted: fires on DQ -> Relu / AveragePool / Add(DQ, DQ) / nearest
Resize -> Q; missed on an op without INT8 implementation, a float input, a float
reader."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, qconv, diagnostics


def quantized_input(g, name="x", shape=(1, 16, 8, 8)):
    return dq(g, q(g, g.input(name, list(shape)), f"q_{name}"), f"dq_{name}")


def test_dq_relu_q_is_one_int8_relu_layer():
    g = GraphBuilder()
    y = q(g, g.node("Relu", [quantized_input(g)], name="relu"), "q_out")
    report = analyze(g.model([y]), precision="int8")
    layer = report.layer_of("relu")
    assert layer.nodes == ("dq_x", "relu", "q_out")
    assert layer.kind == "Relu" and layer.rules == ("TRT405",)
    assert report.layer_of("q_x").nodes == ("q_x",)


def test_add_of_two_dequantized_inputs_is_one_int8_add_layer():
    g = GraphBuilder()
    a, b = quantized_input(g, "a"), quantized_input(g, "b")
    y = q(g, g.node("Add", [a, b], name="add"), "q_out")
    report = analyze(g.model([y]), precision="int8")
    assert report.layer_of("add").nodes == ("dq_a", "dq_b", "add", "q_out")


def test_average_pool_and_nearest_resize_fuse():
    g = GraphBuilder(opset=13)
    y = g.node("AveragePool", [quantized_input(g)], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    y = dq(g, q(g, y, "q_pool"), "dq_pool")
    y = g.node("Resize", [y, "", g.const(np.array([1, 1, 2, 2], np.float32))], name="up",
               mode="nearest")
    y = q(g, y, "q_up")
    report = analyze(g.model([y]), precision="int8")
    assert report.layer_of("pool").nodes == ("dq_x", "pool", "q_pool")
    assert report.layer_of("up").nodes == ("dq_pool", "up", "q_up")


def test_missed_when_the_node_has_no_int8_implementation():
    g = GraphBuilder()
    y = q(g, g.node("Softmax", [quantized_input(g, shape=(1, 64))], name="softmax"), "q_out")
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT405", "missed")
    assert missed.check == "int8-implementation"
    assert missed.nodes == ("dq_x", "softmax", "q_out")
    assert "softmax (Softmax)" in missed.reason
    assert report.layer_of("softmax").nodes == ("softmax",)


def test_missed_on_a_linear_resize():
    g = GraphBuilder(opset=13)
    y = g.node("Resize", [quantized_input(g), "", g.const(np.array([1, 1, 2, 2], np.float32))],
               name="up", mode="linear")
    report = analyze(g.model([q(g, y, "q_up")]), precision="int8")
    (missed,) = diagnostics(report, "TRT405", "missed")
    assert missed.check == "int8-implementation"
    assert "Resize in linear mode" in missed.reason


def test_missed_when_an_add_input_is_float():
    g = GraphBuilder()
    a = quantized_input(g, "a")
    y = q(g, g.node("Add", [a, g.input("b", [1, 16, 8, 8])], name="add"), "q_out")
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT405", "missed")
    assert missed.check == "inputs-dequantized"
    assert missed.nodes == ("dq_a", "add", "q_out")
    assert "reads b" in missed.reason


def test_missed_when_the_output_is_also_read_in_float():
    g = GraphBuilder()
    r = g.node("Relu", [quantized_input(g)], name="relu")
    a, b = q(g, r, "q_out"), g.node("Sigmoid", [r], name="sig")
    report = analyze(g.model([a, b]), precision="int8")
    (missed,) = diagnostics(report, "TRT405", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("dq_x", "relu", "q_out")
    assert "sig" in missed.reason


def test_tensorrt_rtx_runs_the_network_input_q_in_the_same_kernel():
    # Live TensorRT-RTX 1.7: one kgen [q_a, dq_a, q_b, dq_b, add, q_out] (classic: Q apart)
    g = GraphBuilder()
    a, b = quantized_input(g, "a"), quantized_input(g, "b")
    y = q(g, g.node("Add", [a, b], name="add"), "q_out")
    model = g.model([qconv(g, dq(g, y, "dq_out"), 16, 16, "conv1", k=1)])
    rtx = analyze(model, target="tensorrt-rtx")
    assert rtx.layer_of("add").nodes == ("q_a", "dq_a", "q_b", "dq_b", "add", "q_out")
    assert rtx.layer_of("conv1").nodes == ("dq_out", "conv1_wdq", "conv1")
    classic = analyze(model, precision="int8")
    assert classic.layer_of("add").nodes == ("dq_a", "dq_b", "add", "q_out")
    assert classic.layer_of("q_a").nodes == ("q_a",)


def test_tensorrt_rtx_misses_the_int8_average_pool():
    # Live TensorRT-RTX 1.7: kgen [q_x, dq_x], avgpool [pool], kgen [q_pool] (the Q -> DQ
    # pair's kernel is not predicted)
    g = GraphBuilder()
    y = g.node("AveragePool", [quantized_input(g)], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    y = q(g, y, "q_pool")
    model = g.model([qconv(g, dq(g, y, "dq_pool"), 16, 16, "conv1", k=1)])
    rtx = analyze(model, target="tensorrt-rtx")
    (missed,) = diagnostics(rtx, "TRT405", "missed")
    assert missed.check == "avgpool-separate-on-rtx"
    assert missed.nodes == ("q_x", "dq_x", "pool", "q_pool")
    assert "avgpool kernel" in missed.reason
    assert rtx.layer_of("pool").nodes == ("pool",)
    assert rtx.layer_of("q_pool").nodes == ("q_pool",)
    classic = analyze(model, precision="int8")
    assert classic.layer_of("pool").nodes == ("dq_x", "pool", "q_pool")


def test_tensorrt_rtx_global_average_pool_stays_one_int8_kernel():
    # Live TensorRT-RTX 1.7: one kgen [q_x, dq_x, pool, q_pool]
    g = GraphBuilder()
    y = q(g, g.node("GlobalAveragePool", [quantized_input(g)], name="pool"), "q_pool")
    model = g.model([qconv(g, dq(g, y, "dq_pool"), 16, 16, "conv1", k=1)])
    rtx = analyze(model, target="tensorrt-rtx")
    assert rtx.layer_of("pool").nodes == ("q_x", "dq_x", "pool", "q_pool")
    assert not diagnostics(rtx, "TRT405", "missed")
