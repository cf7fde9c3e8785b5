"""TRT201 gelu-erf: fires on every exporter form of 0.5 * x * (1 + erf(x / sqrt(2)));
missed when a constant is wrong or an interior result escapes; a BERT FFN block."""

import math

import numpy as np
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics

GELU_NODES = ("div", "erf", "add", "mul", "mul_1")


def constant(g, value, name):
    """A Constant node, the way PyTorch's exporter writes scalars."""
    return g.node("Constant", [], name=name, value=numpy_helper.from_array(np.array(value, np.float32)))


def bert_gelu(g, x, sqrt2=1.4142135, one=1.0, half=0.5, prefix=""):
    """PyTorch legacy exporter on BERT: Div(x, 1.4142135) -> Erf -> Add(1) -> Mul(x, .) -> Mul(., 0.5)."""
    p = prefix
    y = g.node("Div", [x, constant(g, sqrt2, f"{p}c_sqrt2")], name=f"{p}div")
    y = g.node("Erf", [y], name=f"{p}erf")
    y = g.node("Add", [y, constant(g, one, f"{p}c_one")], name=f"{p}add")
    y = g.node("Mul", [x, y], name=f"{p}mul")
    return g.node("Mul", [y, constant(g, half, f"{p}c_half")], name=f"{p}mul_1")


def test_bert_exporter_form_fuses_into_one_gelu_layer():
    g = GraphBuilder()
    y = bert_gelu(g, g.input("x", [1, 64, 512]))
    report = analyze(g.model([y]))
    layer = report.layer_of("erf")
    assert layer.nodes == GELU_NODES
    assert layer.kind == "Gelu"
    assert layer.name == "div + erf + add + mul + mul_1"
    assert layer.rules == ("TRT201",)
    assert diagnostics(report, "TRT201", "predicted")[0].nodes == GELU_NODES


def _form(g, x, variant):
    """One GELU-erf exporter form; returns the output."""
    scaled = (g.node("Mul", [g.const(0.70710678), x], name="div") if variant == "mul-inv-sqrt2"
              else g.node("Div", [x, g.const(math.sqrt(2))], name="div"))
    e = g.node("Erf", [scaled], name="erf")
    e = g.node("Add", [g.const(1.0), e], name="add")  # constant first: operand order is free
    if variant == "half-first":  # Hugging Face: (x * 0.5) * (1 + erf)
        y = g.node("Mul", [g.const(0.5), x], name="mul")
        return g.node("Mul", [e, y], name="mul_1")
    if variant == "half-inside":  # onnxscript's second form: x * ((1 + erf) * 0.5)
        y = g.node("Mul", [e, g.const(0.5)], name="mul")
        return g.node("Mul", [y, x], name="mul_1")
    y = g.node("Mul", [e, x], name="mul")
    return g.node("Mul", [g.const(0.5), y], name="mul_1")


@pytest.mark.parametrize("variant", ["mul-inv-sqrt2", "half-first", "half-inside", "swapped"])
def test_every_association_and_operand_order_fuses(variant):
    g = GraphBuilder()
    model = g.model([_form(g, g.input("x", [4, 256]), variant)])
    # the test graph really is GELU (guards the forms this test claims to cover)
    x = np.linspace(-4, 4, 1024, dtype=np.float32).reshape(4, 256)
    got = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    want = 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    report = analyze(model)
    assert report.layer_of("erf").nodes == GELU_NODES
    assert report.layer_of("erf").kind == "Gelu"


def test_a_slightly_imprecise_sqrt2_still_fuses():
    g = GraphBuilder()
    y = bert_gelu(g, g.input("x", [1, 64, 512]), sqrt2=1.414)
    assert analyze(g.model([y])).layer_of("erf").kind == "Gelu"


def test_missed_when_a_constant_is_wrong():
    g = GraphBuilder()
    y = bert_gelu(g, g.input("x", [1, 64, 512]), sqrt2=1.5)
    report = analyze(g.model([y]))
    (missed,) = diagnostics(report, "TRT201", "missed")
    assert missed.check == "constants-match-gelu"
    assert missed.nodes == GELU_NODES
    assert "div uses 1.5 where GELU (erf) needs sqrt(2) = 1.4142136" in missed.reason
    # not a GELU layer: the five ops are plain pointwise ops, joined by the PointWise fusion
    assert report.layer_of("erf").kind == "PointWise"
    assert report.layer_of("erf").rules == ("TRT301",)


def test_missed_when_the_half_is_wrong():
    g = GraphBuilder()
    y = bert_gelu(g, g.input("x", [1, 64, 512]), half=0.25)
    (missed,) = diagnostics(analyze(g.model([y])), "TRT201", "missed")
    assert missed.check == "constants-match-gelu"
    assert "mul_1 uses 0.25" in missed.reason


