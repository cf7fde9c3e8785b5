"""TRT502 fc-int8: lints an INT8 matrix multiply with constant weights that does not
become a convolution; quiet on one TensorRT converts (2-D weight)."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def q(g, x, name, scale=0.05, zero=0):
    """QuantizeLinear to INT8 with a scalar scale and zero_point."""
    return g.node("QuantizeLinear", [x, g.const(np.float32(scale)), g.const(np.array(zero, np.int8))],
                  name=name)


def dq(g, x, name, scale=0.05, zero=0):
    """DequantizeLinear of an INT8 tensor with a scalar scale and zero_point."""
    return g.node("DequantizeLinear", [x, g.const(np.float32(scale)), g.const(np.array(zero, np.int8))],
                  name=name)


def qconv(g, x, cout, cin, name, k=3, bias=True):
    """Conv whose weight is an INT8 initializer behind a per-channel DequantizeLinear
    (ONNX Runtime's QDQ weights), with a float bias."""
    w = g.const(g.rng.integers(-127, 128, [cout, cin, k, k]).astype(np.int8))
    w = g.node("DequantizeLinear", [w, g.const(np.full(cout, 0.01, np.float32)),
                                    g.const(np.zeros(cout, np.int8))], name=f"{name}_wdq", axis=0)
    ins = [x, w] + ([g.weight([cout])] if bias else [])
    return g.node("Conv", ins, name=name, kernel_shape=[k, k], pads=[k // 2] * 4)


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
