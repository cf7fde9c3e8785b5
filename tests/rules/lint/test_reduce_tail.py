"""TRT504 reduce-tail: lints a Reduce over dimensions other than the last ones."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def test_channel_mean_of_nchw_is_reported():
    g = GraphBuilder()
    y = g.node("ReduceMean", [g.input("x", [1, 64, 8, 8])], name="mean_c", axes=[1], keepdims=1)
    (lint,) = diagnostics(analyze(g.model([y])), "TRT504", "lint")
    assert lint.check == "reduces-last-dims" and lint.nodes == ("mean_c",)
    assert "axes [1] of its rank-4 [1, 64, 8, 8] input" in lint.reason and "(axes [3])" in lint.reason


def test_axes_given_as_an_input_are_read():
    g = GraphBuilder(opset=13)
    y = g.node("ReduceSum", [g.input("x", [2, 16, 32]), g.const(np.array([0, 1], np.int64))],
               name="sum01")
    (lint,) = diagnostics(analyze(g.model([y])), "TRT504", "lint")
    assert "axes [0, 1]" in lint.reason and "(axes [1, 2])" in lint.reason


def test_tail_and_global_reductions_are_not_reported():
    g = GraphBuilder()
    x = g.input("x", [1, 64, 8, 8])
    a = g.node("ReduceMean", [x], name="hw", axes=[2, 3], keepdims=1)
    b = g.node("ReduceMax", [x], name="all", keepdims=0)
    c = g.node("ReduceMean", [x], name="last", axes=[-1], keepdims=1)
    assert not diagnostics(analyze(g.model([a, b, c])), "TRT504")
