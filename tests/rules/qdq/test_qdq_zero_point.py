"""TRT401 qdq-zero-point: lints a non-zero and a UINT8 zero_point on Q/DQ nodes, also
once they are fused into a convolution; quiet on a symmetric INT8 model."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, qconv, diagnostics


def test_symmetric_int8_q_dq_is_not_reported():
    g = GraphBuilder()
    y = qconv(g, dq(g, q(g, g.input("x", [1, 32, 8, 8]), "q_in"), "dq_in"), 32, 32, "conv1")
    report = analyze(g.model([y]), precision="int8")
    assert not diagnostics(report, "TRT401")


def test_non_zero_zero_point_is_a_parser_rejection_on_each_node():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 8, 8]), "q_in", zero=5), "dq_in", zero=5)
    y = qconv(g, x, 32, 32, "conv1")
    report = analyze(g.model([y]), precision="int8")
    lints = diagnostics(report, "TRT401", "lint")
    assert sorted((d.nodes, d.check) for d in lints) == [
        (("dq_in",), "zero-point-is-zero"), (("q_in",), "zero-point-is-zero")]
    assert "= 5" in lints[0].reason and "Non-zero zero point is not supported" in lints[0].reason


def test_uint8_zero_point_is_reported_even_when_zero():
    g = GraphBuilder()
    x = g.input("x", [1, 8])
    y = g.node("QuantizeLinear", [x, g.const(np.float32(0.1)), g.const(np.array(0, np.uint8))],
               name="q_u8")
    y = g.node("DequantizeLinear", [y, g.const(np.float32(0.1)), g.const(np.array(0, np.uint8))],
               name="dq_u8")
    report = analyze(g.model([y]))
    lints = diagnostics(report, "TRT401", "lint")
    assert sorted((d.nodes, d.check) for d in lints) == [
        (("dq_u8",), "zero-point-int8"), (("q_u8",), "zero-point-int8")]
    assert "UINT8" in lints[0].reason


def test_asymmetric_uint8_per_channel_zero_point_fails_both_checks():
    g = GraphBuilder()
    w = g.const(np.full([4, 8], 130, np.uint8))
    y = g.node("DequantizeLinear", [w, g.const(np.full(4, 0.01, np.float32)),
                                    g.const(np.array([128, 128, 0, 128], np.uint8))],
               name="w_dq", axis=0)
    y = g.node("MatMul", [g.input("x", [2, 4]), y], name="mm")
    report = analyze(g.model([y]))
    lints = {d.check: d for d in diagnostics(report, "TRT401", "lint")}
    assert set(lints) == {"zero-point-is-zero", "zero-point-int8"}
    assert lints["zero-point-is-zero"].nodes == ("w_dq",)  # folded, still seen by the parser
    assert "3 of them non-zero" in lints["zero-point-is-zero"].reason
