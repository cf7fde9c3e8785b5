"""TRT202 gelu-tanh: fires on PyTorch's tanh export and Hugging Face's NewGELU; missed on
a typo in a constant or an escaping interior result."""

import math

import numpy as np
import onnxruntime as ort

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics

BETA = math.sqrt(2 / math.pi)


def torch_tanh_gelu(g, x, kappa=0.044715, beta=BETA):
    """torch.onnx's gelu(approximate="tanh"): x^3 as Mul(x, Mul(x, x)), 0.5 * (x * (1 + tanh))."""
    sq = g.node("Mul", [x, x], name="sq")
    cube = g.node("Mul", [x, sq], name="cube")
    y = g.node("Mul", [g.const(kappa), cube], name="kappa_mul")
    y = g.node("Add", [x, y], name="inner")
    y = g.node("Mul", [g.const(beta), y], name="beta_mul")
    y = g.node("Tanh", [y], name="tanh")
    y = g.node("Add", [g.const(1.0), y], name="one_plus")
    y = g.node("Mul", [x, y], name="x_mul")
    return g.node("Mul", [g.const(0.5), y], name="half_mul")


TORCH_NODES = ("sq", "cube", "kappa_mul", "inner", "beta_mul", "tanh", "one_plus", "x_mul", "half_mul")


def new_gelu(g, x):
    """Hugging Face NewGELU (GPT-2): 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * pow(x, 3))))."""
    half = g.node("Mul", [x, g.const(0.5)], name="half_mul")
    cube = g.node("Pow", [x, g.const(3.0)], name="pow")
    y = g.node("Mul", [cube, g.const(0.044715)], name="kappa_mul")
    y = g.node("Add", [x, y], name="inner")
    y = g.node("Mul", [y, g.const(BETA)], name="beta_mul")
    y = g.node("Tanh", [y], name="tanh")
    y = g.node("Add", [y, g.const(1.0)], name="one_plus")
    return g.node("Mul", [half, y], name="out")


def test_torch_tanh_form_fuses_into_one_gelu_layer():
    g = GraphBuilder()
    report = analyze(g.model([torch_tanh_gelu(g, g.input("x", [1, 64, 768]))]))
    layer = report.layer_of("tanh")
    assert layer.nodes == TORCH_NODES
    assert layer.kind == "Gelu"
    assert layer.rules == ("TRT202",)
    assert diagnostics(report, "TRT202", "predicted")[0].nodes == TORCH_NODES


def test_new_gelu_form_with_pow_fuses():
    g = GraphBuilder()
    model = g.model([new_gelu(g, g.input("x", [4, 256]))])
    x = np.linspace(-4, 4, 1024, dtype=np.float32).reshape(4, 256)
    got = ort.InferenceSession(model.SerializeToString()).run(None, {"x": x})[0]
    want = 0.5 * x * (1 + np.tanh(BETA * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    layer = analyze(model).layer_of("tanh")
    assert layer.nodes == ("half_mul", "pow", "kappa_mul", "inner", "beta_mul", "tanh", "one_plus", "out")
    assert layer.kind == "Gelu"


def test_missed_on_the_0_44715_typo():
    g = GraphBuilder()
    report = analyze(g.model([torch_tanh_gelu(g, g.input("x", [1, 64, 768]), kappa=0.44715)]))
    (missed,) = diagnostics(report, "TRT202", "missed")
    assert missed.check == "constants-match-gelu"
    assert missed.nodes == TORCH_NODES
    assert "kappa_mul uses 0.44715" in missed.reason and "0.044715" in missed.reason
    assert report.layer_of("tanh").kind != "Gelu"


def test_missed_on_2_over_pi_without_the_square_root():
    g = GraphBuilder()
    y = torch_tanh_gelu(g, g.input("x", [1, 64, 768]), beta=2 / math.pi)
    (missed,) = diagnostics(analyze(g.model([y])), "TRT202", "missed")
    assert missed.check == "constants-match-gelu"
    assert "beta_mul uses 0.63661975" in missed.reason and "sqrt(2/pi)" in missed.reason


def test_missed_when_the_tanh_output_is_read_elsewhere():
    g = GraphBuilder()
    y = torch_tanh_gelu(g, g.input("x", [1, 64, 768]))
    side = g.node("Neg", ["tanh_out"], name="side")
    report = analyze(g.model([y, side]))
    (missed,) = diagnostics(report, "TRT202", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == TORCH_NODES
    assert "side" in missed.reason


# ---------------------------------------------------------------- rewrite: the Gelu op (opset 20)
import math as _math  # noqa: E402

from fusionlab import rewrite  # noqa: E402


def test_rewrite_makes_one_tanh_gelu_op_from_opset_20():
    g = GraphBuilder(opset=20)
    h = g.node("MatMul", [g.input("x", [1, 16, 32]), g.weight([32, 64])], name="fc1")
    p = g.node("Pow", [h, g.const(np.float32(3.0))], name="cube")
    p = g.node("Mul", [g.const(np.float32(0.044715)), p], name="kappa")
    p = g.node("Add", [h, p], name="inner")
    p = g.node("Mul", [g.const(np.float32(_math.sqrt(2 / _math.pi))), p], name="beta")
    p = g.node("Tanh", [p], name="tanh")
    p = g.node("Add", [p, g.const(np.float32(1.0))], name="one_plus")
    a = g.node("Mul", [h, g.const(np.float32(0.5))], name="half")
    y = g.node("Mul", [a, p], name="out")
    model = g.model([g.node("MatMul", [y, g.weight([64, 32])], name="fc2")], ir_version=9)
    out, report = rewrite(model, target="tensorrt-rtx", passes=["gelu-tanh"])
    assert [n.op_type for n in out.graph.node] == ["MatMul", "Gelu", "MatMul"]
    assert [a.s for a in out.graph.node[1].attribute if a.name == "approximate"] == [b"tanh"]
    assert report.equivalence.passed and report.equivalence.max_abs < 1e-5
