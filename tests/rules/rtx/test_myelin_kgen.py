"""TRT310 myelin-kgen (TensorRT-RTX): connected non-GEMM layers compile into one kgen kernel."""

import numpy as np

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def attention_scores():
    """MatMul -> Mul(scale) -> Add(mask) -> Softmax -> MatMul, as transformers exports it."""
    g = GraphBuilder()
    q = g.input("q", [1, 2, 16, 8])
    k = g.input("k", [1, 2, 8, 16])
    v = g.input("v", [1, 2, 16, 8])
    mask = g.input("mask", [1, 1, 1, 16])
    s = g.node("MatMul", [q, k], name="qk")
    s = g.node("Mul", [s, g.const(np.float32(0.125))], name="scale")
    s = g.node("Add", [s, mask], name="add_mask")
    p = g.node("Softmax", [s], name="softmax", axis=-1)
    out = g.node("MatMul", [p, v], name="pv")
    return g.model([out])


def test_scale_mask_and_softmax_are_one_kgen_on_rtx_only():
    rtx = analyze(attention_scores(), target="tensorrt-rtx")
    assert rtx.layer_of("softmax").nodes == ("scale", "add_mask", "softmax")
    assert rtx.layer_of("softmax").kind == "kgen"
    assert rtx.layer_of("qk").nodes == ("qk",) and rtx.layer_of("pv").nodes == ("pv",)
    (pred,) = diagnostics(rtx, "TRT310", "predicted")
    assert set(pred.nodes) == {"scale", "add_mask", "softmax"}
    classic = analyze(attention_scores(), target="tensorrt")
    assert "softmax" not in classic.layer_of("scale").nodes
    assert not diagnostics(classic, "TRT310")


def test_bias_add_reshape_transpose_are_one_kgen():
    g = GraphBuilder()
    x = g.input("x", [64, 32])
    y = g.node("MatMul", [x, g.weight([32, 32])], name="proj")
    y = g.node("Add", [g.weight([32]), y], name="bias")
    y = g.node("Reshape", [y, g.const(np.array([1, 64, 2, 16], np.int64))], name="split_heads")
    y = g.node("Transpose", [y], name="perm", perm=[0, 2, 1, 3])
    report = analyze(g.model([y]), target="tensorrt-rtx")
    assert report.layer_of("perm").nodes == ("bias", "split_heads", "perm")
    assert report.layer_of("proj").nodes == ("proj",)


def test_a_second_reader_ends_the_group():
    g = GraphBuilder()
    x = g.input("x", [1, 16, 32])
    a = g.node("Add", [x, g.weight([32])], name="add1")
    n = g.node("LayerNormalization", [a, g.weight([32]), g.weight([32])], name="ln", axis=-1)
    y = g.node("MatMul", [n, g.weight([32, 32])], name="fc")
    z = g.node("Add", [n, y], name="residual")
    report = analyze(g.model([z]), target="tensorrt-rtx")
    assert report.layer_of("ln").nodes == ("add1", "ln")
    assert "ln" not in report.layer_of("residual").nodes
