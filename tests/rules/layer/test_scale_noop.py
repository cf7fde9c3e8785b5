"""TRT125 scale-noop: Add 0 / Sub 0 / Mul 1 / Div 1 / Pow 1 are erased; missed when the
constant is only close to the identity, broadcasts the input to a larger shape, or has no
shape a Scale layer takes (then it is an ElementWise layer, which the builder keeps)."""

import numpy as np
import pytest
from onnx import numpy_helper

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def _conv_op_relu(op_type, value, const_first=False):
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    c = g.const(np.asarray(value, np.float32))
    y = g.node(op_type, [c, y] if const_first else [y, c], name="scale1")
    y = g.node("Relu", [y], name="relu1")
    return g.model([y])


def test_add_zero_is_erased_and_conv_relu_fuses_through_it():
    report = analyze(_conv_op_relu("Add", np.zeros([32, 1, 1])))
    assert report.absorbed == ["scale1"]
    assert report.layer_of("relu1").nodes == ("conv1", "relu1")
    (erased,) = diagnostics(report, "TRT125", "absorbed")
    assert erased.nodes == ("scale1",)
    assert "conv1_out" in erased.reason


@pytest.mark.parametrize("op_type, value, const_first", [
    ("Mul", 1.0, True), ("Mul", np.ones([1, 32, 1, 1]), False), ("Sub", 0.0, False),
    ("Div", 1.0, False), ("Pow", 1.0, False), ("Add", 0.0, True),
])
def test_each_identity_scale_is_erased(op_type, value, const_first):
    report = analyze(_conv_op_relu(op_type, value, const_first))
    assert report.absorbed == ["scale1"]
    assert report.layer_of("relu1").nodes == ("conv1", "relu1")


@pytest.mark.parametrize("op_type, value", [("Sub", 0.0), ("Div", 1.0), ("Pow", 1.0)])
def test_constant_first_is_not_a_noop_for_non_commutative_ops(op_type, value):
    report = analyze(_conv_op_relu(op_type, value, const_first=True))
    assert "scale1" not in report.absorbed
    assert not diagnostics(report, "TRT125")


def test_a_real_bias_is_not_matched():
    report = analyze(_conv_op_relu("Mul", 1.5))
    assert not diagnostics(report, "TRT125")


def test_missed_when_the_constant_is_close_but_not_exactly_one():
    report = analyze(_conv_op_relu("Mul", 1.0000001))
    (missed,) = diagnostics(report, "TRT125", "missed")
    assert missed.check == "exact-identity"
    assert missed.nodes == ("scale1",)
    assert "1.0000001" in missed.reason
    assert "scale1" not in report.absorbed


def test_missed_when_a_zero_tensor_of_higher_rank_broadcasts():
    report = analyze(_conv_op_relu("Add", np.zeros([2, 1, 32, 16, 16])))
    (missed,) = diagnostics(report, "TRT125", "missed")
    assert missed.check == "no-broadcast"
    assert missed.nodes == ("scale1",)
    assert "[2, 1, 32, 16, 16]" in missed.reason
    assert "scale1" not in report.absorbed


def test_a_zero_from_a_constant_node_is_erased_too():
    # TRT001 folds the Constant node first; its value must still be read.
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 16, 16]), 32, name="conv1")
    value = numpy_helper.from_array(np.zeros([32, 1, 1], np.float32))
    zero = g.node("Constant", [], name="zero", value=value)
    y = g.node("Add", [y, zero], name="scale1")
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert "scale1" in report.absorbed
    assert report.layer_of("relu1").nodes == ("conv1", "relu1")


def _scores_plus_bias(bias_shape):
    """``Softmax(MatMul(q, k) + zeros(bias_shape))`` with q, k of [1, 4, 16, 16]: the zero
    attention bias ``torch.onnx.export(..., dynamo=True)`` writes for SDPA."""
    g = GraphBuilder()
    a = g.node("MatMul", [g.input("q", [1, 4, 16, 16]), g.input("k", [1, 4, 16, 16])], name="bmm1")
    a = g.node("Add", [a, g.const(np.zeros(bias_shape, np.float32), name="bias")], name="bias_add")
    return g.model([g.node("Softmax", [a], name="softmax", axis=-1)])


@pytest.mark.parametrize("target", ["tensorrt", "tensorrt-rtx"])
def test_a_zero_tensor_of_no_scale_shape_is_kept_and_reported(target):
    report = analyze(_scores_plus_bias([1, 1, 16, 16]), target=target)
    assert "bias_add" not in report.absorbed
    (missed,) = diagnostics(report, "TRT125", "missed")
    assert missed.check == "scale-shaped" and missed.nodes == ("bias_add",)
    assert "[1, 1, 16, 16]" in missed.reason and "[1, 4, 16, 16]" in missed.reason


@pytest.mark.parametrize("bias_shape", [[1], [1, 4, 1, 1], [4, 16, 16], [1, 4, 16, 16]])
def test_uniform_channel_and_elementwise_zeros_are_erased(bias_shape):
    report = analyze(_scores_plus_bias(bias_shape), target="tensorrt-rtx")
    assert report.absorbed == ["bias_add"]
    assert not diagnostics(report, "TRT125", "missed")


@pytest.mark.needs_rtx
def test_live_builder_keeps_the_zero_bias_in_the_softmax_kernel(tmp_path):
    import onnx

    from fusionlab.verification import verify

    path = tmp_path / "zero_bias.onnx"
    onnx.save(_scores_plus_bias([1, 1, 16, 16]), path)
    v = verify(path, target="tensorrt-rtx", timeout=300)
    kernel = next(layer for layer in v.observed if "softmax" in layer.nodes)
    assert "bias_add" in kernel.nodes
    assert v.comparison.score.f1 == 1.0


# ---------------------------------------------------------------- rewrite: erase
from fusionlab import rewrite  # noqa: E402


def test_rewrite_erases_exact_noops_and_refuses_near_ones():
    g = GraphBuilder()
    x = g.input("x", [1, 4, 8, 8])
    y = g.node("Relu", [x], name="relu0")
    y = g.node("Add", [y, g.const(np.float32(0.0))], name="add0")
    y = g.node("Mul", [g.const(np.ones([1, 4, 1, 1], np.float32)), y], name="mul1")
    y = g.node("Pow", [y, g.const(np.float32(1.0))], name="pow1")
    y = g.node("Mul", [y, g.const(np.float32(1.0001))], name="mul_near")
    y = g.node("Relu", [y], name="relu1")
    out, report = rewrite(g.model([y]), passes=["scale-noop"])
    assert [n.name for n in out.graph.node] == ["relu0", "mul_near", "relu1"]
    assert [r.check for r in report.refused] == ["exact-identity"]
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0


def test_rewrite_removes_the_zero_bias_the_builder_keeps():
    out, report = rewrite(_scores_plus_bias([1, 1, 16, 16]), passes=["scale-noop"])
    assert [n.name for n in out.graph.node] == ["bmm1", "softmax"]
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0
