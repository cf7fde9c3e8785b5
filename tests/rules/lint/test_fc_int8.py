"""TRT502 fc-int8: lints an INT8 matrix multiply with constant weights that does not
become a convolution; quiet on one TensorRT converts (2-D weight)."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, diagnostics


def int8_matmul(g, wshape):
    x = dq(g, q(g, g.input("x", [4, 16, 64]), "q_in"), "dq_in")
    w = dq(g, g.const(g.rng.integers(-127, 128, wshape).astype(np.int8)), "w_dq", 0.01)
    return g.node("MatMul", [x, w], name="mm")


def test_int8_matmul_with_a_3d_weight_stays_a_matrix_multiply():
    g = GraphBuilder()
    y = int8_matmul(g, [4, 64, 32])
    report = analyze(g.model([y]), precision="int8")
    (lint,) = diagnostics(report, "TRT502", "lint")
    assert lint.check == "not-fc-in-int8" and lint.nodes == ("mm",)
    assert "its weight is [4, 64, 32]" in lint.reason and "1x1 Conv" in lint.reason


def test_int8_fully_connected_with_a_2d_weight_becomes_a_convolution():
    g = GraphBuilder()
    y = int8_matmul(g, [64, 32])
    report = analyze(g.model([y]), precision="int8")
    assert "TRT109" in report.layer_of("mm").rules
    assert not diagnostics(report, "TRT502")


def test_float_matmul_is_not_reported():
    g = GraphBuilder()
    y = g.node("MatMul", [g.input("x", [4, 16, 64]), g.weight([4, 64, 32])], name="mm")
    assert not diagnostics(analyze(g.model([y]), precision="fp16"), "TRT502")
