"""TRT108 fc-gelu: fires on FullyConnected -> GELU in FP16/INT8 on SM 7.5+; missed in FP32,
before Turing, on a second reader; TensorRT-RTX has no precision or SM condition."""

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def fc_gelu():
    g = GraphBuilder(opset=20)
    y = g.node("MatMul", [g.input("x", [8, 768]), g.weight([768, 3072])], name="fc1")
    y = g.node("Add", [y, g.weight([3072])], name="bias1")
    y = g.node("Gelu", [y], name="gelu1")
    return g.model([y])


def test_fc_gelu_fuses_in_fp16_on_turing():
    report = analyze(fc_gelu(), precision="fp16", sm=7.5)
    layer = report.layer_of("gelu1")
    assert layer.nodes == ("fc1", "bias1", "gelu1")
    assert layer.name == "fc1 + bias1 + gelu1"
    assert layer.kind == "FullyConnected"
    assert diagnostics(report, "TRT108", "predicted")[0].nodes == ("fc1", "bias1", "gelu1")


def test_missed_in_fp32():
    report = analyze(fc_gelu(), precision="fp32")
    (missed,) = diagnostics(report, "TRT108", "missed")
    assert missed.check == "precision-fp16-or-int8"
    assert missed.nodes == ("fc1", "bias1", "gelu1")
    assert report.layer_of("gelu1").nodes == ("gelu1",)


def test_missed_before_turing():
    report = analyze(fc_gelu(), precision="fp16", sm=7.2)
    (missed,) = diagnostics(report, "TRT108", "missed")
    assert missed.check == "sm-7.5-or-newer"
    assert missed.nodes == ("fc1", "bias1", "gelu1")


def test_missed_when_fc_output_has_a_second_consumer():
    g = GraphBuilder(opset=20)
    y = g.node("Gemm", [g.input("x", [8, 768]), g.weight([768, 3072]), g.weight([3072])], name="fc1")
    a = g.node("Gelu", [y], name="gelu1")
    b = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([a, b]), precision="fp16")
    (missed,) = diagnostics(report, "TRT108", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("fc1", "gelu1")


def test_rtx_fuses_in_fp32():
    report = analyze(fc_gelu(), target="tensorrt-rtx", precision="fp32", sm=7.0)
    assert report.layer_of("gelu1").nodes == ("fc1", "bias1", "gelu1")
