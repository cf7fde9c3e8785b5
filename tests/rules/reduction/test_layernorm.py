"""TRT208 layernorm: the 9-op LayerNorm of opset <= 16 exports is one LayerNorm layer;
missed when the reductions are not over the last axis, in an implicit-INT8 build, and
when an interior result escapes; a transformer block around it."""

import numpy as np
import pytest
from onnx import numpy_helper

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics

LN_NODES = ("mean", "sub", "pow", "var", "add_eps", "sqrt", "div", "mul", "add")


def constant(g, value, name):
    return g.node("Constant", [], name=name, value=numpy_helper.from_array(np.array(value, np.float32)))


def layernorm(g, x, hidden, axes=(-1,), square="pow", opset=16):
    """nn.LayerNorm as torch.onnx (opset 16) writes it."""
    def reduce_mean(t, name):
        if opset >= 18:
            return g.node("ReduceMean", [t, g.const(np.array(axes, np.int64))], name=name)
        return g.node("ReduceMean", [t], name=name, axes=list(axes))

    mean = reduce_mean(x, "mean")
    d = g.node("Sub", [x, mean], name="sub")
    sq = (g.node("Pow", [d, constant(g, 2.0, "c_two")], name="pow") if square == "pow"
          else g.node("Mul", [d, d], name="pow"))
    var = reduce_mean(sq, "var")
    y = g.node("Add", [var, constant(g, 1e-12, "c_eps")], name="add_eps")
    y = g.node("Sqrt", [y], name="sqrt")
    y = g.node("Div", [d, y], name="div")
    y = g.node("Mul", [y, g.weight([hidden])], name="mul")
    return g.node("Add", [y, g.weight([hidden])], name="add")


@pytest.mark.parametrize("opset,square", [(16, "pow"), (16, "mul"), (18, "pow")])
def test_nine_op_layernorm_fuses_into_one_layer(opset, square):
    g = GraphBuilder(opset=opset)
    report = analyze(g.model([layernorm(g, g.input("x", [1, 64, 128]), 128, square=square, opset=opset)]))
    layer = report.layer_of("div")
    assert (layer.nodes, layer.kind, layer.rules) == (LN_NODES, "LayerNorm", ("TRT208",))
    assert layer.name == " + ".join(LN_NODES)
    assert diagnostics(report, "TRT208", "predicted")[0].nodes == LN_NODES


def test_trailing_axes_are_accepted():
    g = GraphBuilder(opset=16)
    y = layernorm(g, g.input("x", [1, 8, 16, 16]), 16, axes=(-2, -1))
    assert analyze(g.model([y])).layer_of("div").kind == "LayerNorm"


def test_missed_when_the_reductions_are_not_over_the_last_axis():
    g = GraphBuilder(opset=16)
    report = analyze(g.model([layernorm(g, g.input("x", [1, 64, 128]), 128, axes=(1,))]))
    (missed,) = diagnostics(report, "TRT208", "missed")
    assert (missed.check, missed.nodes) == ("axis-last", LN_NODES)
    assert "axes [1] of a rank-3 input" in missed.reason
    assert report.layer_of("div").kind != "LayerNorm"


def test_missed_in_an_implicit_int8_build_on_classic_tensorrt_only():
    g = GraphBuilder(opset=16)
    model = g.model([layernorm(g, g.input("x", [1, 64, 128]), 128)])
    (missed,) = diagnostics(analyze(model, precision="int8"), "TRT208", "missed")
    assert (missed.check, missed.nodes) == ("not-int8-implicit", LN_NODES)
    assert analyze(model, precision="fp16").layer_of("div").kind == "LayerNorm"
    assert analyze(model, target="tensorrt-rtx", precision="int8").layer_of("div").kind == "LayerNorm"


def test_missed_when_the_centered_input_is_read_elsewhere():
    g = GraphBuilder(opset=16)
    y = layernorm(g, g.input("x", [1, 64, 128]), 128)
    side = g.node("Abs", ["sub_out"], name="side")
    report = analyze(g.model([y, side]))
    (missed,) = diagnostics(report, "TRT208", "missed")
    assert (missed.check, missed.nodes) == ("single-consumer", LN_NODES)
    assert "sub output has 3 consumers" in missed.reason and "side" in missed.reason


def test_transformer_block_residual_add_layernorm_dense():
    """attention output dense -> residual Add -> LayerNorm -> intermediate dense, fp16."""
    g = GraphBuilder(opset=16)
    h = g.input("hidden", [1, 64, 128])
    y = g.node("MatMul", [g.input("ctx", [1, 64, 128]), g.weight([128, 128])], name="dense")
    y = g.node("Add", [g.weight([128]), y], name="dense_bias")
    y = g.node("Add", [y, h], name="residual")
    y = layernorm(g, y, 128)
    y = g.node("MatMul", [y, g.weight([128, 512])], name="fc1")
    y = g.node("Add", [g.weight([512]), y], name="fc1_bias")
    report = analyze(g.model([y]), precision="fp16")
    assert [(l.kind, l.nodes) for l in report.layers] == [
        ("FullyConnected", ("dense", "dense_bias")),
        ("Add", ("residual",)),
        ("LayerNorm", LN_NODES),
        ("FullyConnected", ("fc1", "fc1_bias")),
    ]


# ---------------------------------------------------------------- rewrite: LayerNormalization
from fusionlab import rewrite  # noqa: E402


@pytest.mark.parametrize("opset,square,axes", [(17, "pow", (-1,)), (17, "mul", (-1,)), (18, "pow", (-2, -1))])
def test_rewrite_makes_one_layernormalization(opset, square, axes):
    g = GraphBuilder(opset=opset)
    x = g.input("x", [1, 8, 16, 32])
    y = layernorm(g, x, 32, axes=axes, square=square, opset=opset)
    y = g.node("Relu", [y], name="relu")
    out, report = rewrite(g.model([y]), passes=["layernorm"])
    assert [n.op_type for n in out.graph.node] == ["LayerNormalization", "Relu"]
    ln = out.graph.node[0]
    assert {a.name: (a.i if a.name == "axis" else a.f) for a in ln.attribute}["axis"] == 4 + axes[0]
    assert report.equivalence.passed and report.equivalence.max_abs < 1e-4
    assert out.opset_import[0].version == opset


def test_rewrite_keeps_the_nine_ops_below_opset_17():
    g = GraphBuilder(opset=16)
    y = layernorm(g, g.input("x", [1, 64, 128]), 128)
    out, report = rewrite(g.model([y]), passes=["layernorm"])
    assert not report.changed