def test_missed_when_the_erf_output_is_read_elsewhere():
    g = GraphBuilder()
    x = g.input("x", [1, 64, 512])
    y = bert_gelu(g, x)
    side = g.node("Sigmoid", ["erf_out"], name="side")
    report = analyze(g.model([y, side]))
    (missed,) = diagnostics(report, "TRT201", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == GELU_NODES
    assert "erf" in missed.reason and "side" in missed.reason


def test_not_matched_when_x_differs():
    g = GraphBuilder()
    a, b = g.input("a", [4, 256]), g.input("b", [4, 256])
    y = g.node("Div", [a, g.const(math.sqrt(2))], name="div")
    y = g.node("Erf", [y], name="erf")
    y = g.node("Add", [y, g.const(1.0)], name="add")
    y = g.node("Mul", [b, y], name="mul")
    y = g.node("Mul", [y, g.const(0.5)], name="mul_1")
    report = analyze(g.model([y]))
    assert diagnostics(report, "TRT201") == []
    assert report.layer_of("erf").kind != "Gelu"


def bert_ffn(g, x):
    """BERT FFN as the legacy exporter writes it: MatMul + Add bias -> GELU -> MatMul + Add."""
    y = g.node("MatMul", [x, g.weight([128, 512])], name="fc1")
    y = g.node("Add", [g.weight([512]), y], name="bias1")
    y = bert_gelu(g, y)
    y = g.node("MatMul", [y, g.weight([512, 128])], name="fc2")
    return g.node("Add", [g.weight([128]), y], name="bias2")


def test_bert_ffn_block_fp32():
    g = GraphBuilder()
    report = analyze(g.model([bert_ffn(g, g.input("hidden", [1, 64, 128]))]), precision="fp32")
    assert [(l.kind, l.nodes) for l in report.layers] == [
        ("FullyConnected", ("fc1", "bias1")),
        ("Gelu", GELU_NODES),
        ("FullyConnected", ("fc2", "bias2")),
    ]
    assert report.layer_of("fc1").rules == ("TRT109",)
    assert diagnostics(report, "TRT108", "missed")[0].check == "precision-fp16-or-int8"
    # the FFN weights (128 x 512) are far beyond the MLP fusion's shared-memory bound
    assert diagnostics(report, "TRT302", "missed")[0].check == "weights-fit-shared-memory"


def test_bert_ffn_block_fp16_takes_the_gelu_into_the_first_fully_connected():
    g = GraphBuilder()
    report = analyze(g.model([bert_ffn(g, g.input("hidden", [1, 64, 128]))]), precision="fp16", sm=8.6)
    assert [(l.kind, l.nodes) for l in report.layers] == [
        ("FullyConnected", ("fc1", "bias1") + GELU_NODES),
        ("FullyConnected", ("fc2", "bias2")),
    ]
    assert set(report.layer_of("erf").rules) == {"TRT109", "TRT201", "TRT108"}


# ---------------------------------------------------------------- rewrite: the Gelu op (opset 20)
import math as _math  # noqa: E402

from fusionlab import rewrite  # noqa: E402


def _fc_gelu_erf(opset, sqrt2=_math.sqrt(2.0)):
    g = GraphBuilder(opset=opset)
    h = g.node("MatMul", [g.input("x", [1, 16, 32]), g.weight([32, 64])], name="fc1")
    a = g.node("Div", [h, g.const(np.float32(sqrt2))], name="div")
    a = g.node("Erf", [a], name="erf")
    a = g.node("Add", [a, g.const(np.float32(1.0))], name="add")
    a = g.node("Mul", [h, a], name="mul")
    a = g.node("Mul", [a, g.const(np.float32(0.5))], name="mul_half")
    return g.model([g.node("MatMul", [a, g.weight([64, 32])], name="fc2")], ir_version=9)


def test_rewrite_makes_one_gelu_op_from_opset_20():
    out, report = rewrite(_fc_gelu_erf(20), target="tensorrt-rtx", passes=["gelu-erf"])
    assert [n.op_type for n in out.graph.node] == ["MatMul", "Gelu", "MatMul"]
    assert report.equivalence.passed and report.equivalence.max_abs < 1e-5


def test_rewrite_keeps_the_chain_below_opset_20_and_refuses_inexact_constants():
    _, report = rewrite(_fc_gelu_erf(17), passes=["gelu-erf"])
    assert not report.changed  # TensorRT-RTX fuses every spelling: nothing to gain
    _, report = rewrite(_fc_gelu_erf(20, sqrt2=1.414), passes=["gelu-erf"])
    assert not report.changed
    assert "would change the outputs" in report.refused[0].reason
