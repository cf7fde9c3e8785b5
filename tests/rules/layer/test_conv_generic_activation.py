"""TRT110 conv-generic-activation: fires on Conv -> a one-input one-output PointWise layer
(SiLU, after the PointWise fusion) or a lone activation (LeakyRelu); missed on a second
input, a second reader, and a GELU chain outside conv-gelu's conditions."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def test_conv_silu_pointwise_fuses_into_the_convolution():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    s = g.node("Sigmoid", [y], name="sig1")
    y = g.node("Mul", [y, s], name="mul1")
    report = analyze(g.model([y]))
    layer = report.layer_of("mul1")
    assert layer.nodes == ("conv1", "sig1", "mul1")
    assert layer.name == "conv1 + sig1 + mul1"
    assert layer.kind == "Conv"
    assert diagnostics(report, "TRT110", "predicted")[0].nodes == ("conv1", "sig1", "mul1")


def test_conv_bn_leaky_relu_is_one_layer():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    c = 32
    y = g.node("BatchNormalization", [y, g.weight([c]), g.weight([c]), g.weight([c]),
                                      g.const(np.full(c, 1.5, np.float32))], name="bn1")
    y = g.node("LeakyRelu", [y], name="lrelu1", alpha=0.1)
    report = analyze(g.model([y]))
    assert [layer.name for layer in report.layers] == ["conv1 + bn1 + lrelu1"]


def test_missed_when_the_pointwise_layer_reads_a_second_tensor():
    g = GraphBuilder()
    x = g.input("x", [1, 32, 16, 16])
    y = g.conv(x, 32, name="conv1")
    y = g.node("Sub", [y, x], name="sub1")
    y = g.node("Sigmoid", [y], name="sig1")
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT110", "missed")
    assert missed.check == "one-input-one-output"
    assert missed.nodes == ("conv1", "sub1", "sig1")
    assert "2 non-constant" in missed.reason
    assert report.layer_of("conv1").nodes == ("conv1",)


def test_missed_when_conv_output_has_a_second_consumer():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    a = g.node("LeakyRelu", [y], name="lrelu1")
    b = g.node("Softmax", [y], name="side", axis=1)
    report = analyze(g.model([a, b]))
    (missed,) = diagnostics(report, "TRT110", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("conv1", "lrelu1")


def gelu_chain():
    g = GraphBuilder(opset=20)
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Gelu", [y], name="gelu1")
    y = g.node("Mul", [y, g.const(np.float32(2.0))], name="mul1")
    return g.model([y])


def test_a_gelu_then_a_uniform_scale_fuse_in_fp16():
    report = analyze(gelu_chain(), precision="fp16", sm=8.6)
    # conv-gelu first (phase 30), then the lone Mul by 2.0 as a generic activation
    assert report.layer_of("mul1").nodes == ("conv1", "gelu1", "mul1")
    assert diagnostics(report, "TRT110", "predicted")[0].nodes == ("conv1", "gelu1", "mul1")


def test_a_lone_elementwise_with_a_larger_constant_is_not_a_generic_activation():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Relu", [y], name="relu1")
    y = g.node("Div", [y, g.weight([32, 16, 16])], name="div1")
    report = analyze(g.model([y]))
    assert diagnostics(report, "TRT110") == []
    assert report.layer_of("div1").nodes == ("div1",)


def test_missed_when_the_chain_holds_a_gelu_in_fp32():
    report = analyze(gelu_chain(), precision="fp32")
    (missed,) = diagnostics(report, "TRT110", "missed")
    assert missed.check == "precision-fp16-or-int8"
    assert missed.nodes == ("conv1", "gelu1", "mul1")
    assert report.layer_of("conv1").nodes == ("conv1",)


def test_missed_when_the_chain_holds_a_gelu_before_turing():
    report = analyze(gelu_chain(), precision="fp16", sm=7.0)
    (missed,) = diagnostics(report, "TRT110", "missed")
    assert missed.check == "sm-7.5-or-newer"
    assert missed.nodes == ("conv1", "gelu1", "mul1")


def _silu_then_squeeze(g):
    x = g.input("x", [1, 32, 16, 16])
    c = g.conv(x, 32, name="conv1")
    s = g.node("Sigmoid", [c], name="sig")
    a = g.node("Mul", [c, s], name="silu")
    pooled = g.node("GlobalAveragePool", [a], name="gap")
    e = g.conv(pooled, 32, k=1, name="fc2")
    return g.model([g.node("Mul", [a, e], name="excite")])


def test_rtx_silu_read_by_a_pool_goes_to_the_pool_kernel_not_the_conv():
    model = _silu_then_squeeze(GraphBuilder())
    rtx = analyze(model, target="tensorrt-rtx")
    (missed,) = [d for d in rtx.diagnostics if d.code == "TRT110" and d.status == "missed"]
    assert missed.check == "no-reduction-reader"
    assert missed.nodes == ("conv1", "sig", "silu")
    assert rtx.layer_of("conv1").nodes == ("conv1",)
    assert rtx.layer_of("gap").nodes == ("sig", "silu", "gap")
    classic = analyze(model, target="tensorrt")
    assert classic.layer_of("silu").nodes == ("conv1", "sig", "silu")
