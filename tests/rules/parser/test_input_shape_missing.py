"""TRT602 input-shape-missing: a graph input without a shape is read as 0-d by the
parser; the first op that needs a rank is a rejection, elementwise ops are not, and an
input of known rank with symbolic dims is fine. The live builds confirm each case."""

import pytest

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def softmax_model(shape, through_relu=False):
    g = GraphBuilder()
    x = g.input("x", shape)
    if through_relu:
        x = g.node("Relu", [x], name="relu")
    return g.model([g.node("Softmax", [x], name="sm", axis=-1)], check=False)


@pytest.mark.parametrize("through_relu", [False, True])
def test_shapeless_input_read_by_softmax_is_a_parser_rejection(through_relu):
    report = analyze(softmax_model(None, through_relu), target="tensorrt-rtx")
    (lint,) = diagnostics(report, "TRT602", "lint")
    assert lint.check == "input-shaped" and lint.nodes == ("sm",)
    assert "graph input x has no shape" in lint.reason and "0-d" in lint.reason
    assert report.parser_rejects == [lint]


def test_shapeless_input_of_elementwise_ops_only_is_not_reported():
    g = GraphBuilder()
    y = g.node("Relu", [g.input("x", None)], name="relu")
    report = analyze(g.model([y], check=False), target="tensorrt-rtx")
    assert not diagnostics(report, "TRT602")


def test_symbolic_dims_are_a_shape():
    report = analyze(softmax_model(["batch", "n"]), target="tensorrt-rtx")
    assert not diagnostics(report, "TRT602")


@pytest.mark.needs_rtx
def test_live_parser_rejects_the_shapeless_softmax_and_builds_the_symbolic_one(live_parser):
    message = live_parser.rejects(softmax_model(None), "noshape_softmax.onnx", shapes=["x:2x4"])
    assert "nbDims (0)" in message
    g = GraphBuilder()
    relu = g.model([g.node("Relu", [g.input("x", None)], name="relu")], check=False)
    assert live_parser.builds(relu, "noshape_relu.onnx")
    assert live_parser.builds(softmax_model(["batch", "n"]), "symbolic_softmax.onnx", shapes=["x:2x4"])
