"""TRT410 qdq-epilogue (TensorRT-RTX only): an INT8 convolution's epilogue kernel takes
what reads its output Q through a DQ -- onnxruntime's Q -> DQ -> Relu -> Q, a ResNet
block's residual Add (and the downsample convolution), a depthwise convolution, a graph
output DQ, a residual's Q/DQ -- and stops at a DQ read by several layers, at a regular
convolution and at a MaxPool. Each graph's layers were checked against a live
TensorRT-RTX 1.7 build (the kernels are quoted in the comments)."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, qconv, diagnostics


def qdq(g, x, name, scale=0.1):
    """onnxruntime.quantization's Q -> DQ pair on a tensor."""
    return dq(g, q(g, x, f"q_{name}", scale), f"dq_{name}", scale)


def ort_relu(g, x, name, op="Relu"):
    """onnxruntime's QDQ format around an activation: Q -> DQ -> op -> Q -> DQ."""
    if op == "Clip":
        y = g.node("Clip", [qdq(g, x, name), g.const(np.float32(0)), g.const(np.float32(6))],
                   name=f"act_{name}")
    else:
        y = g.node(op, [qdq(g, x, name)], name=f"act_{name}")
    return qdq(g, y, f"act_{name}")


def quantized_input(g, shape=(1, 32, 32, 32)):
    return dq(g, q(g, g.input("x", list(shape)), "q_in"), "dq_in")


def test_ort_conv_q_dq_relu_q_is_one_layer():
    # correlation [conv1, dq_in, conv1_wdq]; kgen [conv1, q_c1, dq_c1, q_act_c1, act_c1]
    g = GraphBuilder()
    y = ort_relu(g, qconv(g, quantized_input(g), 32, 32, "conv1"), "c1")
    model = g.model([qconv(g, y, 32, 32, "conv2", k=1)])
    report = analyze(model, target="tensorrt-rtx")
    layer = report.layer_of("conv1")
    assert layer.nodes == ("dq_in", "conv1_wdq", "conv1", "q_c1", "dq_c1", "act_c1", "q_act_c1")
    assert layer.kind == "Conv" and layer.rules[-1] == "TRT410"
    (pred,) = diagnostics(report, "TRT410", "predicted")
    assert pred.nodes == layer.nodes
    assert "dq_c1, act_c1, q_act_c1 run in conv1's TensorRT-RTX epilogue kernel" in pred.reason
    assert report.layer_of("conv2").nodes == ("dq_act_c1", "conv2_wdq", "conv2")
    classic = analyze(model, precision="int8")
    assert classic.layer_of("act_c1").nodes == ("dq_c1", "act_c1", "q_act_c1")
    assert not diagnostics(classic, "TRT410")


def resnet_downsample_block(g):
    """onnxruntime QDQ ResNet block with a downsample convolution; the block input's DQ
    is read by conv_a and by the downsample convolution."""
    x = quantized_input(g)
    y = ort_relu(g, qconv(g, x, 32, 32, "conv_a"), "a")
    y = qdq(g, qconv(g, y, 32, 32, "conv_b"), "b")
    s = qdq(g, qconv(g, x, 32, 32, "down", k=1), "down")
    y = qdq(g, g.node("Add", [y, s], name="add"), "add")
    return qdq(g, g.node("Relu", [y], name="relu"), "relu")


def test_resnet_block_add_and_downsample_join_the_last_convolution():
    # correlation [conv_b, dq_act_a, conv_b_wdq]; correlation [down, dq_in, down_wdq];
    # kgen [conv_b, q_b, dq_b, down, q_down, dq_down, add, q_add, dq_add, relu, q_relu]
    g = GraphBuilder()
    y = resnet_downsample_block(g)
    report = analyze(g.model([qconv(g, y, 32, 32, "conv_next", k=1)]), target="tensorrt-rtx")
    block = report.layer_of("add")
    assert set(block.nodes) == {"dq_act_a", "conv_b_wdq", "conv_b", "q_b", "dq_b", "down_wdq",
                                "down", "q_down", "dq_down", "add", "q_add", "dq_add", "relu",
                                "q_relu"}
    # the shared block input DQ joins its first convolution (RTX lists it in both kernels)
    assert report.layer_of("conv_a").nodes == ("dq_in", "conv_a_wdq", "conv_a", "q_a", "dq_a",
                                               "act_a", "q_act_a")
    assert report.layer_of("conv_next").nodes == ("dq_relu", "conv_next_wdq", "conv_next")


