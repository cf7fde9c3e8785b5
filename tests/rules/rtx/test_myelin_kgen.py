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


def test_the_nan_guard_after_softmax_joins_its_kernel():
    """``torch.onnx.export(..., dynamo=True)`` of SDPA: Add(mask) -> Softmax -> IsNaN ->
    Where(isnan, 0, p): one kgen kernel on TensorRT-RTX 1.7 (ViT export)."""
    g = GraphBuilder()
    s = g.node("MatMul", [g.input("q", [1, 2, 16, 8]), g.input("k", [1, 2, 8, 16])], name="qk")
    s = g.node("Add", [s, g.input("mask", [1, 1, 16, 16])], name="add_mask")
    p = g.node("Softmax", [s], name="softmax", axis=-1)
    nan = g.node("IsNaN", [p], name="isnan")
    p = g.node("Where", [nan, g.const(np.float32(0.0)), p], name="where")
    out = g.node("MatMul", [p, g.input("v", [1, 2, 16, 8])], name="pv")
    report = analyze(g.model([out]), target="tensorrt-rtx")
    assert report.layer_of("softmax").nodes == ("add_mask", "softmax", "isnan", "where")


def test_a_class_token_concat_read_twice_joins_the_first_layernorm():
    """ViT's embeddings: Reshape, Transpose, Concat(class token), Add(position) are read
    by the first LayerNormalization and by the first residual Add; the builder computes
    them in the LayerNormalization's kernel (TensorRT-RTX 1.7, ViT dynamo export)."""
    g = GraphBuilder()
    x = g.node("Reshape", [g.input("x", [1, 32, 4, 4]), g.const(np.array([1, 32, 16], np.int64))], name="flat")
    x = g.node("Transpose", [x], name="perm", perm=[0, 2, 1])
    x = g.node("Concat", [g.weight([1, 1, 32]), x], name="cat", axis=1)
    e = g.node("Add", [x, g.weight([1, 17, 32])], name="pos")
    n = g.node("LayerNormalization", [e, g.weight([32]), g.weight([32])], name="ln", axis=-1)
    y = g.node("MatMul", [n, g.weight([32, 32])], name="fc")
    z = g.node("Add", [e, y], name="residual")
    report = analyze(g.model([z]), target="tensorrt-rtx")
    assert report.layer_of("ln").nodes == ("flat", "perm", "cat", "pos", "ln")


def test_a_cheap_group_does_not_join_a_reader_group_it_reaches_through_a_gemm():
    """c = Add(x, k) is read by relu (whose group ends at the output Add) and by sigmoid,
    which feeds a MatMul that the output Add reads: joining c to the output's group would
    make a layer that is its own producer (the merge the engine refuses as a rule's bug,
    seen on transformers' Llama / DETR exports), so c stays its own layer."""
    g = GraphBuilder()
    c = g.node("Add", [g.input("x", [16, 32]), g.weight([32])], name="c")
    r = g.node("Relu", [c], name="relu")
    s = g.node("Sigmoid", [c], name="sigmoid")
    m = g.node("MatMul", [s, g.weight([32, 32])], name="fc")
    out = g.node("Add", [r, m], name="out")
    report = analyze(g.model([out]), target="tensorrt-rtx")
    assert report.layer_of("out").nodes == ("relu", "out")
    assert "c" not in report.layer_of("out").nodes
