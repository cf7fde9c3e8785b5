"""TRT313 qdq-bmm (TensorRT-RTX): a MatMul of two dequantized activations is one INT8
MatMul with its DequantizeLinears and output QuantizeLinear; and the kernels around an
INT8 GEMM of a QDQ transformer (TRT404, TRT410, TRT310)."""

import numpy as np
import pytest

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics, dq, q


def int8_scores(shared=False):
    """``Q(a) -> DQ`` and ``Q(b) -> DQ`` of two activations [1, 2, 16, 8] / [1, 2, 8, 16],
    ``MatMul`` of the two, its output ``Q -> DQ`` and a Softmax, as
    onnxruntime.quantization's QDQ format writes attention's ``Q·Kᵀ``."""
    g = GraphBuilder()
    a = g.node("Relu", [g.input("a", [1, 2, 16, 8])], name="relu_a")
    b = g.node("Relu", [g.input("b", [1, 2, 8, 16])], name="relu_b")
    da = dq(g, q(g, a, "q_a"), "dq_a")
    db = dq(g, q(g, b, "q_b"), "dq_b")
    s = g.node("MatMul", [da, db], name="bmm")
    p = g.node("Softmax", [dq(g, q(g, s, "q_s"), "dq_s")], name="softmax", axis=-1)
    outputs = [p] + ([g.node("Relu", [da], name="reader")] if shared else [])
    return g.model(outputs)


def int8_projection():
    """An INT8 GEMM with its bias Add and LayerNormalization after it, every tensor behind
    a Q -> DQ pair (onnxruntime.quantization QDQ, float bias)."""
    g = GraphBuilder()
    x = dq(g, q(g, g.input("x", [1, 16, 32]), "q_x"), "dq_x")
    w = g.node("DequantizeLinear", [g.const(g.rng.integers(-127, 128, [32, 32]).astype(np.int8)),
                                    g.const(np.float32(0.01)), g.const(np.array(0, np.int8))], name="wdq")
    y = dq(g, q(g, g.node("MatMul", [x, w], name="fc"), "q_fc"), "dq_fc")
    y = dq(g, q(g, g.node("Add", [y, g.weight([32])], name="bias"), "q_bias"), "dq_bias")
    y = g.node("LayerNormalization", [y, g.weight([32]), g.weight([32])], name="ln", axis=-1)
    return g.model([g.node("Relu", [y], name="relu")])


def test_the_batched_matmul_takes_both_dequantize_and_its_quantize():
    report = analyze(int8_scores(), target="tensorrt-rtx", precision="int8")
    assert report.layer_of("bmm").nodes == ("dq_a", "dq_b", "bmm", "q_s")
    (pred,) = diagnostics(report, "TRT313", "predicted")
    assert set(pred.nodes) == {"dq_a", "dq_b", "bmm"}
    classic = analyze(int8_scores(), target="tensorrt", precision="int8")
    assert not diagnostics(classic, "TRT313")


def test_a_shared_dequantize_is_missed_single_consumer():
    report = analyze(int8_scores(shared=True), target="tensorrt-rtx", precision="int8")
    (missed,) = diagnostics(report, "TRT313", "missed")
    assert missed.check == "single-consumer"
    assert "dq_a output has 2 consumers" in missed.reason
    assert "dq_a" not in report.layer_of("bmm").nodes


def test_an_int8_matmul_kernel_ends_at_its_output_quantize():
    report = analyze(int8_projection(), target="tensorrt-rtx", precision="int8")
    assert report.layer_of("fc").nodes == ("dq_x", "wdq", "fc", "q_fc")
    assert report.layer_of("ln").nodes == ("dq_fc", "bias", "q_bias", "dq_bias", "ln", "relu")


@pytest.mark.needs_rtx
def test_live_builder_agrees_on_both_graphs(tmp_path):
    import onnx

    from fusionlab.verification import verify

    for name, model in (("scores", int8_scores()), ("projection", int8_projection())):
        path = tmp_path / f"{name}.onnx"
        onnx.save(model, path)
        v = verify(path, target="tensorrt-rtx", precision="int8", timeout=300)
        assert v.comparison.score.f1 == 1.0, (name, [(o.name, o.nodes) for o in v.observed])
