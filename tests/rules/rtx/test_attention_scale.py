"""TRT312 attention-scale (TensorRT-RTX): the scale on Q or K runs in the first batched
MatMul's kernel."""

import numpy as np
import pytest

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics

B, N, S, H = 1, 4, 16, 32


def attention(scale_q="Mul", scale_k="Mul", second_reader=False, bias=True):
    """Q, K, V projections of x [1, 16, 128] (bias Add, Reshape, Transpose), the scale
    ``scale_q`` / ``scale_k`` (Mul, Div or None) before ``bmm1 = Q·Kᵀ``, Softmax, ``bmm2``."""
    g = GraphBuilder()
    x = g.input("x", [B, S, N * H])
    heads = {}
    for nm in "qkv":
        y = g.node("MatMul", [x, g.weight([N * H, N * H])], name=f"proj_{nm}")
        if bias:
            y = g.node("Add", [y, g.weight([N * H])], name=f"bias_{nm}")
        y = g.node("Reshape", [y, g.const(np.array([B, S, N, H], np.int64))], name=f"view_{nm}")
        heads[nm] = g.node("Transpose", [y], name=f"tr_{nm}", perm=[0, 2, 3, 1] if nm == "k" else [0, 2, 1, 3])
    q, k = heads["q"], heads["k"]
    outputs = []
    if scale_q:
        q = g.node(scale_q, [q, g.const(np.float32(H ** -0.25 if scale_q == "Mul" else H ** 0.25))], name="scale_q")
        if second_reader:
            outputs.append(g.node("Relu", [q], name="reader"))
    if scale_k:
        k = g.node(scale_k, [k, g.const(np.float32(H ** -0.25 if scale_k == "Mul" else H ** 0.25))], name="scale_k")
    a = g.node("MatMul", [q, k], name="bmm1")
    a = g.node("Softmax", [a], name="softmax", axis=-1)
    return g.model([g.node("MatMul", [a, heads["v"]], name="bmm2")] + outputs)


@pytest.mark.parametrize("scale_q, scale_k", [("Mul", "Mul"), ("Mul", None), (None, "Mul"), ("Div", "Div")])
def test_the_scale_on_q_or_k_joins_the_first_batched_matmul(scale_q, scale_k):
    report = analyze(attention(scale_q, scale_k), target="tensorrt-rtx")
    scales = tuple(name for name, op in (("scale_q", scale_q), ("scale_k", scale_k)) if op)
    (pred,) = diagnostics(report, "TRT312", "predicted")
    assert set(pred.nodes) == set(scales) | {"bmm1"}
    assert set(report.layer_of("bmm1").nodes) == set(scales) | {"bmm1"}
    assert report.layer_of("view_q").nodes == ("bias_q", "view_q", "tr_q")  # the projection's kgen


def test_classic_tensorrt_does_not_predict_it():
    report = analyze(attention(), target="tensorrt")
    assert report.layer_of("bmm1").nodes == ("bmm1",)
    assert not diagnostics(report, "TRT312")


def test_unscaled_attention_and_a_weight_matmul_are_not_matched():
    report = analyze(attention(None, None), target="tensorrt-rtx")
    assert not diagnostics(report, "TRT312")
    g = GraphBuilder()
    y = g.node("Mul", [g.input("x", [16, 32]), g.const(np.float32(0.5))], name="scale")
    report = analyze(g.model([g.node("MatMul", [y, g.weight([32, 32])], name="fc")]), target="tensorrt-rtx")
    assert not diagnostics(report, "TRT312")


def test_a_scaled_q_read_twice_is_missed_single_consumer():
    report = analyze(attention("Mul", None, second_reader=True), target="tensorrt-rtx")
    (missed,) = diagnostics(report, "TRT312", "missed")
    assert missed.check == "single-consumer"
    assert "scale_q output has 2 consumers" in missed.reason
    assert report.layer_of("bmm1").nodes == ("bmm1",)


@pytest.mark.needs_rtx
def test_live_builder_runs_the_scale_in_the_matmul_kernel(tmp_path):
    import onnx

    from fusionlab.verification import verify

    path = tmp_path / "attention.onnx"
    onnx.save(attention("Mul", None), path)
    v = verify(path, target="tensorrt-rtx", timeout=300)
    # in the MatMul's kernel or folded into its alpha, never in the projection's kgen kernel
    assert all("bmm1" in layer.nodes for layer in v.observed if "scale_q" in layer.nodes)
    assert any(layer.nodes == ("bias_q", "view_q", "tr_q") for layer in v.observed)
    assert v.comparison.score.f1 == 1.0
