"""TRT122 shuffle-reduce: Transpose -> Reduce is one Reduce layer; missed on a reshape,
keepdims=0 (classic only) or a second reader of the Transpose."""

import numpy as np

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def _graph(shuffle="Transpose", keepdims=1, second_reader=False):
    g = GraphBuilder()
    x = g.input("x", [1, 32, 16, 16])
    if shuffle == "Transpose":
        s = g.node("Transpose", [x], name="shuffle1", perm=[0, 2, 3, 1])
    else:
        s = g.node("Reshape", [x, g.const(np.array([1, 32, 256], np.int64))], name="shuffle1")
    r = g.node("ReduceSum", [s, g.const(np.array([-1], np.int64))], name="reduce1", keepdims=keepdims)
    outs = [r] + ([g.node("Relu", [s], name="relu1")] if second_reader else [])
    return g.model(outs)


def test_transpose_then_reduce_is_one_reduce_layer():
    report = analyze(_graph())
    layer = report.layer_of("reduce1")
    assert layer.nodes == ("shuffle1", "reduce1")
    assert layer.kind == "Reduce"
    assert diagnostics(report, "TRT122", "predicted")[0].nodes == ("shuffle1", "reduce1")


def test_two_transposes_fuse_first_then_join_the_reduce():
    g = GraphBuilder()
    s = g.node("Transpose", [g.input("x", [1, 32, 16, 16])], name="t1", perm=[0, 2, 3, 1])
    s = g.node("Transpose", [s], name="t2", perm=[0, 2, 1, 3])
    r = g.node("ReduceMax", [s], name="reduce1", axes=[3], keepdims=1)
    report = analyze(g.model([r]))
    assert report.layer_of("reduce1").nodes == ("t1", "t2", "reduce1")
    assert report.layer_of("reduce1").kind == "Reduce"


def test_missed_when_the_shuffle_reshapes():
    report = analyze(_graph(shuffle="Reshape"))
    (missed,) = diagnostics(report, "TRT122", "missed")
    assert missed.check == "permute-only"
    assert missed.nodes == ("shuffle1", "reduce1")
    assert "Reshape" in missed.reason
    assert report.layer_of("reduce1").nodes == ("reduce1",)


def test_missed_with_keepdims_0_on_classic_but_fused_on_rtx():
    model = _graph(keepdims=0)
    (missed,) = diagnostics(analyze(model), "TRT122", "missed")
    assert missed.check == "keepdims"
    assert missed.nodes == ("shuffle1", "reduce1")
    assert "keepdims=0" in missed.reason
    rtx = analyze(model, target="tensorrt-rtx")
    assert rtx.layer_of("reduce1").nodes == ("shuffle1", "reduce1")


def test_missed_when_the_transpose_has_a_second_reader():
    report = analyze(_graph(second_reader=True))
    (missed,) = diagnostics(report, "TRT122", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("shuffle1", "reduce1")
    assert "relu1" in missed.reason
