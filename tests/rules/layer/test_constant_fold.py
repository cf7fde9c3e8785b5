"""TRT001 constant-fold: Constant nodes and all-constant subgraphs are absorbed."""

import numpy as np
from onnx import TensorProto, helper

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def test_shape_arithmetic_on_a_static_shape_folds_and_the_reshape_stays():
    g = GraphBuilder()
    x = g.input("x", [2, 8, 4])
    shape = g.node("Shape", [x], name="shape")
    first = g.node("Gather", [shape, g.const(np.array(0, np.int64))], name="gather", axis=0)
    dim = g.node("Unsqueeze", [first, g.const(np.array([0], np.int64))], name="unsq")
    target = g.node("Concat", [dim, g.const(np.array([-1], np.int64))], name="concat", axis=0)
    y = g.node("Reshape", [x, target], name="reshape")
    report = analyze(g.model([y]))
    assert report.absorbed == ["shape", "gather", "unsq", "concat"]
    assert [layer.nodes for layer in report.layers] == [("reshape",)]
    assert {d.nodes for d in diagnostics(report, "TRT001", "absorbed")} == {
        ("shape",), ("gather",), ("unsq",), ("concat",)}


def test_constant_node_feeding_a_clip_is_absorbed():
    g = GraphBuilder()
    lo = g.node("Constant", [], name="lo", value=helper.make_tensor("v", TensorProto.FLOAT, [], [0.0]))
    y = g.node("Clip", [g.input("x", [1, 4]), lo], name="clip")
    report = analyze(g.model([y]))
    assert report.absorbed == ["lo"]
    assert report.layer_of("clip").nodes == ("clip",)


def test_shape_of_a_symbolic_tensor_is_not_folded():
    g = GraphBuilder()
    x = g.input("x", ["batch", 8])
    shape = g.node("Shape", [x], name="shape")
    y = g.node("Reshape", [x, shape], name="reshape")
    report = analyze(g.model([y]))
    assert "shape" not in report.absorbed
    assert report.layer_of("shape").nodes == ("shape",)
