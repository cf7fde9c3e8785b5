"""TRT505 topk: lints a TopK with K over 3840 or not on the last axis."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def topk(g, x, k, name="topk", **attrs):
    return g.node("TopK", [x, g.const(np.array([k], np.int64))], name=name, outputs=2, **attrs)[0]


def test_large_k_is_reported():
    g = GraphBuilder()
    y = topk(g, g.input("x", [1, 10000]), 5000)
    (lint,) = diagnostics(analyze(g.model([y])), "TRT505", "lint")
    assert lint.check == "k-small" and lint.nodes == ("topk",)
    assert "K=5000" in lint.reason and "up to 3840" in lint.reason


def test_topk_on_an_inner_axis_is_reported():
    g = GraphBuilder()
    y = topk(g, g.input("x", [1, 100, 8]), 5, axis=1)
    (lint,) = diagnostics(analyze(g.model([y])), "TRT505", "lint")
    assert lint.check == "axis-last"
    assert "axis 1 of its [1, 100, 8] input" in lint.reason


def test_small_k_on_the_last_axis_is_not_reported():
    g = GraphBuilder()
    y = topk(g, g.input("x", [1, 100]), 5)
    assert not diagnostics(analyze(g.model([y])), "TRT505")
