"""TRT409 qdq-residual-add: fires when an INT8 conv + add reads a dequantized residual
(TensorRT's Q/DQ placement); missed on a float residual (TREx MobileNet) and on a Q/DQ
pair between the conv and the Add (ONNX Runtime's QDQ placement)."""

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


def block(g, residual):
    """DQ -> INT8 conv -> Add(residual) -> Relu -> Q, the residual given as a tensor."""
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    y = g.node("Add", [qconv(g, x, 32, 32, "conv1"), residual], name="add")
    return q(g, g.node("Relu", [y], name="relu"), "q_out", 0.1)


def test_dequantized_residual_fuses_and_the_layer_writes_int8():
    g = GraphBuilder()
    res = dq(g, q(g, g.input("r", [1, 32, 16, 16]), "q_res", 0.08), "dq_res", 0.08)
    y = block(g, res)
    report = analyze(g.model([y]), precision="int8")
    layer = report.layer_of("conv1")
    assert layer.nodes == ("dq_res", "dq_in", "conv1_wdq", "conv1", "add", "relu", "q_out")
    assert {"TRT403", "TRT104", "TRT409", "TRT404"} <= set(layer.rules)
    (pred,) = diagnostics(report, "TRT409", "predicted")
    assert {"dq_res", "conv1", "add"} <= set(pred.nodes)
    assert "dq_res (the residual operand of add) fuses into conv1" in pred.reason
    assert report.layer_of("q_res").nodes == ("q_res",)


def test_missed_when_the_residual_is_float():
    g = GraphBuilder()
    y = block(g, g.input("r", [1, 32, 16, 16]))
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT409", "missed")
    assert missed.check == "other-input-quantized"
    assert missed.nodes == ("conv1", "add")
    assert "adds r from the network input" in missed.reason
    assert "q_out runs as a separate layer" in missed.reason
    assert report.layer_of("q_out").nodes == ("q_out",)  # TRT404 does not fuse it
    assert not diagnostics(report, "TRT404")


def test_missed_when_a_q_dq_pair_splits_the_conv_from_the_add():
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    y = dq(g, q(g, qconv(g, x, 32, 32, "conv1"), "q_conv", 0.1), "dq_conv", 0.1)
    res = dq(g, q(g, g.input("r", [1, 32, 16, 16]), "q_res", 0.08), "dq_res", 0.08)
    y = q(g, g.node("Add", [y, res], name="add"), "q_add", 0.12)
    report = analyze(g.model([y]), precision="int8")
    (missed,) = diagnostics(report, "TRT409", "missed")
    assert missed.check == "conv-path-unquantized"
    assert missed.nodes == ("conv1", "q_conv", "dq_conv", "add")
    assert "the extra Q/DQ pair forces the Add out of the convolution" in missed.reason
    assert report.layer_of("conv1").nodes == ("dq_in", "conv1_wdq", "conv1", "q_conv")
    assert report.layer_of("add").nodes == ("dq_conv", "dq_res", "add", "q_add")


def test_tensorrt_rtx_is_not_reported():
    g = GraphBuilder()
    y = block(g, g.input("r", [1, 32, 16, 16]))
    report = analyze(g.model([y]), target="tensorrt-rtx")
    assert not diagnostics(report, "TRT409")


# ---------------------------------------------------------------- rewrite: quantize the residual
from fusionlab import rewrite  # noqa: E402


def test_rewrite_quantizes_a_residual_that_is_on_a_grid_exactly():
    g = GraphBuilder()
    res = g.node("Relu", [dq(g, q(g, g.input("r", [1, 32, 16, 16]), "q_res", 0.08), "dq_res", 0.08)],
                 name="relu_res")
    y = block(g, res)
    model = g.model([dq(g, y, "dq_final", 0.1)])
    out, report = rewrite(model, precision="int8", passes=["qdq-residual-add"])
    (change,) = report.changes
    assert "dq_res's scale" in change.description
    assert not diagnostics(report.after, "TRT409", "missed")
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0


def test_rewrite_refuses_a_float_residual_and_a_split_pair():
    g = GraphBuilder()
    y = block(g, g.input("r", [1, 32, 16, 16]))
    _, report = rewrite(g.model([dq(g, y, "dq_final", 0.1)]), precision="int8",
                        passes=["qdq-residual-add"])
    assert not report.changed
    assert "quantization grid" in report.refused[0].reason

    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 32, 16, 16]), "q_in"), "dq_in")
    y = dq(g, q(g, qconv(g, x, 32, 32, "conv1"), "q_conv", 0.1), "dq_conv", 0.1)
    res = dq(g, q(g, g.input("r", [1, 32, 16, 16]), "q_res", 0.08), "dq_res", 0.08)
    y = q(g, g.node("Add", [y, res], name="add"), "q_add", 0.12)
    _, report = rewrite(g.model([dq(g, y, "dq_final", 0.12)]), precision="int8", passes=["qdq-residual-add"])
    assert not report.changed
    assert [r.check for r in report.refused] == ["conv-path-unquantized"]
    assert "drop a rounding step" in report.refused[0].reason
