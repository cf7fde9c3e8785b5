"""TRT123 shuffle-shuffle: two Shuffles are one Shuffle layer; chains fuse across rounds;
missed on a second reader, or when both reshape and transposes sit between them."""

import numpy as np

from fusionlab.analysis import analyze
from fusionlab.testing import GraphBuilder, diagnostics


def _shape(g, dims):
    return g.const(np.array(dims, np.int64))


def test_two_transposes_are_one_shuffle():
    g = GraphBuilder()
    y = g.node("Transpose", [g.input("x", [1, 32, 16, 8])], name="t1", perm=[0, 2, 3, 1])
    y = g.node("Transpose", [y], name="t2", perm=[0, 2, 1, 3])
    report = analyze(g.model([y]))
    layer = report.layer_of("t2")
    assert layer.nodes == ("t1", "t2")
    assert layer.kind == "Shuffle"
    assert layer.name == "t1 + t2"
    assert not report.absorbed


def test_two_reshapes_are_one_shuffle():
    g = GraphBuilder()
    y = g.node("Reshape", [g.input("x", [1, 32, 16, 16]), _shape(g, [1, 32, 256])], name="r1")
    y = g.node("Reshape", [y, _shape(g, [32, 256])], name="r2")
    report = analyze(g.model([y]))
    assert report.layer_of("r2").nodes == ("r1", "r2")


def test_transpose_reshape_transpose_chain_is_one_shuffle():
    g = GraphBuilder()
    y = g.node("Transpose", [g.input("x", [1, 32, 16, 16])], name="t1", perm=[0, 2, 3, 1])
    y = g.node("Reshape", [y, _shape(g, [1, 256, 32])], name="r1")
    y = g.node("Transpose", [y], name="t2", perm=[0, 2, 1])
    report = analyze(g.model([y]))
    assert report.layer_of("t2").nodes == ("t1", "r1", "t2")
    assert report.layer_of("t2").kind == "Shuffle"


def test_missed_when_the_first_shuffle_has_a_second_reader():
    g = GraphBuilder()
    a = g.node("Transpose", [g.input("x", [1, 32, 16, 8])], name="t1", perm=[0, 2, 3, 1])
    b = g.node("Transpose", [a], name="t2", perm=[0, 2, 1, 3])
    c = g.node("Relu", [a], name="relu1")
    report = analyze(g.model([b, c]))
    (missed,) = diagnostics(report, "TRT123", "missed")
    assert missed.check == "single-consumer"
    assert missed.nodes == ("t1", "t2")
    assert report.layer_of("t2").nodes == ("t2",)


def test_missed_when_both_reshape_and_a_transpose_sits_between():
    # multi-head attention: Reshape -> Transpose -> Reshape. Reshape + Transpose fuse
    # first; that Shuffle's second transpose [0, 2, 1, 3] is not undone by r2.
    g = GraphBuilder()
    y = g.node("Reshape", [g.input("x", [1, 16, 64]), _shape(g, [1, 16, 4, 16])], name="r1")
    y = g.node("Transpose", [y], name="t1", perm=[0, 2, 1, 3])
    y = g.node("Reshape", [y, _shape(g, [1, 4, 256])], name="r2")
    y = g.node("Relu", [y], name="relu1")
    report = analyze(g.model([y]))
    assert report.layer_of("t1").nodes == ("r1", "t1")
    assert report.layer_of("r2").nodes == ("r2",)
    missed = [d for d in diagnostics(report, "TRT123", "missed")
              if d.check == "reshape-transposes-inverse"]
    assert [d.nodes for d in missed] == [("r1", "t1", "r2")]
    assert "[0, 2, 1, 3]" in missed[0].reason
