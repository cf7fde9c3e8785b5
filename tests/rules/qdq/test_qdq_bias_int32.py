"""TRT402 qdq-bias-int32: lints the INT32 bias DequantizeLinear of ONNX Runtime's QDQ
format (a parser rejection); quiet on a float bias."""

import numpy as np

from fusionlab import analyze
from fusionlab.testing import GraphBuilder, q, dq, diagnostics


def ort_conv(g, x, name, bias_dtype):
    w = dq(g, g.const(g.rng.integers(-127, 128, [16, 16, 3, 3]).astype(np.int8)), f"{name}_wdq", 0.02)
    if bias_dtype == np.int32:
        b = g.node("DequantizeLinear", [g.const(np.arange(1, 17, dtype=np.int32)),
                                        g.const(np.float32(0.05 * 0.02)),
                                        g.const(np.array(0, np.int32))], name=f"{name}_bias_dq")
    else:
        b = g.weight([16])
    return g.node("Conv", [x, w, b], name=name, kernel_shape=[3, 3], pads=[1, 1, 1, 1])


def test_int32_bias_dequantize_is_a_parser_rejection_naming_the_fix():
    g = GraphBuilder()
    y = ort_conv(g, dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q_in"), "dq_in"), "conv1", np.int32)
    report = analyze(g.model([y]), precision="int8")
    (lint,) = diagnostics(report, "TRT402", "lint")
    assert lint.check == "bias-unquantized"
    assert lint.nodes == ("conv1_bias_dq",)
    assert "the bias of conv1 (Conv)" in lint.reason
    assert "here 0.001" in lint.reason  # S_input 0.05 * S_weight 0.02
    assert "QuantizeBias" in lint.reason


def test_float_bias_is_not_reported():
    g = GraphBuilder()
    y = ort_conv(g, dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q_in"), "dq_in"), "conv1", np.float32)
    report = analyze(g.model([y]), precision="int8")
    assert not diagnostics(report, "TRT402")


# ---------------------------------------------------------------- rewrite: float bias
from fusionlab import rewrite  # noqa: E402


def test_rewrite_replaces_the_int32_bias_by_the_float_it_computes_exactly():
    g = GraphBuilder()
    y = ort_conv(g, dq(g, q(g, g.input("x", [1, 16, 8, 8]), "q_in"), "dq_in"), "conv1", np.int32)
    y = g.node("Relu", [y], name="relu1")
    out, report = rewrite(g.model([y]), precision="int8", passes=["qdq-bias-int32"])
    assert "conv1_bias_dq" not in [n.name for n in out.graph.node]
    (change,) = report.changes
    assert change.nodes == ("conv1_bias_dq",) and "conv1" in change.stamped
    bias = next(t for t in out.graph.initializer if t.name == out.graph.node[-2].input[2])
    assert bias.data_type == 1  # FLOAT
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0
    assert not diagnostics(report.after, "TRT402")
