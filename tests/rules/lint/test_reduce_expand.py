"""TRT507 reduce-expand: an Expand that broadcasts a reduction's result for an elementwise
op that broadcasts by itself (torch.nn.functional.normalize's ReduceL2 -> Clip ->
Expand(Shape(x)) -> Div) is reported on both targets; TensorRT-RTX splits the kgen kernel
there (TRT310 predicts it); the rewrite removes the Expand, exactly."""


import numpy as np
import pytest

from fusionlab import analyze, rewrite
from fusionlab.rewriting import build_count
from fusionlab.testing import GraphBuilder, diagnostics



def normalize(shape=(8, 32, 256), axis=-1, expand="shape", l2="reducel2", opset=17):
    """Relu -> F.normalize(dim=axis) -> Relu, as the TorchScript exporter writes it:
    ReduceL2 -> Clip(eps) -> Expand(Shape(x)) -> Div (``expand``: "shape", "const" (the
    dynamo exporter's constant shape) or None); ``l2`` "mul" spells the norm Mul -> ReduceSum
    -> Sqrt."""
    g = GraphBuilder(opset=opset)
    x = g.node("Relu", [g.input("x", list(shape))], name="relu_in")
    if l2 == "reducel2":
        n = g.node("ReduceL2", [x], name="l2", axes=[axis], keepdims=1)
    else:
        sq = g.node("Mul", [x, x], name="sq")
        n = g.node("ReduceSum", [sq, g.const(np.array([axis], np.int64))], name="sum", keepdims=1)
        n = g.node("Sqrt", [n], name="l2")
    n = g.node("Clip", [n, g.const(np.float32(1e-12))], name="clip")
    if expand == "shape":
        n = g.node("Expand", [n, g.node("Shape", [x], name="shape")], name="expand")
    elif expand == "const":
        n = g.node("Expand", [n, g.const(np.array(shape, np.int64))], name="expand")
    y = g.node("Div", [x, n], name="div")
    return g.model([g.node("Relu", [y], name="relu_out")])


@pytest.mark.parametrize("target", ["tensorrt", "tensorrt-rtx"])
def test_expand_of_the_norm_is_reported(target):
    report = analyze(normalize(), target=target)
    (lint,) = diagnostics(report, "TRT507", "lint")
    assert (lint.check, lint.nodes) == ("no-redundant-expand", ("expand",))
    assert "expand expands clip_out (computed by l2) [8, 32, 1] to [8, 32, 256] only for div" in lint.reason
    assert "the Expand's shape is Shape(relu_in_out)" in lint.reason
    assert ("kgen kernel at the Expand" in lint.reason) == (target == "tensorrt-rtx")


def test_tensorrt_rtx_predicts_the_split_at_the_expand():
    report = analyze(normalize(), target="tensorrt-rtx")
    assert [layer.nodes for layer in report.layers] == [("relu_in", "l2"), ("clip", "expand", "div", "relu_out")]
    report = analyze(normalize(expand=None), target="tensorrt-rtx")
    assert [layer.nodes for layer in report.layers] == [("relu_in", "l2", "clip", "div", "relu_out")]


def test_static_shapes_prove_it_without_shape_of():
    (lint,) = diagnostics(analyze(normalize(expand="const", axis=1, shape=(1, 64, 16, 16))), "TRT507")
    assert "relu_in_out [1, 64, 16, 16] broadcasts it to [1, 64, 16, 16] by itself" in lint.reason


def test_a_needed_expand_is_not_reported():
    # the reader's other operand is smaller: without the Expand the output shape changes
    g = GraphBuilder()
    x = g.input("x", [8, 32, 256])
    m = g.node("ReduceMean", [x], name="mean", axes=[-1], keepdims=1)
    e = g.node("Expand", [m, g.const(np.array([8, 32, 256], np.int64))], name="expand")
    y = g.node("Add", [g.input("b", [8, 32, 1]), e], name="add")
    assert not diagnostics(analyze(g.model([y])), "TRT507")
    # an Expand of a value no reduction computed
    g = GraphBuilder()
    x = g.input("x", [8, 32, 256])
    e = g.node("Expand", [g.node("Sigmoid", [g.input("w", [8, 32, 1])], name="sig"),
                          g.node("Shape", [x], name="shape")], name="expand")
    assert not diagnostics(analyze(g.model([g.node("Mul", [x, e], name="mul")])), "TRT507")
    # a reader that does not broadcast (Concat), and an Expand that is a graph output
    g = GraphBuilder()
    x = g.input("x", [8, 32, 256])
    e = g.node("Expand", [g.node("ReduceMax", [x], name="max", axes=[-1], keepdims=1),
                          g.node("Shape", [x], name="shape")], name="expand")
    y = g.node("Concat", [x, e], name="cat", axis=-1)
    assert not diagnostics(analyze(g.model([y, e])), "TRT507")


# ---------------------------------------------------------------- rewrite: remove the Expand
@pytest.mark.parametrize("target", ["tensorrt", "tensorrt-rtx"])
@pytest.mark.parametrize("expand,l2", [("shape", "reducel2"), ("const", "reducel2"), ("shape", "mul")])
def test_rewrite_removes_the_expand_exactly(target, expand, l2):
    out, report = rewrite(normalize(expand=expand, l2=l2), target=target, passes=["reduce-expand"])
    ops = [n.op_type for n in out.graph.node]
    assert "Expand" not in ops and "Shape" not in ops
    (change,) = report.changes
    assert change.description == "removed expand: div broadcasts clip_out by itself"
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0
    assert not diagnostics(report.after, "TRT507")
    if target == "tensorrt-rtx":
        assert len(report.before.layers) == 2
        assert [layer.kind for layer in report.after.layers] == ["kgen"]
        assert report.after.layer_of("div").nodes[-3:] == ("clip", "div", "relu_out")
    else:
        assert report.after.layer_of("div").name == "PWN(clip, div, relu_out)"
        assert len(report.after.layers) == len(report.before.layers) - 2  # the Expand, and the Clip joins


def test_rewrite_of_a_mean_subtraction():
    g = GraphBuilder()
    x = g.input("x", [4, 16, 64])
    m = g.node("ReduceMean", [x], name="mean", axes=[-1], keepdims=1)
    y = g.node("Sub", [x, g.node("Expand", [m, g.node("Shape", [x], name="shape")], name="expand")], name="sub")
    out, report = rewrite(g.model([g.node("Relu", [y], name="relu")]), target="tensorrt-rtx")
    assert [n.op_type for n in out.graph.node] == ["ReduceMean", "Sub", "Relu"]
    assert report.equivalence.max_abs == 0.0


@pytest.mark.needs_rtx
def test_tensorrt_rtx_builds_the_normalize_in_one_kernel_after_the_rewrite():
    model = normalize()
    out, report = rewrite(model, target="tensorrt-rtx", passes=["reduce-expand"])
    before, after = build_count(model, "tensorrt-rtx"), build_count(out, "tensorrt-rtx")
    assert before.error is None and after.error is None, (before.error, after.error)
    assert (before.layers, after.layers) == (2, 1)
    assert len(report.before.layers) == before.layers and len(report.after.layers) == after.layers