def test_depthwise_conv_joins_the_producer_epilogue_but_a_regular_conv_does_not():
    # kgen [conv1, q_c1, dq_c1, q_act_c1, act_c1, dw, dq_act_c1, dw_wdq]; a 3x3 regular or
    # group-4 convolution in its place is not listed
    def chain(group):
        g = GraphBuilder()
        y = ort_relu(g, qconv(g, quantized_input(g), 64, 32, "conv1", k=1), "c1", "Clip")
        y = ort_relu(g, qconv(g, y, 64, 64, "dw", group=group), "c2", "Clip")
        return analyze(g.model([qconv(g, y, 32, 64, "conv3", k=1)]), target="tensorrt-rtx")

    report = chain(64)
    assert report.layer_of("dw").nodes == (
        "dq_in", "conv1_wdq", "conv1", "q_c1", "dq_c1", "act_c1", "q_act_c1", "dq_act_c1",
        "dw_wdq", "dw", "q_c2", "dq_c2", "act_c2", "q_act_c2")
    assert report.layer_of("conv3").nodes == ("dq_act_c2", "conv3_wdq", "conv3")
    for group in (1, 4):
        report = chain(group)
        assert report.layer_of("conv1").nodes[-1] == "q_act_c1"
        assert report.layer_of("dw").nodes == ("dq_act_c1", "dw_wdq", "dw", "q_c2", "dq_c2",
                                               "act_c2", "q_act_c2")


def test_epilogue_stops_at_a_maxpool():
    # kgen [conv1, q_c1, dq_c1, q_act_c1, act_c1]; maxpool [dq_act_c1, pool, q_pool]
    g = GraphBuilder()
    y = ort_relu(g, qconv(g, quantized_input(g), 32, 32, "conv1"), "c1")
    y = g.node("MaxPool", [y], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    y = qdq(g, y, "pool")
    report = analyze(g.model([qconv(g, y, 32, 32, "conv2", k=1)]), target="tensorrt-rtx")
    assert report.layer_of("conv1").nodes[-1] == "q_act_c1"
    assert report.layer_of("pool").nodes == ("dq_act_c1", "pool", "q_pool")


def test_dq_of_an_average_pool_runs_in_the_epilogue_and_the_pool_apart():
    # kgen [conv1, q_c1, dq_c1, q_act_c1, dq_act_c1, act_c1]; avgpool [pool]; kgen [q_pool]
    g = GraphBuilder()
    y = ort_relu(g, qconv(g, quantized_input(g), 32, 32, "conv1"), "c1")
    y = g.node("AveragePool", [y], name="pool", kernel_shape=[2, 2], strides=[2, 2])
    y = qdq(g, y, "pool")
    report = analyze(g.model([qconv(g, y, 32, 32, "conv2", k=1)]), target="tensorrt-rtx")
    assert report.layer_of("conv1").nodes[-2:] == ("q_act_c1", "dq_act_c1")
    assert report.layer_of("pool").nodes == ("pool",)


def test_global_average_pool_and_a_graph_output_dq_join():
    # kgen [conv1, q_c1, dq_c1, q_act_c1, act_c1, dq_act_c1, pool, q_pool, dq_pool]
    g = GraphBuilder()
    y = ort_relu(g, qconv(g, quantized_input(g), 32, 32, "conv1"), "c1")
    y = qdq(g, g.node("GlobalAveragePool", [y], name="pool"), "pool")
    report = analyze(g.model([y]), target="tensorrt-rtx")
    assert report.layer_of("pool").nodes == (
        "dq_in", "conv1_wdq", "conv1", "q_c1", "dq_c1", "act_c1", "q_act_c1", "dq_act_c1",
        "pool", "q_pool", "dq_pool")


def test_gemm_output_q_dq_graph_output_join():
    # gemm [fc, dq_in, w_dq]; kgen [fc, q_o, dq_o]
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [4, 64]), "q_in"), "dq_in")
    w = dq(g, g.const(g.rng.integers(-127, 128, [10, 64]).astype(np.int8)), "w_dq", 0.02)
    y = g.node("Gemm", [x, w, g.weight([10])], name="fc", transB=1)
    report = analyze(g.model([qdq(g, y, "o")]), target="tensorrt-rtx")
    assert report.layer_of("fc").nodes == ("dq_in", "w_dq", "fc", "q_o", "dq_o")


