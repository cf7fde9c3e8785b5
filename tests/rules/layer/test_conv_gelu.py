"""TRT103 conv-gelu: fires on Conv -> GELU (ONNX Gelu op, or a fused Gelu layer) in FP16
on SM 7.5+; missed in FP32, before Turing, on a second reader; TensorRT-RTX fuses FP32
but not an erf GELU that is a graph output."""

import numpy as np

from fusionlab import analyze, engine
from fusionlab.graph import load_graph
from fusionlab.pattern import Const, Var, op
from fusionlab.rule import Rule
from fusionlab.testing import GraphBuilder, diagnostics
from fusionlab.rules.layer.conv_gelu import ConvGelu


def conv_gelu(approximate="none", tail=True):
    g = GraphBuilder(opset=20)
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    y = g.node("Gelu", [y], name="gelu1", approximate=approximate)
    if tail:
        y = g.node("Softmax", [y], name="softmax1", axis=1)
    return g.model([y])


def test_conv_gelu_fuses_in_fp16_on_turing():
    report = analyze(conv_gelu(), precision="fp16", sm=7.5)
    assert report.layer_of("gelu1").nodes == ("conv1", "gelu1")
    assert report.layer_of("gelu1").name == "conv1 + gelu1"
    assert diagnostics(report, "TRT103", "predicted")[0].nodes == ("conv1", "gelu1")


def test_missed_in_fp32():
    report = analyze(conv_gelu(), precision="fp32", sm=8.6)
    (missed,) = diagnostics(report, "TRT103", "missed")
    assert missed.check == "precision-fp16-or-int8"
    assert missed.nodes == ("conv1", "gelu1")
    assert "FP32" in missed.reason
    assert report.layer_of("gelu1").nodes == ("gelu1",)


def test_missed_before_turing():
    report = analyze(conv_gelu(), precision="int8", sm=7.0)
    (missed,) = diagnostics(report, "TRT103", "missed")
    assert missed.check == "sm-7.5-or-newer"
    assert missed.nodes == ("conv1", "gelu1")
    assert "SM 7" in missed.reason


def test_missed_when_conv_output_has_a_second_consumer():
    g = GraphBuilder(opset=20)
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    a = g.node("Gelu", [y], name="gelu1")
    b = g.node("Sigmoid", [y], name="sig1")
    report = analyze(g.model([a, b]), precision="fp16")
    (missed,) = diagnostics(report, "TRT103", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("conv1", "gelu1")


def test_rtx_fuses_in_fp32_inside_a_graph():
    report = analyze(conv_gelu(), target="tensorrt-rtx", precision="fp32", sm=7.0)
    assert report.layer_of("gelu1").nodes == ("conv1", "gelu1")
    assert diagnostics(report, "TRT103", "missed") == []


def test_rtx_missed_when_erf_gelu_is_the_graph_output():
    report = analyze(conv_gelu(tail=False), target="tensorrt-rtx")
    (missed,) = diagnostics(report, "TRT103", "missed")
    assert missed.check == "inside-graph"
    assert missed.nodes == ("conv1", "gelu1")


def test_rtx_fuses_tanh_gelu_even_as_the_graph_output():
    report = analyze(conv_gelu("tanh", tail=False), target="tensorrt-rtx")
    assert report.layer_of("gelu1").nodes == ("conv1", "gelu1")


class _ErfGelu(Rule):
    """Test stand-in for the GELU reduction (phase 20): 0.5 * (x * (1 + erf(x * 1/sqrt2)))."""

    code = "TRT999"
    name = "test-erf-gelu"
    phase = 20
    result_kind = "Gelu"
    pattern = op.Mul(Const(value=0.5), op.Mul(Var("x"), op.Add(op.Erf(op.Mul(Var("x"), Const())),
                                                               Const(value=1.0))))


def test_conv_fuses_with_a_gelu_layer_whose_first_input_is_a_constant():
    g = GraphBuilder(opset=17)
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    d = g.node("Mul", [g.const(np.float32(1 / np.sqrt(2.0))), y], name="scale")
    e = g.node("Erf", [d], name="erf")
    a = g.node("Add", [e, g.const(np.float32(1.0))], name="add")
    m = g.node("Mul", [y, a], name="mul")
    out = g.node("Mul", [g.const(np.float32(0.5)), m], name="half")
    graph = load_graph(g.model([out]))
    result = engine.run(graph, precision="fp16", rules=[_ErfGelu, ConvGelu])
    (layer,) = result.layers
    assert layer.kind == "Conv"
    assert layer.nodes == ["conv1", "scale", "erf", "add", "mul", "half"]
