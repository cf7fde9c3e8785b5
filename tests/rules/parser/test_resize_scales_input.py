"""TRT604 resize-scales-input: a float `scales` graph input of Resize is a parser
rejection; an initializer or a computed `scales` is not (live builds of both)."""

import numpy as np
import pytest

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def resize_model(scales_from: str):
    g = GraphBuilder(opset=18)
    x = g.input("x", [1, 8, 16, 16])
    if scales_from == "input":
        scales = g.input("scales", [4])
    elif scales_from == "mul":
        scales = g.node("Mul", [g.const(np.ones(4, np.float32)), g.const(np.float32(2))], name="mul")
    else:
        scales = g.const(np.array([1, 1, 2, 2], np.float32), name="scales")
    return g.model([g.node("Resize", [x, "", scales], name="rz")], check=False)


def test_scales_graph_input_is_a_parser_rejection():
    report = analyze(resize_model("input"), target="tensorrt-rtx")
    (lint,) = diagnostics(report, "TRT604", "lint")
    assert lint.check == "scales-not-input" and lint.nodes == ("rz",)
    assert "graph input scales" in lint.reason and "INT32 or INT64" in lint.reason
    assert report.parser_rejects == [lint]


@pytest.mark.parametrize("scales_from", ["initializer", "mul"])
def test_initializer_or_computed_scales_are_accepted(scales_from):
    report = analyze(resize_model(scales_from), target="tensorrt-rtx")
    assert not diagnostics(report, "TRT604")


@pytest.mark.needs_rtx
def test_live_parser_rejects_the_scales_input_and_builds_computed_scales(live_parser):
    message = live_parser.rejects(resize_model("input"), "resize_scales_input.onnx")
    assert "is a shape tensor and must have type Int32 or Int64" in message
    assert live_parser.builds(resize_model("mul"), "resize_scales_mul.onnx")
