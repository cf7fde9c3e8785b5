"""TRT503 gather-axis: lints a Gather on an axis other than 0."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def test_gather_on_axis_1_is_reported():
    g = GraphBuilder()
    y = g.node("Gather", [g.input("h", [1, 64, 128]), g.const(np.array(0, np.int64))],
               name="cls", axis=1)
    (lint,) = diagnostics(analyze(g.model([y])), "TRT503", "lint")
    assert lint.check == "axis-0" and lint.nodes == ("cls",)
    assert "axis 1 of its [1, 64, 128] input h" in lint.reason


def test_negative_axis_is_counted_from_the_end():
    g = GraphBuilder()
    y = g.node("Gather", [g.input("h", [8, 16]), g.input("i", [3], dtype=7)], name="g", axis=-1)
    (lint,) = diagnostics(analyze(g.model([y])), "TRT503", "lint")
    assert "axis -1" in lint.reason


def test_embedding_gather_on_axis_0_is_not_reported():
    g = GraphBuilder()
    y = g.node("Gather", [g.weight([1000, 64]), g.input("ids", [1, 16], dtype=7)], name="emb")
    assert not diagnostics(analyze(g.model([y])), "TRT503")
