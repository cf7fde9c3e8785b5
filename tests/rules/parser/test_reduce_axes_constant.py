"""TRT601 reduce-axes-constant: a Reduce* axes input that is a graph input or computed
(Shape/Size/Range, even an Add of initializers) is a parser rejection; an initializer or
a Constant node's output is not. The live builds confirm both sides."""

import numpy as np
import pytest

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def reduce_model(axes_from: str):
    g = GraphBuilder(opset=18)
    x = g.input("x", [1, 8, 16])
    if axes_from == "input":
        axes = g.input("axes", [1], dtype=7)  # INT64
    elif axes_from == "range":
        size = g.node("Size", [g.node("Shape", [x], name="shape")], name="size")
        one = g.const(np.array(1, np.int64))
        axes = g.node("Range", [g.node("Sub", [size, one], name="sub"), size, one], name="range")
    elif axes_from == "add":
        axes = g.node("Add", [g.const(np.array([1], np.int64)), g.const(np.array(1, np.int64))], name="add")
    elif axes_from == "constant":
        from onnx import numpy_helper

        axes = g.node("Constant", [], name="axes_const", value=numpy_helper.from_array(np.array([2], np.int64)))
    else:
        axes = g.const(np.array([2], np.int64), name="axes_init")
    return g.model([g.node("ReduceMean", [x, axes], name="rm", keepdims=1)], check=False)


@pytest.mark.parametrize("axes_from, source", [("input", "graph input axes"), ("range", "range (Range)"),
                                               ("add", "add (Add)")])
def test_axes_not_a_build_time_constant_is_a_parser_rejection(axes_from, source):
    report = analyze(reduce_model(axes_from), target="tensorrt-rtx")
    (lint,) = diagnostics(report, "TRT601", "lint")
    assert lint.check == "axes-constant" and lint.nodes == ("rm",)
    assert source in lint.reason and "build-time constant" in lint.reason
    assert [d["code"] for d in report.to_json()["parser_rejects"]] == ["TRT601"]


@pytest.mark.parametrize("axes_from", ["initializer", "constant"])
def test_initializer_or_constant_axes_is_accepted(axes_from):
    report = analyze(reduce_model(axes_from), target="tensorrt-rtx")
    assert not diagnostics(report, "TRT601")
    assert report.parser_rejects == []


@pytest.mark.needs_rtx
def test_live_parser_rejects_computed_axes_and_accepts_a_constant(live_parser):
    message = live_parser.rejects(reduce_model("range"), "axes_range.onnx")
    assert "Axis input must resolve to a build-time constant" in message
    assert live_parser.builds(reduce_model("constant"), "axes_constant.onnx")