def test_tensorrt_style_residual_q_dq_join_the_conv_add_layer():
    # kgen [conv1, q_res, dq_res, add, relu, q_out] (classic: q_res apart, dq_res by TRT409)
    g = GraphBuilder()
    res = dq(g, q(g, g.input("r", [1, 32, 32, 32]), "q_res", 0.08), "dq_res", 0.08)
    y = g.node("Add", [qconv(g, quantized_input(g), 32, 32, "conv1"), res], name="add")
    y = q(g, g.node("Relu", [y], name="relu"), "q_out")
    model = g.model([qconv(g, dq(g, y, "dq_out"), 32, 32, "conv2")])
    report = analyze(model, target="tensorrt-rtx")
    assert report.layer_of("conv1").nodes == ("q_res", "dq_res", "dq_in", "conv1_wdq", "conv1",
                                              "add", "relu", "q_out")
    classic = analyze(model, precision="int8")
    assert classic.layer_of("q_res").nodes == ("q_res",)
    assert "dq_res" in classic.layer_of("conv1").nodes and not diagnostics(classic, "TRT410")


def test_a_dq_read_by_a_float_node_and_a_conv_runs_in_the_epilogue_with_the_float_node():
    # kgen [conv1, q_c1, dq_c1, sig]; correlation [conv2, dq_c1, conv2_wdq]
    g = GraphBuilder()
    y = qdq(g, qconv(g, quantized_input(g), 32, 32, "conv1"), "c1")
    a = qconv(g, y, 32, 32, "conv2", k=1)
    b = g.node("Sigmoid", [y], name="sig")
    report = analyze(g.model([a, b]), target="tensorrt-rtx")
    assert report.layer_of("conv1").nodes == ("dq_in", "conv1_wdq", "conv1", "q_c1", "dq_c1", "sig")
    assert report.layer_of("conv2").nodes == ("conv2_wdq", "conv2")


def test_a_dq_read_by_two_int8_layers_joins_the_first_convolution():
    # correlation [conv2, dq_c1, conv2_wdq]; correlation [conv3, dq_c1, conv3_wdq]
    g = GraphBuilder()
    y = qdq(g, qconv(g, quantized_input(g), 32, 32, "conv1"), "c1")
    a = qconv(g, y, 32, 32, "conv2", k=1)
    b = qconv(g, y, 32, 32, "conv3", k=3)
    report = analyze(g.model([a, b]), target="tensorrt-rtx")
    assert report.layer_of("conv1").nodes == ("dq_in", "conv1_wdq", "conv1", "q_c1")
    assert report.layer_of("conv2").nodes == ("dq_c1", "conv2_wdq", "conv2")
    assert report.layer_of("conv3").nodes == ("conv3_wdq", "conv3")
    classic = analyze(g.model([a, b]), precision="int8")
    assert classic.layer_of("dq_c1").nodes == ("dq_c1",)
